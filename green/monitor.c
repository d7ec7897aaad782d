/* SPDX-License-Identifier: MIT */
/*
 * Green's privileged half under -P (docs/privsep.md). After the start
 * (table, gate, wireguard-go, grants) it forks the worker, hands it the
 * NFLOG socket and the IPS, and keeps everything else: the WireGuard,
 * site-link and host keys, the users' knock keys, trust (CA, CRL), the
 * replay cache, sessions and grants, the nftables and WireGuard handles,
 * the socket to red and the control port's decisions (ctrl_monitor.c:
 * certificates, challenges, nonces, signatures, policy). The control
 * listener goes to the worker with the NFLOG socket. It then keeps
 * CAP_NET_ADMIN only.
 *
 * The worker is untrusted. A knock it forwards goes whole through
 * green_knock_receive_at, as in the single process: the AEAD open, the
 * window, the replay cache, the user record (which gives the tunnel
 * address and the peer key); a sequence packet through the same receiver;
 * a ban is checked against the never-ban list, green's infrastructure and
 * every session's source; a frame by lib/priv's one parser.
 *
 * A worker that ends (crash, kill) ends green: the loop stops, daemon.c
 * leaves the dark table and green exits 1 (the unit's Restart=on-failure
 * starts it again). Restarting would need CAP_SETUID kept
 * here; a dark host and a supervisor restart are the safer trade.
 */
#include "green.h"
#include "gate.h"
#include "apply.h"
#include "knock_rx.h"
#include "privsep.h"
#include "ctrl_glue.h"
#include "ctrl_monitor.h"
#include "sessions_run.h"

#include <errno.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "ips.h"
#include "log.h"
#include "nflog.h"
#include "priv.h"
#include "time.h"

/* Why key (a ban key) must not be banned, or NULL: the configured
 * never-ban list, a session's source (pending or live: its /64 for IPv6),
 * green's infrastructure (reds, site link, tunnel range). */
static const char *protected(struct green *g, const struct kg_addr *key)
{
	const struct green_gate *gt = g->gate;

	for (size_t i = 0; i < g->conf.n_never_ban; i++)
		if (kg_ips_key_hits(&g->conf.never_ban[i], key))
			return "never_ban";
	for (size_t i = 0; gt && i < gt->sess.n; i++) {
		const struct kg_session *s = &gt->sess.s[i];

		for (size_t j = 0; j < s->n_src; j++) {
			struct kg_prefix p = { .a = s->src[j],
				.len = s->src[j].family == AF_INET6 ? 128 : 32 };

			if (kg_ips_key_hits(&p, key))
				return "live_session";
		}
	}
	return green_gate_exempt(g, key) ? "infrastructure" : NULL;
}

static void reply(struct green *g, uint8_t type, uint32_t status)
{
	kg_priv_reply(g->worker_fd, type, status);
}

static void refuse(struct green *g, uint8_t type, const char *req,
		   const char *reason, const struct kg_addr *a, uint32_t status)
{
	kg_priv_refuse(g->worker_fd, type, req, reason, a, status);
}

static void on_ban(struct green *g, const struct kg_priv_req *q)
{
	const char *req = q->type == KG_PRIV_REQ_BAN ? "ban" : "unban";
	unsigned max = g->conf.ips.ban_s;
	struct kg_addr key;
	const char *why;
	int rc;

	kg_addr_ban_key(&q->addr, &key);
	if (!kg_addr_eq(&key, &q->addr)) {
		refuse(g, q->type, req, "not_a_ban_key", &q->addr, EINVAL);
		return;
	}
	if (q->type == KG_PRIV_REQ_UNBAN) {
		rc = green_apply_unban(g->nft, &key);
		reply(g, q->type, rc && rc != -ENOENT ? (uint32_t)-rc : 0);
		return;
	}
	if ((why = protected(g, &key))) {
		refuse(g, q->type, req, why, &key, EPERM);
		return;
	}
	/* The worker may not choose a longer ban than the config's. */
	rc = green_apply_ban(g->nft, &key, q->seconds && q->seconds < max ?
			     q->seconds : max);
	reply(g, q->type, rc ? (uint32_t)-rc : 0);
}

/* A knock (UDP to knock_port, with its payload) or, in sequence mode, a
 * packet to another port: the same receiver as the single process's.
 * Returns the status for the worker (0 or a positive errno); a refusal
 * of the request itself is logged here. */
static uint32_t knock_one(struct green *g, const struct kg_priv_knock *k)
{
	bool knock = k->type == KG_PRIV_REQ_KNOCK;
	struct kg_nflog_pkt p = {
		.group = g->conf.nflog_knock, .prefix = "",
		.family = k->addr.family,
		.pkt = { .src = k->addr, .l4_ok = true, .sport = k->sport,
			 .dport = k->dport, .payload = k->payload,
			 .payload_len = k->payload_len,
			 .l4proto = knock ? IPPROTO_UDP : k->proto },
	};
	uint64_t now = kg_mono_ns(), t0 = k->rx_us * 1000;
	char s[KG_ADDR_STRLEN];
	const char *why = NULL;

	if (knock != (k->dport == g->conf.knock_port))
		why = knock ? "not_knock_port" : "knock_port";
	else if (!knock && !(g->gate && g->gate->seq))
		why = "no_sequence";
	if (why) {
		kg_log_event(KG_LOG_WARNING, "privsep", "result", "refused",
			     "request", knock ? "knock" : "port", "reason", why,
			     "addr", kg_addr_str(&k->addr, s));
		return EINVAL;
	}
	/* rx_us only feeds the session record's us=; a lie there changes a
	 * number in the log, nothing else. */
	return (uint32_t)-green_knock_receive_at(g, &p,
						 t0 && t0 <= now ? t0 : now);
}

