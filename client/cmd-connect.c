/* SPDX-License-Identifier: MIT */
/*
 * knockgate connect [-p NAME|DIR]: the user's whole flow. Root and the
 * profile (profile_find.c: where, and safe permissions) are checked
 * before anything else; then the card and PIN (card_auth.c: a wrong PIN
 * costs no knock and opens nothing);
 * then the knock and the WireGuard tunnel (steps i-ii, below), then the
 * card proof over the control connection and the session itself
 * (session_run.c), served until the card leaves, `close` or a signal ends
 * it, or green does. Every failure after the knock takes the tunnel down
 * and removes the state files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "card_auth.h"
#include "forward.h"
#include "grant_record.h"
#include "time.h"
#include "commands.h"
#include "knock_send.h"
#include "profile.h"
#include "profile_find.h"
#include "session_info.h"
#include "session_run.h"
#include "service.h"
#include "session_state.h"
#include "tunnel.h"

#define NUDGE_MS 1000
#define REKNOCK_MS 3000

struct connect_args {
	const char *profile, *ifname, *reader, *pin_file;
	const char *services[KG_FWD_MAX * 2];    /* step iv, optional */
	int n_services;
	struct kg_fwd_spec fwd[KG_FWD_MAX];      /* stable local ports */
	size_t n_fwd;
	unsigned timeout_s;
	bool tunnel_only;
	struct kg_run_opts run;
	const char *test_record, *test_replay;   /* KG_TEST_HOOKS builds */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate connect [-p NAME|DIR] [--reader SUBSTR] [--pin-file FILE]\n"
		"                         [--background] [-v] [--ifname NAME] [--timeout S]\n"
		"                         [--forward SERVICE=[ADDR:]PORT]...\n"
		"                         [SERVICE[=[ADDR:]PORT]...]\n\n"
		"Verifies the PIN on the smart card, knocks on green, brings up a WireGuard\n"
		"tunnel, proves the card to green and prints the session and its services.\n"
		"Then serves the session until the card is removed, 'knockgate close' or\n"
		"Ctrl-C ends it, or green does; the tunnel goes down with it. Needs root.\n"
		"With SERVICE, asks green for each once the card is proved and prints\n"
		"where it is (red's address and port) and until when; without one, no\n"
		"service is reachable. With SERVICE=[ADDR:]PORT (or a default port in\n"
		"the profile's [forward] section) it also listens on ADDR:PORT\n"
		"(ADDR default 127.0.0.1) and forwards each new connection to where\n"
		"the service is now, following moves, port hops and a failover to\n"
		"another green; connections already open stay where they are.\n"
		"With several greens in the profile ([green NAME] sections) they are\n"
		"tried in order, the next when one has not answered within 300 ms; a\n"
		"live session whose green stops answering (about a second) moves to\n"
		"the next green: new tunnel, card proof and services again.\n\n"
		"  -p, --profile NAME|DIR  a named profile (~/.config/knockgate/profiles/NAME,\n"
		"                       the invoking user's under sudo, or\n"
		"                       /etc/knockgate/profiles/NAME) or a directory (with a\n"
		"                       '/'); default: the only profile, or 'default'\n"
		"  -r, --reader SUBSTR  the card reader whose name contains SUBSTR\n"
		"  -P, --pin-file FILE  read the PIN from FILE (else $KNOCKGATE_PIN, else\n"
		"                       a prompt on the terminal)\n"
		"  -b, --background     detach once the session is up\n"
		"  -v, --verbose        print each step\n"
		"  -i, --ifname NAME    interface name (default kg-USER)\n"
		"  -t, --timeout S      give up after S seconds without a handshake (20)\n"
		"  -L, --forward SERVICE=[ADDR:]PORT\n"
		"                       ask for SERVICE and forward ADDR:PORT to it\n"
		"  -T, --tunnel-only    no card: stop after the handshake and leave the\n"
		"                       tunnel up for 'close' (tests, diagnostics)\n"
		"  -h, --help           this text\n");
}

/* A knock outside green's window is refused; say so before it happens.
 * adjtimex reports the kernel's view (set by NTP daemons), no D-Bus. */
static void warn_if_clock_unsynchronised(void)
{
	struct timex tx = { .modes = 0 };
	int st = adjtimex(&tx);

	if (st == TIME_ERROR || (tx.status & STA_UNSYNC))
		fprintf(stderr, "knockgate connect: warning: the system clock is not "
				"synchronised (NTP); green refuses knocks more than 30 s off\n");
}

