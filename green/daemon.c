/* SPDX-License-Identifier: MIT */
/*
 * Green's life: start (table, NFLOG, IPS, then READY), the event loop,
 * reload on SIGHUP, clean stop on SIGTERM. Startup errors are returned
 * (fatal); runtime errors are logged and the daemon keeps going.
 *
 * Fail closed: once this process holds the NFLOG groups (no other
 * instance runs), every way out of it (a stop, a start that failed)
 * leaves the dark table (lib/nft_dark.h), never no table. The next start
 * replaces it whole.
 */
#include "green.h"
#include "grants_glue.h"
#include "apply.h"
#include "admin.h"
#include "knock_rx.h"
#include "gate.h"
#include "sessions_run.h"
#include "evloop.h"
#include "log.h"
#include "nflog.h"
#include "nft.h"
#include "nft_dark.h"
#include "notify.h"
#include "privsep.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUSEKEEPING_MS 1000

int green_ban(void *ctx, const struct kg_addr *key, unsigned seconds)
{
	struct green *g = ctx;

	return green_apply_ban(g->nft, key, seconds);
}

int green_unban(void *ctx, const struct kg_addr *key)
{
	struct green *g = ctx;

	return green_apply_unban(g->nft, key);
}

/* Sources of sessions are never banned (gate.c). */
static bool green_exempt(void *ctx, const struct kg_addr *src)
{
	return green_gate_exempt(ctx, src);
}

/* A packet the table dropped at a closed port (the scan group). Only TCP
 * and UDP have ports to count; the rest (ICMP, fragments) is dropped
 * uncounted. */
static void on_scan(struct green *g, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN], port[8];

	if (!p->pkt.l4_ok || (p->pkt.l4proto != IPPROTO_TCP &&
			      p->pkt.l4proto != IPPROTO_UDP))
		return;
	kg_addr_str(&p->pkt.src, src);
	snprintf(port, sizeof(port), "%u", p->pkt.dport);
	kg_log_event(KG_LOG_DEBUG, "drop", "src", src,
		     "proto", p->pkt.l4proto == IPPROTO_TCP ? "tcp" : "udp",
		     "dport", port);
	kg_ips_closed_port(g->ips, &p->pkt.src, p->pkt.l4proto, p->pkt.dport);
}

/* The knock group goes straight to the knock receiver (knock_rx.c), the
 * scan group to the IPS. */
static void on_packet(void *ctx, const struct kg_nflog_pkt *p)
{
	struct green *g = ctx;

	g->n_packets++;
	if (p->group == g->conf.nflog_knock)
		green_knock_receive(g, p);
	else if (p->group == g->conf.nflog_scan)
		on_scan(g, p);
}

static void on_nflog(void *ctx, int fd, uint32_t events)
{
	struct green *g = ctx;
	int r;

	(void)fd;
	(void)events;
	/* The new sessions of this read: one nft batch, sent before the
	 * loop runs again (a lone knock waits for nothing more). */
	if (g->gate)
		gate_opens_begin(g->gate);
	r = kg_nflog_dispatch(g->nflog, on_packet, g);
	if (g->gate)
		gate_opens_end(g->gate);
	if (r == -ENOBUFS)
		kg_log_event(KG_LOG_WARNING, "nflog", "result", "overrun",
			     "reason", "kernel_dropped_messages");
	else if (r < 0)
		kg_log(KG_LOG_ERR, "nflog: %s", strerror(-r));
}

/* STATUS= with the live counts; notify.c sends it only when it changed. */
static void status(struct green *g)
{
	size_t n = g->gate ? g->gate->sess.n : 0;
	size_t live = g->gate ? g->gate->sess.n_live : 0;

	kg_notify_status("table inet %s; sessions: %zu live, %zu pending%s",
			 GREEN_TABLE, live, n - live,
			 green_admin_status_note(g));
}

static void on_timer(void *ctx)
{
	struct green *g = ctx;

	if (g->ips)   /* under -P the worker's */
		kg_ips_expire(g->ips);
	status(g);
	kg_notify_watchdog();
}

static int open_nflog(struct green *g, const struct green_conf *c,
		      struct kg_err *e)
{
	uint16_t groups[2] = { c->nflog_knock, c->nflog_scan };
	int r;

	if (g->nflog) {
		kg_evloop_del_fd(g->loop, kg_nflog_fd(g->nflog));
		kg_nflog_close(g->nflog);
		g->nflog = NULL;
	}
	r = kg_nflog_open(&g->nflog, groups, 2, e);
	if (r)
		return r;
	r = kg_evloop_add_fd(g->loop, kg_nflog_fd(g->nflog), on_nflog, g);
	if (r)
		kg_err_set(e, "event loop: %s", strerror(-r));
	return r;
}

