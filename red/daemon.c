/* SPDX-License-Identifier: MIT */
/*
 * Red's life: start (trust, table, site link, NFLOG, IPS, then READY),
 * the event loop, SIGHUP re-checks the CA, CRL and greens' certificates,
 * SIGTERM stops cleanly. Under -P the last start step forks the worker
 * (monitor.c); its end stops the loop like SIGTERM. Startup errors are
 * returned (fatal); runtime errors are logged and red keeps going. A
 * restarted red starts from an empty table: green re-opens live sessions
 * on its next renewal.
 *
 * Fail closed: once this process holds the NFLOG groups (no other
 * instance runs), every way out of it (a stop, a start that failed)
 * leaves the dark table (lib/nft_dark.h), never no table: red's real
 * service ports must not answer the inside network while red is down.
 */
#include "red.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "evloop.h"
#include "ips.h"
#include "log.h"
#include "nft.h"
#include "nft_dark.h"
#include "notify.h"
#include "pki.h"
#include "rules.h"
#include "time.h"

#define HOUSEKEEPING_MS 1000
#define HOP_TICK_MS 100      /* hops land within this of their drawn time */
#define RULES_MAX 32768

static void on_packet(void *ctx, const struct kg_nflog_pkt *p)
{
	struct red *r = ctx;

	if (p->group == r->cfg.knock_group) {
		red_on_knock(r, p);
	} else if (p->group == r->cfg.scan_group && p->pkt.l4_ok) {
		kg_ips_closed_port(r->ips, &p->pkt.src, p->pkt.l4proto,
				   p->pkt.dport);
	}
}

static void on_nflog(void *ctx, int fd, uint32_t events)
{
	struct red *r = ctx;
	int rc;

	(void)fd;
	(void)events;
	rc = kg_nflog_dispatch(r->nflog, on_packet, r);
	if (rc == -ENOBUFS)
		kg_log_event(KG_LOG_WARNING, "nflog", "result", "overrun",
			     "reason", "kernel_dropped_messages");
	else if (rc < 0)
		kg_log(KG_LOG_ERR, "nflog: %s", strerror(-rc));
}

/* Leases end here as well as in the kernel: red cuts the flows itself,
 * so even with green gone every grant ends within one lease. */
static void on_timer(void *ctx)
{
	struct red *r = ctx;

	kg_grants_expire(&r->st.grants, kg_mono_s(), red_lease_ended, r);
	red_hop_prune(r);
	if (r->ips)
		kg_ips_expire(r->ips);
	/* notify.c sends STATUS= only when it changed */
	kg_notify_status("table inet %s; grants: %zu live%s", KG_RED_TABLE,
			 kg_grants_live(&r->st.grants), red_expiry_tick(r));
	red_metrics_tick(r);
	kg_notify_watchdog();
}

static void on_cut_timer(void *ctx)
{
	red_cut_flush(ctx);
}

static void on_hop_timer(void *ctx)
{
	red_hop_tick(ctx);
}

static int new_ips(struct red *r, struct kg_err *e)
{
	struct kg_prefix nb[KG_RED_NEVER_BAN_MAX];
	struct kg_ips_config ic = {
		.scan_ports = r->cfg.scan_ports, .window_s = r->cfg.scan_window,
		.ban_s = r->cfg.ban_time, .invalid_knocks = 5,
		.max_sources = 65536, .max_bans = 65536, .never_ban = nb,
	};
	struct kg_ips_ops ops = { red_ban, red_unban, red_exempt, NULL, r };
	int rc;

	/* greens (both addresses) and the tunnel range, whatever the config */
	ic.n_never_ban = kg_red_never_ban(&r->cfg, nb, KG_RED_NEVER_BAN_MAX);
	rc = kg_ips_new(&r->ips, &ic, &ops);
	if (rc)
		kg_err_set(e, "ips: %s", strerror(-rc));
	return rc;
}

static int install_table(struct red *r, struct kg_err *e)
{
	char *text = malloc(RULES_MAX);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = kg_red_render_rules(&r->cfg, text, RULES_MAX);
	if (rc)
		kg_err_set(e, "rendering the ruleset: %s", strerror(-rc));
	else
		rc = kg_nft_table_replace(r->nft, text, false, e);
	free(text);
	return rc;
}