/* Root, or CAP_NET_ADMIN in the effective set (bit 12 of CapEff). */
static bool may_admin_network(void)
{
	char line[128];
	unsigned long long eff = 0;
	bool ok = false;
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			ok = (eff >> 12) & 1;
			break;
		}
	}
	fclose(f);
	return ok;
}

struct reknock_ctx {
	const struct kg_profile *p;
	const struct kg_tunnel *t;
	int count;
};

static int reknock(void *arg)
{
	struct reknock_ctx *c = arg;

	c->count++;
	fprintf(stderr, "knockgate connect: no handshake yet, knocking again\n");
	return kg_knock_send(c->p, c->t->pub);
}

/* Options of the test build only (tests/tools/kg-test-client, built with
 * KG_TEST_HOOKS): keep the session when the card is pulled, so green's
 * periodic proof is what ends it; record the card proof's signature, or
 * send a recorded one instead of asking the card. */
#define OPT_TEST_IGNORE_REMOVAL 1000
#define OPT_TEST_RECORD 1001
#define OPT_TEST_REPLAY 1002

/* "web" or "web=8080" (forward true: --forward, '=' required). */
static int add_service(struct connect_args *a, const char *arg, bool forward)
{
	struct kg_fwd_spec sp;
	struct kg_err e = { { 0 } };
	int r = kg_fwd_spec_parse(arg, &sp, &e);
	const char *name = arg;

	if (r < 0 || (r == 1 && forward)) {
		fprintf(stderr, "knockgate connect: %s\n", r < 0 ? e.msg :
			"--forward: expected SERVICE=[ADDR:]PORT");
		return 2;
	}
	if (r == 0) {
		for (size_t i = 0; i < a->n_fwd; i++)
			if (!strcmp(a->fwd[i].service, sp.service)) {
				fprintf(stderr, "knockgate connect: %s: one local "
					"port per service\n", sp.service);
				return 2;
			}
		if (a->n_fwd == KG_FWD_MAX) {
			fprintf(stderr, "knockgate connect: at most %d forwards\n",
				KG_FWD_MAX);
			return 2;
		}
		a->fwd[a->n_fwd] = sp;
		name = a->fwd[a->n_fwd++].service;
	}
	for (int i = 0; i < a->n_services; i++)
		if (!strcmp(a->services[i], name))
			return 0;
	if (a->n_services == (int)(sizeof(a->services) / sizeof(a->services[0]))) {
		fprintf(stderr, "knockgate connect: too many services\n");
		return 2;
	}
	a->services[a->n_services++] = name;
	return 0;
}

static int parse_args(int argc, char **argv, struct connect_args *a)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "reader", required_argument, NULL, 'r' },
		{ "pin-file", required_argument, NULL, 'P' },
		{ "background", no_argument, NULL, 'b' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "tunnel-only", no_argument, NULL, 'T' },
		{ "forward", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
#ifdef KG_TEST_HOOKS
		{ "test-ignore-card-removal", no_argument, NULL, OPT_TEST_IGNORE_REMOVAL },
		{ "test-record-proof", required_argument, NULL, OPT_TEST_RECORD },
		{ "test-replay-proof", required_argument, NULL, OPT_TEST_REPLAY },
#endif
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:r:P:bvi:t:TL:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': a->profile = optarg; break;
		case 'r': a->reader = optarg; break;
		case 'P': a->pin_file = optarg; break;
		case 'b': a->run.background = true; break;
		case 'v': a->run.verbose = true; break;
		case 'i': a->ifname = optarg; break;
		case 't': a->timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': a->tunnel_only = true; break;
		case 'L':
			if (add_service(a, optarg, true))
				return 2;
			break;
		case OPT_TEST_IGNORE_REMOVAL: a->run.ignore_removal = true; break;
		case OPT_TEST_RECORD: a->test_record = optarg; break;
		case OPT_TEST_REPLAY: a->test_replay = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		if (add_service(a, argv[i], false))
			return 2;
	optind = argc;
	if (a->timeout_s == 0 || a->timeout_s > 3600) {
		usage(stderr);
		return 2;
	}
	return -1;
}