static int new_ips(struct green *g, const struct green_conf *c,
		   struct kg_err *e)
{
	struct kg_ips_ops ops = { green_ban, green_unban, green_exempt, NULL, g };
	struct kg_ips *ips;
	int r = kg_ips_new(&ips, &c->ips, &ops);

	if (r) {
		kg_err_set(e, "ips: %s", strerror(-r));
		return r;
	}
	kg_ips_free(g->ips);
	g->ips = ips;
	return 0;
}

/* Startup: any error is fatal (returned). An earlier instance's table is
 * replaced whole, so nothing it left survives. */
static int start(struct green *g, struct kg_err *e)
{
	int r;

	if ((r = green_apply_open(&g->nft, GREEN_TABLE, e)))
		return r;
	/* NFLOG first: a second instance fails here (groups taken) before it
	 * could replace the running one's table, dark or not. */
	if ((r = open_nflog(g, &g->conf, e)))
		return r;
	g->owns_table = true;
	if ((r = green_ruleset_render(&g->conf, &g->ruleset))) {
		kg_err_set(e, "rendering the ruleset: %s", strerror(-r));
		return r;
	}
	if ((r = new_ips(g, &g->conf, e)) ||
	    (r = green_apply_table_replace(g->nft, g->ruleset, false, e)))
		return r;
	if ((r = green_gate_start(g, e)))
		return r;
	if ((r = green_grants_start(g, e)))
		return r;
	if ((r = green_admin_start(g, e)))
		return r;
	return kg_evloop_add_timer(g->loop, HOUSEKEEPING_MS, on_timer, g);
}

/* SIGHUP. On any error the old config, table and state stay. */
static void reload(struct green *g)
{
	struct green_conf c;
	struct kg_err e = { "" };
	char *text = NULL;
	bool same_groups, table_replaced = false;
	int r;

	kg_notify_reloading();
	r = green_conf_load(&c, g->config_path, &e);
	if (!r && (r = green_ruleset_render(&c, &text)))
		kg_err_set(&e, "rendering the ruleset: %s", strerror(-r));
	if (!r && g->privsep && (c.nflog_knock != g->conf.nflog_knock ||
				 c.nflog_scan != g->conf.nflog_scan)) {
		/* The NFLOG socket is the worker's: new groups need a restart. */
		kg_err_set(&e, "NFLOG groups changed (restart green under -P)");
		r = -EINVAL;
	}
	if (!r && g->gate && (c.wg_shards != g->conf.wg_shards ||
			      c.tunnel_prefix_len != g->conf.tunnel_prefix_len)) {
		/* The WireGuard devices and their routes are made at start:
		 * a table naming other shards than the devices up would
		 * not match them. */
		kg_err_set(&e, "wg_shards or tunnel_prefix_len changed (restart green)");
		r = -EINVAL;
	}
	if (!r && !strcmp(text, g->ruleset)) {
		/* Same table: keep its elements (bans, openings). Under -P
		 * the IPS is the worker's: its settings stay until a
		 * restart. */
		r = g->ips ? kg_ips_reconfigure(g->ips, &c.ips) : 0;
		if (r)
			kg_err_set(&e, "ips: %s", strerror(-r));
		goto done;
	}
	if (!r)
		r = green_apply_table_replace(g->nft, text, false, &e);
	if (r)
		goto done;
	same_groups = c.nflog_knock == g->conf.nflog_knock &&
		      c.nflog_scan == g->conf.nflog_scan;
	if (!same_groups && open_nflog(g, &c, &e))
		kg_log_event(KG_LOG_ERR, "reload", "result", "error",
			     "reason", "nflog", "error", e.msg);
	if (!g->privsep && new_ips(g, &c, &e))
		kg_log_event(KG_LOG_ERR, "reload", "result", "error",
			     "reason", "ips", "error", e.msg);
	free(g->ruleset);
	g->ruleset = text;
	text = NULL;
	table_replaced = true;
done:
	if (r) {
		kg_log_event(KG_LOG_ERR, "reload", "result", "error",
			     "reason", "kept_old_config", "error", e.msg);
		green_conf_free(&c);
	} else {
		green_conf_free(&g->conf);
		g->conf = c;
		kg_log_set_level(g->log_level_override >= 0 ?
				 g->log_level_override : g->conf.log_level);
		kg_log_event(KG_LOG_NOTICE, "reload", "result", "ok",
			     "config", g->config_path);
		green_gate_reload(g, table_replaced);
		green_grants_reload(g, table_replaced);
		green_admin_reload(g);
	}
	free(text);
	kg_notify_ready();
}

