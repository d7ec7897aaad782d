/* SPDX-License-Identifier: MIT */
/*
 * Red's unprivileged half under -P (docs/privsep.md): the forked child
 * that reads the NFLOG groups, parses the packets (lib/nflog, lib/pkt),
 * keeps the IPS's scan bookkeeping and asks the monitor for everything
 * else: a knock is forwarded raw with its source, a ban or unban is a
 * request the monitor may refuse. It frees what it inherited and must not
 * hold (host key, trust, grants, replay cache, the nftables socket), sets
 * up its event loop, then drops (lib/priv: user, no capabilities,
 * NoNewPrivs, seccomp) before it reads a single packet.
 */
#include "red.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "evloop.h"
#include "ips.h"
#include "log.h"
#include "nft.h"
#include "priv.h"
#include "time.h"

#define HOUSEKEEPING_MS 1000

struct worker {
	struct red *r;
	int sock;
	struct kg_ips *ips;
	struct kg_evloop *loop;
};

/* One request, then its answer: the status (0 accepted, errno refused)
 * or -errno if the monitor is gone (the loop stops then). */
static int ask(struct worker *w, const struct kg_priv_req *q)
{
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	size_t n;
	ssize_t got;
	int rc;

	if ((rc = kg_priv_req_encode(q, buf, sizeof(buf), &n)))
		return rc;
	if ((rc = kg_priv_send(w->sock, buf, n)) ||
	    (got = kg_priv_recv(w->sock, buf, sizeof(buf))) <= 0) {
		kg_evloop_stop(w->loop);
		return rc ? rc : -EPIPE;
	}
	if (kg_priv_ans_decode(buf, (size_t)got, &a) || a.for_type != q->type)
		return -EBADMSG;
	return (int)a.status;
}

static int w_ban(void *ctx, const struct kg_addr *key, unsigned seconds)
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_BAN, .addr = *key,
				 .seconds = seconds };
	int rc = ask(ctx, &q);

	return rc > 0 ? -rc : rc;
}

static int w_unban(void *ctx, const struct kg_addr *key)
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_UNBAN, .addr = *key };
	int rc = ask(ctx, &q);

	return rc > 0 ? -rc : rc;
}

static void on_packet(void *ctx, const struct kg_nflog_pkt *p)
{
	struct worker *w = ctx;
	const struct kg_red_config *c = &w->r->cfg;

	if (p->group == c->knock_group) {
		struct kg_priv_req q = {
			.type = KG_PRIV_REQ_KNOCK, .addr = p->pkt.src,
			.sport = p->pkt.sport, .dport = p->pkt.dport,
			.ifindex = p->indev, .payload = p->pkt.payload,
			.payload_len = p->pkt.payload_len,
			.rx_us = (uint64_t)red_mono_us(),
		};

		if (!p->pkt.l4_ok || p->pkt.l4proto != IPPROTO_UDP ||
		    p->pkt.dport != c->knock_port ||
		    p->pkt.payload_len > KG_PRIV_PAYLOAD_MAX)
			return;
		(void)ask(w, &q);
	} else if (p->group == c->scan_group && p->pkt.l4_ok) {
		kg_ips_closed_port(w->ips, &p->pkt.src, p->pkt.l4proto,
				   p->pkt.dport);
	}
}

static void on_nflog(void *ctx, int fd, uint32_t events)
{
	struct worker *w = ctx;
	int rc;

	(void)fd;
	(void)events;
	rc = kg_nflog_dispatch(w->r->nflog, on_packet, w);
	if (rc == -ENOBUFS)
		kg_log_event(KG_LOG_WARNING, "nflog", "result", "overrun",
			     "reason", "kernel_dropped_messages");
	else if (rc < 0)
		kg_log(KG_LOG_ERR, "nflog: %s", strerror(-rc));
}

/* Between requests the monitor says nothing: readable means it is gone. */
static void on_monitor(void *ctx, int fd, uint32_t events)
{
	struct worker *w = ctx;

	(void)fd;
	(void)events;
	kg_evloop_stop(w->loop);
}

static void on_timer(void *ctx)
{
	struct worker *w = ctx;

	kg_ips_expire(w->ips);
}

/* Signals are the monitor's: SIGHUP (reload), and SIGTERM/SIGINT, which
 * systemd sends the whole unit at a stop. The worker ends when the
 * monitor closes the socket (or dies: PR_SET_PDEATHSIG), so that a
 * worker that ends by itself is always a failure the monitor can tell. */
static void on_signal(void *ctx, int signo)
{
	(void)ctx;
	(void)signo;
}

/* Everything secret or privileged the fork copied: freed (OpenSSL clears
 * private keys as it frees them) or closed. The parent's event loop is
 * closed without touching its epoll set, which the parent still uses. */
static void forget(struct red *r)
{
	kg_evloop_free(r->loop);
	r->loop = NULL;
	kg_ips_free(r->ips);
	r->ips = NULL;
	kg_nft_close(r->nft);
	r->nft = NULL;
	red_trust_free(r);
	kg_red_state_free(&r->st);
	r->site_up = false;
	r->owns_table = false;
}


void red_worker_main(struct red *r, int sock)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct worker w = { .r = r, .sock = sock };
	struct kg_prefix nb[KG_RED_NEVER_BAN_MAX];
	struct kg_ips_config ic = {
		.scan_ports = r->cfg.scan_ports, .window_s = r->cfg.scan_window,
		.ban_s = r->cfg.ban_time, .invalid_knocks = 5,
		.max_sources = 65536, .max_bans = 65536, .never_ban = nb,
	};
	struct kg_ips_ops ops = { w_ban, w_unban, NULL, NULL, &w };
	struct kg_err e = { "" };
	int rc;
#ifdef KG_TEST_HOOKS
	char keyfile[KG_RED_PATH_MAX];

	snprintf(keyfile, sizeof(keyfile), "%s", r->cfg.host_key);
#endif

	forget(r);
	/* The never-ban list here only saves requests the monitor would
	 * refuse; the monitor checks its own copy. */
	ic.n_never_ban = kg_red_never_ban(&r->cfg, nb, KG_RED_NEVER_BAN_MAX);
	if ((rc = kg_ips_new(&w.ips, &ic, &ops)) ||
	    (rc = kg_evloop_new(&w.loop)) ||
	    (rc = kg_evloop_add_signals(w.loop, sigs, 3, on_signal, &w)) ||
	    (rc = kg_evloop_add_fd(w.loop, kg_nflog_fd(r->nflog), on_nflog, &w)) ||
	    (rc = kg_evloop_add_fd(w.loop, sock, on_monitor, &w)) ||
	    (rc = kg_evloop_add_timer(w.loop, HOUSEKEEPING_MS, on_timer, &w))) {
		kg_log(KG_LOG_ERR, "worker: setup: %s", strerror(-rc));
		_exit(1);
	}
	/* Logged before the filter: a journal socket is opened now. */
	kg_log_event(KG_LOG_NOTICE, "privsep", "result", "dropping", "user",
		     r->user);
	if ((rc = kg_priv_drop_worker(r->user, &e))) {
		kg_log_event(KG_LOG_ERR, "privsep", "result", "error", "reason",
			     "drop", "error", e.msg);
		_exit(1);
	}
#ifdef KG_TEST_HOOKS
	if (getenv("KG_TEST_WORKER_PROBE"))
		kg_priv_probe(keyfile);
#endif
	rc = kg_evloop_run(w.loop);
	kg_log_event(KG_LOG_NOTICE, "privsep", "result", "worker_stop",
		     "error", rc ? strerror(-rc) : NULL);
	_exit(rc ? 1 : 0);
}