/* The profile's [forward] default for each service asked by name only. */
static int profile_forwards(struct connect_args *a, const struct kg_profile *p)
{
	for (int i = 0; i < a->n_services; i++) {
		bool have = false;

		for (size_t j = 0; j < a->n_fwd; j++)
			have |= !strcmp(a->fwd[j].service, a->services[i]);
		for (size_t j = 0; !have && j < p->n_fwd; j++) {
			struct kg_err e = { { 0 } };

			if (strcmp(p->fwd_service[j], a->services[i]))
				continue;
			if (a->n_fwd == KG_FWD_MAX ||
			    kg_fwd_spec_value(p->fwd_service[j], p->fwd_value[j],
					      &a->fwd[a->n_fwd], &e)) {
				fprintf(stderr, "knockgate connect: profile [forward] "
					"%s: %s\n", p->fwd_service[j],
					e.msg[0] ? e.msg : "too many");
				return 1;
			}
			a->n_fwd++;
			have = true;
		}
	}
	return 0;
}

#define FIRST_ANSWER_MS 300   /* a green that is up answers within ms */
#define ATTEMPT_MAX_MS 3000    /* longest wait per green in later rounds */

static void no_handshake_help(const struct kg_profile *p, unsigned timeout_s)
{
	char addr[KG_ADDR_STRLEN];

	fprintf(stderr, "knockgate connect: no handshake with green: knocks "
		"were sent to %s port %u (UDP) but no WireGuard handshake came "
		"from port %u within %u s. Check green's address and ports in the "
		"profile (%s), that UDP to them is not blocked on the way, and "
		"this machine's clock (green refuses knocks more than 30 s off)\n",
		kg_addr_str(&p->green_address, addr), p->knock_port,
		p->green_wg_port, timeout_s, p->dir);
}

/* The green in use: fresh keys, knock, interface, handshake within
 * wait_ms (knocking again every REKNOCK_MS). 0 with the tunnel up,
 * -ETIMEDOUT with nothing left up, 1 after a printed error. */
static int try_green(struct kg_tunnel *t, const struct kg_profile *p,
		     unsigned wait_ms, struct reknock_ctx *rc_ctx)
{
	char addr[KG_ADDR_STRLEN];
	int rc = kg_tunnel_keys(t);

	if (!rc)
		rc = kg_knock_send(p, t->pub);
	if (rc) {
		fprintf(stderr, "knockgate connect: knock: sending to green %s port %u "
			"(UDP) failed: %s; check this machine's network and route to "
			"green\n", kg_addr_str(&p->green_address, addr), p->knock_port,
			strerror(-rc));
		return p->n_greens > 1 ? -ETIMEDOUT : 1;
	}
	rc = kg_tunnel_up(t, p);
	if (rc) {
		fprintf(stderr, "knockgate connect: interface %s: %s\n", t->ifname,
			strerror(-rc));
		return 1;
	}
	rc = kg_tunnel_wait_handshake(t, p, wait_ms, NUDGE_MS, REKNOCK_MS,
				      reknock, rc_ctx);
	if (!rc)
		rc = kg_state_write(t, p);
	if (rc && rc != -ETIMEDOUT)
		fprintf(stderr, "knockgate connect: tunnel: %s\n", strerror(-rc));
	if (rc)
		kg_tunnel_down(t->ifname);
	return rc == -ETIMEDOUT ? rc : rc ? 1 : 0;
}

/* Steps i-ii with the profile's greens from greens[first] on, in order
 * and round again: the next is knocked on when one has not answered
 * within FIRST_ANSWER_MS (doubling each round, up to ATTEMPT_MAX_MS),
 * until timeout_s. With one green it is waited for timeout_s. Leaves the
 * green that answered in use (kg_profile_use). Exit status. */
static int connect_tunnel(struct kg_tunnel *t, struct kg_profile *p,
			  unsigned timeout_s, size_t first)
{
	struct reknock_ctx rc_ctx = { .p = p, .t = t };
	int64_t a = kg_mono_ms(), deadline = a + (int64_t)timeout_s * 1000, b;
	unsigned wait = p->n_greens > 1 ? FIRST_ANSWER_MS : timeout_s * 1000;
	size_t k = 0;
	int rc;

	for (;;) {
		int64_t left = deadline - kg_mono_ms();

		kg_profile_use(p, (first + k) % p->n_greens);
		rc = try_green(t, p, left < (int64_t)wait ? (unsigned)(left > 0 ? left : 1) : wait,
			       &rc_ctx);
		if (rc != -ETIMEDOUT || kg_session_stopping())
			break;
		if (kg_mono_ms() >= deadline) {
			no_handshake_help(p, timeout_s);
			return 1;
		}
		fprintf(stderr, "knockgate connect: green %s: no answer within %u ms, "
			"knocking on the next\n", p->green_id, wait);
		if (++k % p->n_greens == 0)
			wait = wait * 2 < ATTEMPT_MAX_MS ? wait * 2 : ATTEMPT_MAX_MS;
	}
	if (rc)
		return rc == -ETIMEDOUT ? 1 : rc;
	b = kg_mono_ms();
	printf("connected: interface %s, green %s, handshake after %ld ms, %d extra knock(s)\n",
	       t->ifname, p->green_id, (long)(b - a), rc_ctx.count);
	return 0;
}

