/* SPDX-License-Identifier: MIT */
/*
 * The gate's life inside the daemon: start (WireGuard interface, users,
 * PKI, session table, control server, watches) after the table is in and
 * before READY; reload on SIGHUP; stop (peers and interface go, so no
 * opening outlives green).
 */
#include "gate.h"
#include "ctrl_glue.h"
#include "sessions_run.h"
#include "knock_ids.h"
#include "wg_peers.h"
#include "revoke.h"
#include "bundle_load.h"
#include "ctrl_server.h"
#include "evloop.h"
#include "log.h"
#include "pki.h"
#include "replay.h"
#include "seq.h"
#include "time.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100

static void on_tick(void *ctx)
{
	struct green_gate *gt = ctx;

	gate_ctrl_tick(gt);
	gate_knock_ids_sync(gt, false);
	gate_watch_tick(gt);
	gate_housekeeping(gt);
}

static int knock_start(struct green_gate *gt, const struct green_gate_conf *gc,
		       struct kg_err *e)
{
	uint64_t id_base;
	int r;

	if ((r = kg_rcache_new(gc->replay_cache, KG_RCACHE_KEY_LEN,
			       &gt->replay))) {
		kg_err_set(e, "replay cache: %s", strerror(-r));
		return r;
	}
	gt->start_ms = (uint64_t)kg_wall_ms();
	r = kg_knock_checker_init(&gt->checker, gt->wg_pub, gc->window_s,
				  gt->start_ms, &gt->users, gt->replay);
	/* before_start follows wall-clock steps (knock_check.c) */
	gt->checker.start_mono_ms = kg_mono_ms();
	if (!r && gc->sequence)
		r = kg_seq_new(4096, gc->sequence_timeout_ms, KG_KNOCK_SLOT_DEFAULT,
			       &gt->seq);
	if (!r && (r = kg_random(&id_base, sizeof(id_base))) == 0)
		r = kg_sess_init(&gt->sess, gc->sess.max_clients, &gc->sess.lim,
				 id_base >> 1, NULL, NULL);
	if (!r) {
		kg_sess_set_src_seen(&gt->sess, gate_src_seen, gt);
		kg_sess_set_shard(&gt->sess, gate_shard_hook, gt);
		gate_liveness_init(gt);
	}
	if (r)
		kg_err_set(e, "knock/session state: %s", strerror(-r));
	return r;
}

int green_gate_start(struct green *g, struct kg_err *e)
{
	const struct green_gate_conf *gc = g->conf.gate;
	struct green_gate *gt;
	int r;

	if (!gc) {
		kg_err_set(e, "internal: no gate config");
		return -EINVAL;
	}
	if (!gc->enabled) {
		kg_log_event(KG_LOG_WARNING, "gate", "result", "off",
			     "reason", "no_knock_section");
		return 0;
	}
	gt = calloc(1, sizeof(*gt));
	if (!gt)
		return -ENOMEM;
	gt->g = g;
	gt->listen_fd = gt->conn_epfd = gt->inotify_fd = -1;
	kg_users_init(&gt->users, KG_KNOCK_SLOT_DEFAULT);
	kg_policy_init(&gt->policy);
	g->gate = gt;
	if ((r = gate_wg_up(gt, &g->conf, e)) || (r = knock_start(gt, gc, e)) ||
	    (r = gate_pki_load(gt, e)) || (r = gate_users_load(gt, e)) ||
	    (r = gate_ctrl_start(gt, e)))
		return r;
	gate_watch_start(gt);
	/* a bundle that came while green was down (its refusal is logged;
	 * the files already in place stay) */
	gate_bundle_check(gt, "start");
	gt->last_renew_ms = gt->last_poll_ms = gate_now_ms();
	r = kg_evloop_add_timer(g->loop, TICK_MS, on_tick, gt);
	if (r)
		kg_err_set(e, "gate timer: %s", strerror(-r));
	return r;
}

void green_gate_reload(struct green *g, bool table_replaced)
{
	struct green_gate *gt = g->gate;

	if (!gt)
		return;
	/* A new table starts with empty sets: put every session's back. */
	if (table_replaced) {
		gate_renew(gt, true);
		gt->n_seq_set = 0;   /* the new seq_ports set is empty */
		gate_knock_ids_reset(gt);   /* and so is knock_ids */
	}
	gate_revoke_reload(gt, "sighup");
}

void green_gate_stop(struct green *g)
{
	struct green_gate *gt = g->gate;

	if (!gt)
		return;
	gate_watch_stop(gt);
	gate_ctrl_stop(gt);
	gate_opens_end(gt);
	free(gt->oq);
	gt->oq = NULL;
	gate_peers_flush(gt, true);
	/* Removing the interface removes every peer with it. */
	gate_wg_down(gt);
	gate_renew_free(gt);
	kg_sess_free(&gt->sess);
	kg_seq_free(gt->seq);
	kg_rcache_free(gt->replay);
	kg_users_free(&gt->users);
	kg_policy_free(&gt->policy);
	kg_pki_free(gt->pki);
	gate_certs_free(gt);
	free(gt->seq_set);
	gate_knock_ids_free(gt);
	kg_wipe(gt->wg_priv, sizeof(gt->wg_priv));
	free(gt);
	g->gate = NULL;
}

/* A /32 (or /128) prefix of one address, for kg_ips_key_hits. */
static bool hits_addr(const struct kg_addr *a, const struct kg_addr *src)
{
	struct kg_prefix p = { .a = *a, .len = a->family == AF_INET6 ? 128 : 32 };

	return kg_ips_key_hits(&p, src);
}

/* Green's own infrastructure: every red (inside and site-link address),
 * the site link's prefix, the tunnel range. A source forged from any of
 * them (or, over IPv6, from another address of their /64) must never get
 * them banned: the site and every session would go with it. */
static bool infrastructure(const struct green_conf *c, const struct kg_addr *src)
{
	struct kg_prefix tun;

	green_tunnel_prefix(c, &tun);
	if (kg_ips_key_hits(&tun, src))
		return true;
	if (c->tunnel_prefix6.a.family == AF_INET6 &&
	    kg_ips_key_hits(&c->tunnel_prefix6, src))
		return true;
	if (c->site.enabled && kg_ips_key_hits(&c->site.address, src))
		return true;
	if (c->site.address6.a.family == AF_INET6 &&
	    kg_ips_key_hits(&c->site.address6, src))
		return true;
	for (size_t i = 0; i < c->site.n_reds; i++)
		if (hits_addr(&c->site.reds[i].address, src) ||
		    hits_addr(&c->site.reds[i].site_address, src) ||
		    (c->site.reds[i].site_address6.family == AF_INET6 &&
		     hits_addr(&c->site.reds[i].site_address6, src)))
			return true;
	return false;
}

bool green_gate_exempt(struct green *g, const struct kg_addr *src)
{
	struct green_gate *gt = g->gate;
	struct kg_addr key;

	if (infrastructure(&g->conf, src))
		return true;
	if (!gt)
		return false;
	/* Any source of any session inside src's ban key (a whole /64 for
	 * IPv6): junk from a neighbour address must not cut the session. */
	kg_addr_ban_key(src, &key);
	if (kg_sess_ban_key_in_use(&gt->sess, &key))
		return true;
	return false;
}
