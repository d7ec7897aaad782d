/* SPDX-License-Identifier: MIT */
/*
 * knockgate connect --profile DIR: steps i-ii of the flow. Knocks, brings
 * up the WireGuard interface with green as peer, waits for the handshake
 * (knocking again if it stalls), and leaves the tunnel up for `close`.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

#include "commands.h"
#include "knock_send.h"
#include "profile.h"
#include "session_state.h"
#include "tunnel.h"

#define NUDGE_MS 1000
#define REKNOCK_MS 3000

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate connect --profile DIR [--ifname NAME] [--timeout SECONDS]\n\n"
		"Knocks on green, brings up a WireGuard interface with a fresh key pair,\n"
		"the profile's tunnel address and green as peer, and waits for the\n"
		"handshake. Needs root (CAP_NET_ADMIN). 'knockgate close' takes it down.\n\n"
		"  -p, --profile DIR    profile directory (profile.conf, ca.pem)\n"
		"  -i, --ifname NAME    interface name (default kg-USER)\n"
		"  -t, --timeout S      give up after S seconds without a handshake (20)\n"
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

static int parse_args(int argc, char **argv, const char **profile,
		      const char **ifname, unsigned *timeout_s)
{
	static const struct option opts[] = {
		{ "profile", required_argument, NULL, 'p' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:i:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': *profile = optarg; break;
		case 'i': *ifname = optarg; break;
		case 't': *timeout_s = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!*profile || optind != argc || *timeout_s == 0 || *timeout_s > 3600) {
		usage(stderr);
		return 2;
	}
	return -1;
}

static int connect_tunnel(struct kg_tunnel *t, const struct kg_profile *p,
			  unsigned timeout_s)
{
	struct reknock_ctx rc_ctx = { .p = p, .t = t };
	struct timespec a, b;
	int rc;

	rc = kg_tunnel_keys(t);
	if (!rc)
		rc = kg_knock_send(p, t->pub);
	if (rc) {
		fprintf(stderr, "knockgate connect: knock: %s\n", strerror(-rc));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = kg_tunnel_up(t, p);
	if (rc) {
		fprintf(stderr, "knockgate connect: interface %s: %s\n", t->ifname,
			strerror(-rc));
		return 1;
	}
	rc = kg_tunnel_wait_handshake(t, p, timeout_s * 1000, NUDGE_MS, REKNOCK_MS,
				      reknock, &rc_ctx);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!rc)
		rc = kg_state_write(t, p);
	if (rc) {
		fprintf(stderr, "knockgate connect: %s: %s\n",
			rc == -ETIMEDOUT ? "no handshake with green" : "tunnel",
			strerror(-rc));
		kg_tunnel_down(t->ifname);
		return 1;
	}
	printf("connected: interface %s, green %s, handshake after %ld ms, %d extra knock(s)\n",
	       t->ifname, p->green_id,
	       (long)((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000),
	       rc_ctx.count);
	return 0;
}

int connect_main(int argc, char **argv)
{
	const char *profile = NULL, *ifname = NULL;
	unsigned timeout_s = 20;
	struct kg_profile p;
	struct kg_tunnel t;
	struct kg_err e = { { 0 } };
	int rc = parse_args(argc, argv, &profile, &ifname, &timeout_s);

	if (rc >= 0)
		return rc;
	rc = kg_profile_load(&p, profile, &e);
	if (rc) {
		fprintf(stderr, "knockgate connect: %s\n", e.msg[0] ? e.msg : strerror(-rc));
		return 1;
	}
	memset(&t, 0, sizeof(t));
	if (ifname && strlen(ifname) >= sizeof(t.ifname)) {
		fprintf(stderr, "knockgate connect: --ifname: at most %zu characters\n",
			sizeof(t.ifname) - 1);
		kg_profile_wipe(&p);
		return 2;
	}
	if (ifname) {
		memcpy(t.ifname, ifname, strlen(ifname));
	} else {
		/* Interface names are short: kg- and as much of the user as fits. */
		memcpy(t.ifname, "kg-", 3);
		memcpy(t.ifname + 3, p.user, strnlen(p.user, sizeof(t.ifname) - 4));
	}
	warn_if_clock_unsynchronised();
	rc = connect_tunnel(&t, &p, timeout_s);
	kg_tunnel_forget(&t);
	kg_profile_wipe(&p);
	return rc;
}