static int set_ifname(struct kg_tunnel *t, const struct connect_args *a,
		      const struct kg_profile *p)
{
	memset(t, 0, sizeof(*t));
	if (a->ifname && strlen(a->ifname) >= sizeof(t->ifname)) {
		fprintf(stderr, "knockgate connect: --ifname: at most %zu characters\n",
			sizeof(t->ifname) - 1);
		return 2;
	}
	if (a->ifname) {
		memcpy(t->ifname, a->ifname, strlen(a->ifname));
	} else {
		/* Interface names are short: kg- and as much of the user as fits. */
		memcpy(t->ifname, "kg-", 3);
		memcpy(t->ifname + 3, p->user, strnlen(p->user, sizeof(t->ifname) - 4));
	}
	return 0;
}

static int open_card(struct kg_card_auth *card, const struct connect_args *a)
{
	struct kg_err e = { { 0 } };
	int rc;

	if (a->run.verbose)
		fprintf(stderr, "knockgate connect: card: opening the reader, reading "
			"the certificate, verifying the PIN\n");
	rc = kg_card_auth_open(card, a->reader, a->pin_file, &e);
	if (rc) {
		fprintf(stderr, "knockgate connect: card: %s\n",
			e.msg[0] ? e.msg : strerror(-rc));
		return 1;
	}
	if (a->run.verbose)
		fprintf(stderr, "knockgate connect: card: PIN verified, reader %s\n",
			piv_card_reader(&card->card));
	return 0;
}

/* Detaches into the background once the session is up: the parent exits
 * when the child has published the session (status works at once). The
 * returned fd is written to ('1') and closed by publish(). */
static int detach(int *ready_fd)
{
	int p[2], nul;
	pid_t pid;
	char c = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 && c == '1' ? 0 : 1);
	}
	close(p[0]);
	setsid();
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, STDIN_FILENO);
		close(nul);
	}
	*ready_fd = p[1];
	return 0;
}

static int publish(const struct kg_tunnel *t, const struct kg_profile *p,
		   const struct kg_session *s, int ready_fd)
{
	int rc = kg_info_write(t->ifname, p, &s->info, getpid(), time(NULL));

	if (rc)
		fprintf(stderr, "knockgate connect: writing the session file: %s\n",
			strerror(-rc));
	if (ready_fd >= 0) {
		if (write(ready_fd, rc ? "0" : "1", 1) < 0)
			rc = rc ? rc : -EIO;
		close(ready_fd);
	}
	return rc;
}

#define GREEN_LOST 3   /* run_session: move to the next green */

/* Card proof, then the session until it ends. Exit status, or GREEN_LOST
 * when green stopped answering and the profile has another. *detached
 * says whether --background already detached (once per run). fwd (may
 * be NULL) is started once, after that detach, and kept across a
 * failover: its local ports stay, and the service step's GRANT moves
 * its record (kg_grant_record_set) to the new green's grants. */
static int run_session(const struct kg_tunnel *t, const struct kg_profile *p,
		       struct kg_card_auth *card, const struct connect_args *a,
		       bool *detached, struct kg_forwarder *fwd)
{
	struct kg_session s;
	struct kg_err e = { { 0 } };
	int ready_fd = -1, rc;

	if (kg_session_stopping())
		return 1;
	rc = kg_session_open(&s, p, t, card, &a->run, &e);
	if (rc) {
		fprintf(stderr, "knockgate connect: %s\n", e.msg[0] ? e.msg : strerror(-rc));
		return 1;
	}
	kg_session_print(&s, p, t);
	struct kg_service_follow follow = { p, t };

	kg_service_follow(&s.c, &follow);
	for (int i = 0; i < a->n_services; i++) {
		if (kg_service_step(&s.c, p, t, a->services[i], a->run.verbose)) {
			kg_session_end(&s);
			return 1;
		}
	}
	rc = a->run.background && !*detached ? detach(&ready_fd) : 0;
	if (!rc && a->run.background)
		*detached = true;
	if (!rc)
		rc = publish(t, p, &s, ready_fd);
	/* the thread after the fork (threads do not survive one) */
	if (!rc && fwd && (rc = kg_fwd_start(fwd)))
		fprintf(stderr, "knockgate connect: forward: %s\n", strerror(-rc));
	if (!rc) {
		rc = kg_session_serve(&s, card, &a->run, &e);
		printf("session %016llx ended: %s\n", (unsigned long long)s.info.id,
		       e.msg[0] ? e.msg : strerror(-rc));
		fflush(stdout);
	}
	if (rc == -EHOSTDOWN) {
		/* nobody to say CLOSE to */
		close(s.fd);
		s.fd = -1;
		return GREEN_LOST;
	}
	kg_session_end(&s);
	return rc ? 1 : 0;
}

