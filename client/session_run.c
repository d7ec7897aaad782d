/* SPDX-License-Identifier: MIT */
#include "session_run.h"
#include "time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "wg.h"

#define CONNECT_TIMEOUT_MS 5000
#define WAIT_SLICE_MS 250     /* how often removal and signals are seen */
#define CLOSE_WAIT_MS 1000    /* for green to acknowledge our CLOSE */

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

void kg_session_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;   /* no SA_RESTART: blocking calls return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool kg_session_stopping(void)
{
	return stop_signal != 0;
}

/* If green drops our peer without its CLOSE getting through, nothing
 * would ever arrive again: TCP keepalive notices the dead connection
 * within about a minute (30 s idle + 3 probes 10 s apart). */
static void dead_peer_detection(int fd)
{
	int on = 1, idle = 30, intvl = 10, cnt = 3;
	unsigned user_timeout_ms = 60000;

	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
		   sizeof(user_timeout_ms));
}

/* TCP from our tunnel address to green's control port, bounded in time. */
static int ctrl_connect(const struct kg_profile *p, int *out)
{
	struct sockaddr_storage src, dst;
	socklen_t slen, dlen, elen = sizeof(int);
	struct pollfd pfd;
	int err = 0, rc, fd;

	slen = kg_addr_to_sockaddr(&p->tunnel_address, 0, &src);
	dlen = kg_addr_to_sockaddr(&p->green_tunnel, p->control_port, &dst);
	fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&src, slen) < 0 ||
	    (connect(fd, (struct sockaddr *)&dst, dlen) < 0 && errno != EINPROGRESS)) {
		rc = -errno;
		goto fail;
	}
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	rc = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
	if (rc <= 0) {
		rc = rc == 0 ? -ETIMEDOUT : -errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		rc = err ? -err : -errno;
		goto fail;
	}
	/* ctrl_client blocks with poll-bounded reads. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	dead_peer_detection(fd);
	*out = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

static int set_keepalive(const struct kg_tunnel *t, const struct kg_profile *p)
{
	struct kg_prefix green = { .a = p->green_tunnel,
				   .len = (uint8_t)(kg_addr_len(&p->green_tunnel) * 8) };

	return kg_wg_peer_put(t->ifname, p->green_wg_pub, &green, 1, NULL,
			      KG_KEEPALIVE_S);
}

int kg_session_open(struct kg_session *s, const struct kg_profile *p,
		    const struct kg_tunnel *t, struct kg_card_auth *card,
		    const struct kg_run_opts *o, struct kg_err *e)
{
	char a[KG_ADDR_STRLEN];
	long t0;
	int rc;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	kg_roam_init(&s->roam, p, t, o->verbose);
	s->watch_green = p->n_greens > 1;
	if ((rc = set_keepalive(t, p))) {
		kg_err_set(e, "setting the tunnel's keepalive: %s", strerror(-rc));
		return rc;
	}
	if (o->verbose)
		fprintf(stderr, "knockgate connect: control connection to %s port %u\n",
			kg_addr_str(&p->green_tunnel, a), p->control_port);
	if ((rc = ctrl_connect(p, &s->fd))) {
		kg_err_set(e, "cannot reach green's control port %s:%u through the "
			   "tunnel: %s (the knock and the WireGuard handshake worked: "
			   "check green_tunnel_address and control_port in the profile "
			   "and that green is running)", kg_addr_str(&p->green_tunnel, a),
			   p->control_port, strerror(-rc));
		return rc;
	}
	kg_ctrl_client_init(&s->c, s->fd, o->io_timeout_ms, t->pub, p->green_wg_pub,
			    &p->tunnel_address, kg_card_sign, card);
	if (o->verbose)
		fprintf(stderr, "knockgate connect: card proof\n");
	t0 = (long)kg_mono_ms();
	rc = kg_ctrl_client_auth(&s->c, card->cert, card->cert_len, &s->info, e);
	s->proof_ms = (long)kg_mono_ms() - t0;
	if (rc == -EACCES) {
		char why[sizeof(e->msg)];

		snprintf(why, sizeof(why), "%s", e->msg);
		kg_err_set(e, "card proof: %s (green refused this card: is its "
			   "certificate the one enrolled for %s, not revoked or "
			   "expired? ask the admin)", why, p->user);
	}
	if (rc) {
		close(s->fd);
		s->fd = -1;
	}
	return rc;
}

void kg_session_print(const struct kg_session *s, const struct kg_profile *p,
		      const struct kg_tunnel *t)
{
	char a[KG_ADDR_STRLEN];

	printf("session %016" PRIx64 ": user %s on %s, tunnel %s on %s, "
	       "card proof %ld ms\n", s->info.id, p->user, p->green_id,
	       kg_addr_str(&p->tunnel_address, a), t->ifname, s->proof_ms);
	printf("services:");
	for (size_t i = 0; i < s->info.n_services; i++)
		printf("%s %s", i ? "," : "", s->info.services[i]);
	printf("%s\n", s->info.n_services ? "" : " (none)");
	fflush(stdout);
}

/* Green's peer counters on the tunnel. 0 or -errno. */
static int green_counters(const struct kg_session *s, uint64_t *rx, uint64_t *tx)
{
	struct kg_wg_device d;
	int rc = kg_wg_get(s->roam.t->ifname, &d);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < d.n_peers; i++)
		if (memcmp(d.peers[i].public_key, s->roam.p->green_wg_pub,
			   KG_KEY_LEN) == 0) {
			*rx = d.peers[i].rx_bytes;
			*tx = d.peers[i].tx_bytes;
			rc = 0;
			break;
		}
	kg_wg_device_free(&d);
	return rc;
}

