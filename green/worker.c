/* SPDX-License-Identifier: MIT */
/*
 * Green's unprivileged half under -P (docs/privsep.md): the forked child
 * that reads the NFLOG groups, parses the packets (lib/nflog, lib/pkt),
 * keeps the IPS's scan and invalid-knock bookkeeping and asks the monitor
 * for everything else: a knock goes raw with its source (the monitor
 * opens it), a sequence packet as its source, protocol and port, a ban or
 * unban as a request the monitor may refuse. It holds no key: it frees
 * what the fork copied (WireGuard key, users and their knock keys, the
 * key-id table, trust, sessions, replay cache, grants and host key, the
 * nftables socket, the control listener), sets up its loop, then drops
 * (lib/priv: user, no capabilities, NoNewPrivs, seccomp) before it reads
 * a single packet. It also holds green's control listener and its
 * connections (ctrl_worker.c): frames are parsed here, every check and
 * decision is the monitor's.
 */
#include "green.h"
#include "apply.h"
#include "gate.h"
#include "grants.h"
#include "knock_ids.h"
#include "knock_rx.h"
#include "admin.h"
#include "privsep.h"
#include "ctrl_worker.h"
#include "revoke.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrl_server.h"
#include "evloop.h"
#include "ips.h"
#include "log.h"
#include "nflog.h"
#include "pki.h"
#include "priv.h"
#include "replay.h"
#include "seq.h"
#include "time.h"

#define HOUSEKEEPING_MS 1000

/* Unasked messages that came while the worker waited for an answer:
 * handled once that request is done (never inside it). */
#define ASYNC_QUEUE 32
#define ASYNC_MAX 512

/* The knock group's packets of one NFLOG read, sent as one KNOCKS
 * request when the read is done (or when full, or before any other
 * request, so the monitor sees everything in the order it came). */
struct knock_batch {
	struct kg_priv_req q;      /* KG_PRIV_REQ_KNOCKS; payloads point into pl */
	size_t frame;              /* the frame's size so far */
	size_t n_pl;
	uint8_t pl[KG_PRIV_FRAME_MAX];
};

struct worker {
	struct green *g;
	int sock;
	struct knock_batch kb;
	bool sequence;             /* the gate runs sequence mode */
	struct kg_ips *ips;
	struct kg_evloop *loop;
	struct green_ctrl_worker *ctrl;
	size_t n_async;
	size_t async_len[ASYNC_QUEUE];
	uint8_t async[ASYNC_QUEUE][ASYNC_MAX];
};

static void queue_async(struct worker *w, const uint8_t *buf, size_t n)
{
	if (w->n_async == ASYNC_QUEUE || n > ASYNC_MAX) {
		kg_log_event(KG_LOG_WARNING, "privsep", "result", "dropped",
			     "reason", "async_queue_full");
		return;
	}
	memcpy(w->async[w->n_async], buf, n);
	w->async_len[w->n_async++] = n;
}

/* One request, then its answer (views in a point into buf): the status
 * (0 accepted, errno refused) or -errno if the monitor is gone (the loop
 * stops then). */
static void knocks_flush(struct worker *w);

static int ask_full(void *ctx, const struct kg_priv_req *q,
		    struct kg_priv_ans *a, uint8_t *buf)
{
	struct worker *w = ctx;
	size_t n;
	ssize_t got;
	int rc;

	/* Knocks read before this request go first, as they came. */
	if (q->type != KG_PRIV_REQ_KNOCKS)
		knocks_flush(w);
	if ((rc = kg_priv_req_encode(q, buf, KG_PRIV_FRAME_MAX, &n)))
		return rc;
	if ((rc = kg_priv_send(w->sock, buf, n))) {
		kg_evloop_stop(w->loop);
		return rc;
	}
	for (;;) {
		if ((got = kg_priv_recv(w->sock, buf, KG_PRIV_FRAME_MAX)) <= 0) {
			kg_evloop_stop(w->loop);
			return got ? (int)got : -EPIPE;
		}
		if (kg_priv_ans_decode(buf, (size_t)got, a))
			return -EBADMSG;
		if (!a->async)
			break;
		queue_async(w, buf, (size_t)got);
	}
	return a->for_type == q->type ? (int)a->status : -EBADMSG;
}