/* Whatever happened, nothing of the session stays behind. */
static void teardown(const struct kg_tunnel *t, bool verbose)
{
	if (verbose)
		fprintf(stderr, "knockgate connect: taking down %s\n", t->ifname);
	kg_tunnel_down(t->ifname);
	kg_info_remove(t->ifname);
	kg_state_remove(t->ifname);
}

int connect_main(int argc, char **argv)
{
	struct connect_args a = { .timeout_s = 20, .run.io_timeout_ms = 10000 };
	char dir[PATH_MAX];
	struct kg_card_auth card;
	struct kg_profile p;
	struct kg_tunnel t;
	struct kg_err e = { { 0 } };
	bool detached = false;
	struct kg_forwarder *fwd = NULL;
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	/* Before the card: a PIN try and a knock must not be spent on a run
	 * that cannot make the tunnel. */
	if (!may_admin_network()) {
		fprintf(stderr, "knockgate connect: needs root (or CAP_NET_ADMIN) to "
			"make the tunnel: run it with sudo\n");
		return 1;
	}
	rc = kg_profile_find(a.profile, dir, sizeof(dir), &e);
	if (!rc)
		rc = kg_profile_check_perms(dir, kg_invoking_uid(), &e);
	if (!rc)
		rc = kg_profile_load(&p, dir, &e);
	if (rc) {
		fprintf(stderr, "knockgate connect: %s\n", e.msg[0] ? e.msg : strerror(-rc));
		return 1;
	}
	rc = set_ifname(&t, &a, &p);
	if (!rc && a.tunnel_only) {
		warn_if_clock_unsynchronised();
		rc = connect_tunnel(&t, &p, a.timeout_s, 0);
	}
	if (rc || a.tunnel_only) {
		kg_tunnel_forget(&t);
		kg_profile_wipe(&p);
		return rc;
	}
	/* The local ports first: one in use fails before the card, the
	 * knock and green are asked anything. */
	if (!rc && (rc = profile_forwards(&a, &p)) == 0 && a.n_fwd &&
	    kg_fwd_listen(&fwd, a.fwd, a.n_fwd, &e)) {
		fprintf(stderr, "knockgate connect: %s\n", e.msg);
		rc = 1;
	}
	if (rc) {
		kg_profile_wipe(&p);
		return rc;
	}
	kg_session_signals();
	if ((rc = open_card(&card, &a))) {
		kg_fwd_stop(fwd);
		kg_profile_wipe(&p);
		return rc;
	}
	card.record_path = a.test_record;
	card.replay_path = a.test_replay;
	warn_if_clock_unsynchronised();
	rc = connect_tunnel(&t, &p, a.timeout_s, 0);
	while (!rc) {
		int64_t lost;

		rc = run_session(&t, &p, &card, &a, &detached, fwd);
		teardown(&t, a.run.verbose);
		if (rc != GREEN_LOST || kg_session_stopping())
			break;
		/* the same card and services through the next green: a new
		 * tunnel (its own address there), a new proof, new grants */
		lost = kg_mono_ms();
		printf("failover: leaving green %s, knocking on the next\n", p.green_id);
		fflush(stdout);
		rc = connect_tunnel(&t, &p, a.timeout_s, (p.cur + 1) % p.n_greens);
		if (!rc)
			printf("failover: tunnel to green %s %ld ms after the loss\n",
			       p.green_id, (long)(kg_mono_ms() - lost));
	}
	if (rc == GREEN_LOST)
		rc = 1;
	kg_fwd_stop(fwd);
	kg_card_auth_close(&card);
	kg_tunnel_forget(&t);
	kg_profile_wipe(&p);
	return rc;
}