/* -EHOSTDOWN (e set) once green has left the user's traffic unanswered
 * for about a second; 0 otherwise, also when the counters cannot be
 * read (the next slice tries again). */
static int green_answers(struct kg_session *s, struct kg_err *e)
{
	uint64_t rx = 0, tx = 0, silent;

	if (!s->watch_green || green_counters(s, &rx, &tx))
		return 0;
	silent = kg_green_watch_feed(&s->watch, (uint64_t)kg_mono_ms(), rx, tx);
	if (!silent)
		return 0;
	kg_err_set(e, "green %s stopped answering: nothing back for %llu ms "
		   "while sending", s->roam.p->green_id, (unsigned long long)silent);
	return -EHOSTDOWN;
}

/* One slice of waiting: green's messages, then the card. 1 = go on. */
static int serve_slice(struct kg_session *s, struct kg_card_auth *card,
		       const struct kg_run_opts *o, struct kg_err *e)
{
	int rc = kg_ctrl_client_wait(&s->c, WAIT_SLICE_MS, e);

	/* A non-cooperating test client lets green's reproof time out. */
	if (rc == -ENOMEDIUM && o->ignore_removal)
		rc = 0;
	if (rc)
		return rc;
	kg_roam_tick(&s->roam);
	if ((rc = green_answers(s, e)))
		return rc;
	if (card->dead)
		return usleep(WAIT_SLICE_MS * 1000), 1;
	rc = kg_card_removed(card, WAIT_SLICE_MS);
	if (rc == 1 && o->ignore_removal) {
		fprintf(stderr, "knockgate connect: card removed, ignored (test option)\n");
		card->dead = true;
		return 1;
	}
	if (rc == 1) {
		kg_err_set(e, "the card was removed");
		return 0;
	}
	return 1;   /* a reader error is left to the next reproof */
}

int kg_session_serve(struct kg_session *s, struct kg_card_auth *card,
		     const struct kg_run_opts *o, struct kg_err *e)
{
	int rc;

	while (!stop_signal) {
		rc = serve_slice(s, card, o, e);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			if (rc == -ECONNRESET && s->c.code != KG_CODE_NONE)
				kg_err_set(e, "green ended the session: %s",
					   kg_ctrl_code_name(s->c.code));
			else if (s->watch_green && rc != -EHOSTDOWN &&
				 s->c.code == KG_CODE_NONE &&
				 (rc == -ECONNRESET || rc == -EPIPE ||
				  rc == -ETIMEDOUT || rc == -EHOSTUNREACH)) {
				/* no CLOSE: green's daemon is gone (its
				 * kernel ended the connection) */
				kg_err_set(e, "green %s dropped the control "
					   "connection without a close: %s",
					   s->roam.p->green_id, strerror(-rc));
				rc = -EHOSTDOWN;
			}
			return rc;
		}
	}
	kg_err_set(e, "closed on request (signal %d)", (int)stop_signal);
	return 0;
}

/* Waits (bounded) until green has closed its side: the tunnel goes down
 * right after us, and a CLOSE still queued in it would be lost, leaving
 * green to find out only when the peer falls silent. */
static void drain_until_eof(int fd, int timeout_ms)
{
	long deadline = (long)kg_mono_ms() + timeout_ms;
	uint8_t buf[512];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long left = deadline - (long)kg_mono_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return;
	}
}

void kg_session_end(struct kg_session *s)
{
	if (s->fd < 0)
		return;
	if (s->c.code == KG_CODE_NONE && kg_ctrl_client_close(&s->c) == 0) {
		shutdown(s->fd, SHUT_WR);
		drain_until_eof(s->fd, CLOSE_WAIT_MS);
	}
	close(s->fd);
	s->fd = -1;
}