static int start(struct red *r, struct kg_err *e)
{
	uint16_t groups[2] = { r->cfg.knock_group, r->cfg.scan_group };
	int rc;

	/* NFLOG first: a second instance fails here (groups taken) before it
	 * could replace the running one's table. */
	if ((rc = kg_nft_open(&r->nft, KG_RED_TABLE, e)) ||
	    (rc = kg_nflog_open(&r->nflog, groups, 2, e)))
		return rc;
	r->owns_table = true;
	if ((rc = red_trust_load(r, e)) ||
	    (rc = kg_red_state_init(&r->st, &r->cfg, kg_wall_s())))
		return rc;
	r->st.started_mono = kg_mono_s();
	for (size_t i = 0; i < KG_RED_MAX_GREENS; i++)
		r->st.green_cert[i] = r->green_cert[i];
	if ((rc = install_table(r, e)) ||
	    (!r->no_site && (rc = red_site_up(r, e))) ||
	    (rc = new_ips(r, e)))
		return rc;
	/* Under -P the worker reads NFLOG (monitor.c forks it). */
	if ((!r->privsep &&
	     (rc = kg_evloop_add_fd(r->loop, kg_nflog_fd(r->nflog), on_nflog, r))) ||
	    (rc = kg_evloop_add_timer(r->loop, HOUSEKEEPING_MS, on_timer, r)) ||
	    (rc = kg_evloop_add_timer(r->loop, RED_CUT_MS, on_cut_timer, r)) ||
	    (rc = kg_evloop_add_timer(r->loop, HOP_TICK_MS, on_hop_timer, r))) {
		kg_err_set(e, "event loop: %s", strerror(-rc));
		return rc;
	}
	if (r->privsep && (rc = red_monitor_start(r, e)))
		return rc;
	red_admin_start(r);
	return 0;
}

/* SIGHUP: CA, CRL, greens' certificates and host key again. On error
 * the old trust stays (a broken CRL file must not open anything, nor
 * close red to every green by accident: it is logged loudly). */
static void reload(struct red *r)
{
	struct red t;
	struct kg_err e = { "" };
	int rc;

	kg_notify_reloading();
	memset(&t, 0, sizeof(t));
	t.cfg = r->cfg;
	rc = red_trust_load(&t, &e);
	if (rc) {
		red_trust_free(&t);
		kg_log_event(KG_LOG_ERR, "reload", "result", "error", "reason",
			     "kept_old_trust", "error", e.msg);
	} else {
		red_trust_free(r);
		r->pki = t.pki;
		r->key = t.key;
		for (size_t i = 0; i < KG_RED_MAX_GREENS; i++)
			r->st.green_cert[i] = r->green_cert[i] = t.green_cert[i];
		kg_log_event(KG_LOG_NOTICE, "reload", "result", "ok", "config",
			     r->config_path);
	}
	kg_notify_ready();
}

static void on_signal(void *ctx, int signo)
{
	struct red *r = ctx;

	if (signo == SIGHUP)
		reload(r);
	else
		kg_evloop_stop(r->loop);
}

/* Replaces whatever table this instance has (the full one, or none yet)
 * with the dark one, in one transaction. why: "stop" or "start_failed". */
static void go_dark(struct red *r, const char *why)
{
	char *fwd[1] = { r->cfg.site.interface };
	struct kg_nft_dark d = {
		.table = KG_RED_TABLE, .mgmt = r->cfg.mgmt, .n_mgmt = r->cfg.n_mgmt,
		.dhcp = true, .fwd_drop_ifaces = fwd,
		.n_fwd_drop_ifaces = r->cfg.site.interface[0] ? 1 : 0,
	};
	struct kg_err e = { "" };
	int rc = kg_nft_dark_install(r->nft, &d, &e);

	if (rc)
		kg_log_event(KG_LOG_ERR, "dark", "result", "error", "reason", why,
			     "table", "inet " KG_RED_TABLE, "error", e.msg);
	else
		kg_log_event(KG_LOG_NOTICE, "dark", "result", "installed",
			     "reason", why, "table", "inet " KG_RED_TABLE);
}

static void stop(struct red *r, const char *why)
{
	char n[24];

	kg_notify_stopping();
	red_cut_flush(r);
	/* Dark before the site link goes: no moment without a table. */
	if (r->owns_table)
		go_dark(r, why);
	r->owns_table = false;
	red_admin_stop(r);
	red_monitor_stop(r);
	red_site_down(r);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)r->n_knocks);
	kg_log_event(KG_LOG_NOTICE, "stop", "result", "ok", "knocks", n);
	kg_ips_free(r->ips);
	kg_nflog_close(r->nflog);
	kg_nft_close(r->nft);
	kg_evloop_free(r->loop);
	kg_red_state_free(&r->st);
	red_trust_free(r);
	r->ips = NULL;
	r->nflog = NULL;
	r->nft = NULL;
	r->loop = NULL;
}

int red_run(struct red *r, struct kg_err *e)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	int rc;

	signal(SIGPIPE, SIG_IGN);
	rc = kg_evloop_new(&r->loop);
	if (!rc && (rc = kg_evloop_add_signals(r->loop, sigs, 3, on_signal, r)))
		kg_err_set(e, "signals: %s", strerror(-rc));
	if (!rc)
		rc = start(r, e);
	if (rc) {
		stop(r, "start_failed");
		return rc;
	}
	kg_notify_ready();
	kg_notify_status("table inet %s; grants: 0 live", KG_RED_TABLE);
	kg_log_event(KG_LOG_NOTICE, "ready", "id", r->cfg.id, "table",
		     "inet " KG_RED_TABLE, "config", r->config_path);
	rc = kg_evloop_run(r->loop);
	if (rc)
		kg_log(KG_LOG_ERR, "event loop: %s", strerror(-rc));
	stop(r, "stop");
	if (r->worker_lost) {
		kg_err_set(e, "the unprivileged worker ended (dark table left)");
		return -ECHILD;
	}
	return 0;
}