static int ask(struct worker *w, const struct kg_priv_req *q)
{
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;

	return ask_full(w, q, &a, buf);
}

static void run_async(struct worker *w, const uint8_t *buf, size_t n)
{
	struct kg_priv_ans a;

	if (kg_priv_ans_decode(buf, n, &a) || !a.async) {
		kg_log_event(KG_LOG_WARNING, "privsep", "result", "dropped",
			     "reason", "unexpected_answer");
		return;
	}
	if (w->ctrl)
		green_ctrl_worker_async(w->ctrl, &a);
}

/* The queue, after each event: a message handled may queue more. */
static void drain_async(struct worker *w)
{
	uint8_t buf[ASYNC_MAX];

	while (w->n_async) {
		size_t n = w->async_len[0];

		memcpy(buf, w->async[0], n);
		memmove(w->async[0], w->async[1],
			(w->n_async - 1) * sizeof(w->async[0]));
		memmove(w->async_len, w->async_len + 1,
			(w->n_async - 1) * sizeof(w->async_len[0]));
		w->n_async--;
		run_async(w, buf, n);
	}
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

/* The IPS's exemption: green's infrastructure is known here; sessions
 * only to the monitor, which is asked (so the skip is logged as in the
 * single process). A worker that lies here only gets its ban refused. */
static bool w_exempt(void *ctx, const struct kg_addr *src)
{
	struct worker *w = ctx;
	struct kg_priv_req q = { .type = KG_PRIV_REQ_PROTECTED, .addr = *src };

	return green_gate_exempt(w->g, src) || ask(w, &q) == EPERM;
}

/* The monitor's status for one knock feeds the IPS, as the single
 * process's receiver does. */
static void knock_status(struct worker *w, const struct kg_addr *src,
			 int rc)
{
	if (rc == 0)
		kg_ips_unban(w->ips, src);
	else if (rc == EKEYREJECTED)
		kg_ips_invalid_knock(w->ips, src);
}

/* The batch as one request, then each status to the IPS (which may ask
 * for a ban: the batch is empty again by then). */
static void knocks_flush(struct worker *w)
{
	struct knock_batch *kb = &w->kb;
	struct kg_addr src[KG_PRIV_BATCH_MAX];
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	size_t n = kb->q.n_knocks;
	int rc;

	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		src[i] = kb->q.knocks[i].addr;
	rc = ask_full(w, &kb->q, &a, buf);
	kb->q.n_knocks = 0;
	kb->n_pl = 0;
	if (rc || a.n_statuses != n) {
		if (rc >= 0)
			kg_log_event(KG_LOG_WARNING, "privsep", "result",
				     "dropped", "request", "knocks", "reason",
				     rc ? strerror(rc) : "status_count");
		return;
	}
	for (size_t i = 0; i < n; i++)
		knock_status(w, &src[i], (int)a.statuses[i]);
}

/* Room in the batch for k (payload copied out of NFLOG's buffer, which
 * the next read reuses): flushed first when full. */
static void knocks_add(struct worker *w, const struct kg_priv_knock *k)
{
	struct knock_batch *kb = &w->kb;
	/* type, address (u8 + 16), ports, ifindex, rx_us, length, payload */
	size_t need = 1 + 17 + 4 + 4 + 8 + 2 + k->payload_len;

	if (kb->q.n_knocks == KG_PRIV_BATCH_MAX ||
	    kb->frame + need > KG_PRIV_FRAME_MAX ||
	    kb->n_pl + k->payload_len > sizeof(kb->pl))
		knocks_flush(w);
	if (!kb->q.n_knocks) {
		kb->q.type = KG_PRIV_REQ_KNOCKS;
		kb->frame = 2;      /* type, count */
		kb->n_pl = 0;
	}
	kb->q.knocks[kb->q.n_knocks] = *k;
	if (k->payload_len) {
		memcpy(kb->pl + kb->n_pl, k->payload, k->payload_len);
		kb->q.knocks[kb->q.n_knocks].payload = kb->pl + kb->n_pl;
		kb->n_pl += k->payload_len;
	}
	kb->q.n_knocks++;
	kb->frame += need;
}

/* A packet of the knock group: the knock port's with its payload, a
 * sequence port's as source and port, into this read's batch (the
 * monitor opens every knock itself and answers each). */
static void on_knock(struct worker *w, const struct kg_nflog_pkt *p)
{
	const struct green_conf *c = &w->g->conf;
	struct kg_priv_knock k = {
		.type = KG_PRIV_REQ_KNOCK, .addr = p->pkt.src,
		.sport = p->pkt.sport, .dport = p->pkt.dport,
		.ifindex = p->indev, .rx_us = kg_mono_ns() / 1000,
	};

	if (p->prefix && !strcmp(p->prefix, GREEN_KNOCK_MISS_PREFIX)) {
		green_knock_prefilter_miss(p);
		return;
	}
	if (!p->pkt.l4_ok)
		return;
	if (p->pkt.l4proto == IPPROTO_UDP && p->pkt.dport == c->knock_port) {
		if (p->pkt.payload_len > KG_PRIV_PAYLOAD_MAX)
			return;   /* no knock is that long */
		k.payload = p->pkt.payload;
		k.payload_len = p->pkt.payload_len;
	} else if (w->sequence && (p->pkt.l4proto == IPPROTO_UDP ||
				   p->pkt.l4proto == IPPROTO_TCP)) {
		k = (struct kg_priv_knock){ .type = KG_PRIV_REQ_PORT,
			.addr = p->pkt.src, .proto = p->pkt.l4proto,
			.dport = p->pkt.dport };
	} else {
		return;
	}
	knocks_add(w, &k);
}

/* The scan group: as the single process's on_scan (daemon.c). */
static void on_scan(struct worker *w, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN], port[8];

	if (!p->pkt.l4_ok || (p->pkt.l4proto != IPPROTO_TCP &&
			      p->pkt.l4proto != IPPROTO_UDP))
		return;
	/* The knocks read before it first: their statuses reach the IPS
	 * before this packet does, as in the single process, and never from
	 * inside an IPS call (a ban it asks for would flush them). */
	knocks_flush(w);
	kg_addr_str(&p->pkt.src, src);
	snprintf(port, sizeof(port), "%u", p->pkt.dport);
	kg_log_event(KG_LOG_DEBUG, "drop", "src", src,
		     "proto", p->pkt.l4proto == IPPROTO_TCP ? "tcp" : "udp",
		     "dport", port);
	kg_ips_closed_port(w->ips, &p->pkt.src, p->pkt.l4proto, p->pkt.dport);
}