static void on_knock(struct green *g, const struct kg_priv_req *q)
{
	struct kg_priv_knock k = {
		.type = q->type, .addr = q->addr, .sport = q->sport,
		.dport = q->dport, .proto = q->proto, .ifindex = q->ifindex,
		.rx_us = q->rx_us, .payload = q->payload,
		.payload_len = q->payload_len,
	};

	reply(g, q->type, knock_one(g, &k));
}

/* The knock group's packets of one NFLOG read: each checked and opened
 * alone as above (one AEAD open each), the new sessions' openings in one
 * nft batch and their peers in one WireGuard set operation, as the single
 * process does for one read; then one answer with every status. */
static void on_knocks(struct green *g, const struct kg_priv_req *q)
{
	struct kg_priv_ans a = { .for_type = q->type,
				 .n_statuses = q->n_knocks };
	uint8_t buf[64 + 4 * KG_PRIV_BATCH_MAX];
	size_t n;

	if (g->gate)
		gate_opens_begin(g->gate);
	for (size_t i = 0; i < q->n_knocks; i++)
		a.statuses[i] = knock_one(g, &q->knocks[i]);
	if (g->gate)
		gate_opens_end(g->gate);
	if (!kg_priv_ans_encode(&a, buf, sizeof(buf), &n))
		(void)kg_priv_send(g->worker_fd, buf, n);
}

static void on_request(struct green *g, const uint8_t *buf, size_t n)
{
	struct kg_priv_req q;

	if (kg_priv_req_decode(buf, n, &q)) {
		refuse(g, n ? buf[0] : 0, NULL, "malformed", NULL, EBADMSG);
		return;
	}
	if (q.type >= KG_PRIV_REQ_CTRL_OPEN && q.type <= KG_PRIV_REQ_CTRL_END) {
		green_ctrl_monitor_request(g, &q);
	} else if (q.type == KG_PRIV_REQ_KNOCK || q.type == KG_PRIV_REQ_PORT) {
		on_knock(g, &q);
	} else if (q.type == KG_PRIV_REQ_KNOCKS) {
		on_knocks(g, &q);
	} else if (q.type == KG_PRIV_REQ_PROTECTED) {
		struct kg_addr key;

		/* A question, no change: the worker's IPS logs the skip as
		 * the single process's does; a ban asked anyway is refused. */
		kg_addr_ban_key(&q.addr, &key);
		reply(g, q.type, protected(g, &key) ? EPERM : 0);
	} else {
		on_ban(g, &q);
	}
}

static void on_worker(void *ctx, int fd, uint32_t events)
{
	struct green *g = ctx;
	uint8_t buf[KG_PRIV_FRAME_MAX];
	ssize_t n;

	(void)events;
	n = kg_priv_recv(fd, buf, sizeof(buf));
	if (n == -EMSGSIZE) {
		refuse(g, 0, NULL, "oversized", NULL, EMSGSIZE);
	} else if (n == -EAGAIN || n == -EINTR) {
		return;
	} else if (n <= 0) {
		kg_log_event(KG_LOG_ERR, "privsep", "result", "worker_gone",
			     "error", n ? strerror((int)-n) : "end_of_stream");
		kg_evloop_del_fd(g->loop, fd);
		g->worker_lost = true;
		kg_evloop_stop(g->loop);
	} else {
		on_request(g, buf, (size_t)n);
	}
}

static void worker_main(void *ctx, int sock)
{
	green_worker_main(ctx, sock);
}

int green_monitor_start(struct green *g, struct kg_err *e)
{
	static const int keep[] = { CAP_NET_ADMIN };
	char ws[16];
	int rc;

	/* test_worker is set only in test builds (-W). */
	if ((rc = kg_priv_spawn(worker_main, g, g->test_worker,
				&g->worker_pid, &g->worker_fd, e)))
		return rc;
	/* The NFLOG socket and the IPS are the worker's now. */
	kg_ips_free(g->ips);
	g->ips = NULL;
	kg_evloop_del_fd(g->loop, kg_nflog_fd(g->nflog));
	kg_nflog_close(g->nflog);
	g->nflog = NULL;
	/* So are the control listener and its connections (none yet). */
	if (g->gate)
		gate_ctrl_stop(g->gate);
	if ((rc = kg_priv_keep_caps(keep, 1, e)))
		return rc;
	if ((rc = kg_evloop_add_fd(g->loop, g->worker_fd, on_worker, g))) {
		kg_err_set(e, "event loop: %s", strerror(-rc));
		return rc;
	}
	snprintf(ws, sizeof(ws), "%d", (int)g->worker_pid);
	kg_log_event(KG_LOG_NOTICE, "privsep", "result", "started", "worker",
		     ws, "user", g->user, "test_worker", g->test_worker);
	return 0;
}

void green_monitor_stop(struct green *g)
{
	if (g->worker_fd >= 0 && g->loop)
		kg_evloop_del_fd(g->loop, g->worker_fd);
	kg_priv_reap(&g->worker_pid, &g->worker_fd);
	green_ctrl_monitor_free(g);
}