static void on_signal(void *ctx, int signo)
{
	struct green *g = ctx;

	if (signo == SIGHUP) {
		reload(g);
		return;
	}
	kg_evloop_stop(g->loop);
}

/* Replaces whatever table this instance has (the full one, or none yet)
 * with the dark one, in one transaction. why: "stop" or "start_failed". */
static void go_dark(struct green *g, const char *why)
{
	struct green_conf *c = &g->conf;
	char *fwd[GREEN_WG_SHARDS_MAX + 1], shard[GREEN_WG_SHARDS_MAX][16];
	struct kg_nft_dark d = {
		.table = GREEN_TABLE, .mgmt = c->mgmt, .n_mgmt = c->n_mgmt,
		.mgmt_ifaces = c->mgmt_ifaces, .n_mgmt_ifaces = c->n_mgmt_ifaces,
		.mgmt_ports = c->mgmt_ports, .n_mgmt_ports = c->n_mgmt_ports,
		.dhcp = c->dhcp_client, .fwd_drop_ifaces = fwd,
	};
	struct kg_err e = { "" };
	int r;

	if (c->wg_interface)
		fwd[d.n_fwd_drop_ifaces++] = c->wg_interface;
	for (unsigned k = 1; c->wg_interface && k < c->wg_shards; k++) {
		green_shard_ifname(c->wg_interface, k, shard[k]);
		fwd[d.n_fwd_drop_ifaces++] = shard[k];
	}
	if (c->site.interface)
		fwd[d.n_fwd_drop_ifaces++] = c->site.interface;
	r = green_apply_dark(g->nft, &d, &e);
	if (r)
		kg_log_event(KG_LOG_ERR, "dark", "result", "error", "reason", why,
			     "table", "inet " GREEN_TABLE, "error", e.msg);
	else
		kg_log_event(KG_LOG_NOTICE, "dark", "result", "installed",
			     "reason", why, "table", "inet " GREEN_TABLE);
}

static void stop(struct green *g, const char *why)
{
	char n[24];

	kg_notify_stopping();
	/* Dark before anything is torn down: no moment without a table. Only
	 * an instance that holds the NFLOG groups touches the table: a second
	 * one that failed to start leaves the running one's alone. */
	if (g->owns_table)
		go_dark(g, why);
	green_monitor_stop(g);
	green_admin_stop(g);
	green_grants_stop(g);
	green_gate_stop(g);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)g->n_packets);
	kg_log_event(KG_LOG_NOTICE, "stop", "result", "ok", "packets", n);
	kg_ips_free(g->ips);
	kg_nflog_close(g->nflog);
	green_apply_close(g->nft);
	kg_evloop_free(g->loop);
	free(g->ruleset);
	green_conf_free(&g->conf);
	g->ips = NULL;
	g->nflog = NULL;
	g->nft = NULL;
	g->loop = NULL;
	g->ruleset = NULL;
	g->owns_table = false;
}

int green_run(struct green *g, struct kg_err *e)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	int r;

	signal(SIGPIPE, SIG_IGN);
	r = kg_evloop_new(&g->loop);
	if (!r && (r = kg_evloop_add_signals(g->loop, sigs, 3, on_signal, g)))
		kg_err_set(e, "signals: %s", strerror(-r));
	if (!r)
		r = start(g, e);
	if (!r && g->privsep)
		r = green_monitor_start(g, e);
	if (r) {
		stop(g, "start_failed");
		return r;
	}
	kg_notify_ready();
	status(g);
	kg_log_event(KG_LOG_NOTICE, "ready", "table", "inet " GREEN_TABLE,
		     "config", g->config_path);
	r = kg_evloop_run(g->loop);
	if (r)
		kg_log(KG_LOG_ERR, "event loop: %s", strerror(-r));
	stop(g, "stop");
	if (g->worker_lost) {
		kg_err_set(e, "the unprivileged worker ended (dark table left)");
		return -ECHILD;
	}
	return 0;
}

int green_check(struct green *g, bool print, struct kg_err *e)
{
	int r = green_ruleset_render(&g->conf, &g->ruleset);

	if (r) {
		kg_err_set(e, "rendering the ruleset: %s", strerror(-r));
		goto out;
	}
	if (print) {
		fputs(g->ruleset, stdout);
		goto out;
	}
	r = green_apply_open(&g->nft, GREEN_TABLE, e);
	if (!r)
		r = green_apply_table_replace(g->nft, g->ruleset, true, e);
	if (!r)
		printf("%s: configuration and ruleset OK\n", g->config_path);
out:
	green_apply_close(g->nft);
	g->nft = NULL;
	free(g->ruleset);
	g->ruleset = NULL;
	green_conf_free(&g->conf);
	return r;
}