static void on_packet(void *ctx, const struct kg_nflog_pkt *p)
{
	struct worker *w = ctx;

	if (p->group == w->g->conf.nflog_knock)
		on_knock(w, p);
	else if (p->group == w->g->conf.nflog_scan)
		on_scan(w, p);
}

static void on_nflog(void *ctx, int fd, uint32_t events)
{
	struct worker *w = ctx;
	int rc;

	(void)fd;
	(void)events;
	rc = kg_nflog_dispatch(w->g->nflog, on_packet, w);
	/* This read's knocks: one request, at once (a lone knock waits for
	 * nothing more). */
	knocks_flush(w);
	if (rc == -ENOBUFS)
		kg_log_event(KG_LOG_WARNING, "nflog", "result", "overrun",
			     "reason", "kernel_dropped_messages");
	else if (rc < 0)
		kg_log(KG_LOG_ERR, "nflog: %s", strerror(-rc));
	drain_async(w);
}

/* Between requests the monitor sends only unasked messages (a service
 * done, a grant moved, a session ended); end of stream means it is gone. */
static void on_monitor(void *ctx, int fd, uint32_t events)
{
	struct worker *w = ctx;
	uint8_t buf[KG_PRIV_FRAME_MAX];
	ssize_t n;

	(void)events;
	n = kg_priv_recv(fd, buf, sizeof(buf));
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) {
		kg_evloop_stop(w->loop);
		return;
	}
	run_async(w, buf, (size_t)n);
	drain_async(w);
}

static void on_timer(void *ctx)
{
	struct worker *w = ctx;

	kg_ips_expire(w->ips);
	drain_async(w);
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

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The gate's copy: memory freed (keys wiped), fds closed; nothing in the
 * kernel changes (no peer removed, no interface down: that is the
 * monitor's, whose epoll set is not touched either). */
static void forget_gate(struct green_gate *gt)
{
	kg_ctrl_server_free(gt->ctrl);
	close_fd(&gt->listen_fd);
	close_fd(&gt->conn_epfd);
	close_fd(&gt->inotify_fd);
	kg_sess_free(&gt->sess);
	kg_seq_free(gt->seq);
	kg_rcache_free(gt->replay);
	kg_users_free(&gt->users);
	kg_policy_free(&gt->policy);
	kg_pki_free(gt->pki);
	gate_certs_free(gt);
	free(gt->seq_set);
	free(gt->dying);
	free(gt->oq);
	gate_knock_ids_free(gt);
	kg_wipe(gt, sizeof(*gt));
	free(gt);
}

static void forget(struct green *g)
{
	kg_evloop_free(g->loop);
	g->loop = NULL;
	kg_ips_free(g->ips);
	g->ips = NULL;
	green_apply_close(g->nft);   /* this process's copy of the socket */
	g->nft = NULL;
	green_grants_forget(g->grants);
	g->grants = NULL;
	green_admin_forget(g);
	if (g->gate)
		forget_gate(g->gate);
	g->gate = NULL;
	free(g->ruleset);
	g->ruleset = NULL;
	g->owns_table = false;
}


void green_worker_main(struct green *g, int sock)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct worker w = { .g = g, .sock = sock };
	struct kg_ips_ops ops = { w_ban, w_unban, w_exempt, NULL, &w };
	struct kg_err e = { "" };
	int rc;
#ifdef KG_TEST_HOOKS
	char keyfile[512];

	snprintf(keyfile, sizeof(keyfile), "%s", g->conf.gate &&
		 g->conf.gate->wg_private_key ? g->conf.gate->wg_private_key :
		 "/etc/knockgate/green.conf");
#endif

	int listen_fd = g->gate ? g->gate->listen_fd : -1;

	w.sequence = g->gate && g->gate->seq;
	if (g->worker_fd >= 0)
		close(g->worker_fd);
	/* The control listener is the worker's (the monitor closed its copy). */
	if (g->gate)
		g->gate->listen_fd = -1;
	forget(g);
	if ((rc = kg_ips_new(&w.ips, &g->conf.ips, &ops)) ||
	    (rc = kg_evloop_new(&w.loop)) ||
	    (rc = kg_evloop_add_signals(w.loop, sigs, 3, on_signal, &w)) ||
	    (rc = kg_evloop_add_fd(w.loop, kg_nflog_fd(g->nflog), on_nflog, &w)) ||
	    (rc = kg_evloop_add_fd(w.loop, sock, on_monitor, &w)) ||
	    (rc = kg_evloop_add_timer(w.loop, HOUSEKEEPING_MS, on_timer, &w))) {
		kg_log(KG_LOG_ERR, "worker: setup: %s", strerror(-rc));
		_exit(1);
	}
	if (listen_fd >= 0 &&
	    (rc = green_ctrl_worker_start(&w.ctrl, g, listen_fd, w.loop,
					  ask_full, &w, &e))) {
		kg_log(KG_LOG_ERR, "worker: setup: %s", e.msg);
		_exit(1);
	}
	/* Logged before the filter: a journal socket is opened now. */
	kg_log_event(KG_LOG_NOTICE, "privsep", "result", "dropping", "user",
		     g->user);
	if ((rc = kg_priv_drop_worker(g->user, &e))) {
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
