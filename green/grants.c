/* SPDX-License-Identifier: MIT */
/*
 * Service grants (steps iv and v): a session's request for a service
 * becomes a signed open knock to the service's red; red's grant becomes,
 * in one netlink batch, the fwd_grants element (client tunnel address .
 * red site address . granted port) with the lease as timeout. Each live
 * grant is renewed once a third of its lease has passed (red answering a
 * renewal it does not know with a fresh grant, maybe at a new port, is how
 * a restarted red comes back); a session's end sends close knocks and
 * removes its elements. If green dies, nothing renews: red ends the grant
 * and green's element expires within one lease.
 */
#include "green.h"
#include "grants.h"
#include "admin.h"
#include "evloop.h"
#include "log.h"
#include "apply.h"
#include "nft.h"
#include "red_io.h"
#include "session.h"
#include "time.h"
#include "wg.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100
#define RENEW_RETRY_MS 1000
/* An open red refused as before_start is asked afresh this often before
 * the client is told no (a live grant is asked while its session lives). */
#define OPEN_REOPENS 5

#define HELD_MAX KG_SK_HELD_MAX

enum grant_state { G_FREE, G_OPENING, G_LIVE };

struct grant {
	enum grant_state st;
	uintptr_t id;                   /* cookie of its knocks */
	uint64_t session;
	char user[KG_SESS_USER_MAX];    /* the session's, for the records */
	char service[KG_SK_ID_MAX + 1];
	struct kg_addr client;
	size_t red;
	uint32_t seq;
	uint16_t port;                  /* 0 until granted */
	uint64_t lease_end_ms;          /* monotonic: red's lease, from the
					   seconds it granted, on receipt */
	uint64_t renew_ms;              /* monotonic: next renewal due */
	bool renewing;                  /* a renew knock is pending */
	bool reopen;                    /* next knock: a fresh open */
	unsigned reopens;               /* fresh opens since the last grant */
	uint64_t asked_ms;              /* when the open was asked */
	/* ports this grant held during its lease, the current one
	 * included (the newest HELD_MAX): fwd_held, for established flows
	 * of a hopping grant */
	uint16_t held[HELD_MAX];
	size_t n_held;
	uint32_t hops;                  /* last hop number red pushed */
};

struct green_grants {
	unsigned lease, max_grants;
	char wg_if[KG_WG_IFNAMSIZ];
	bool wg_forwarding;
	char site_if[KG_WG_IFNAMSIZ];
	struct kg_nft *nft;
	struct green_red_io io;
	struct green_grants_cb cb;
	struct grant *g;
	size_t n;                       /* slots in use or used */
	uintptr_t next_id;
};

/* Leases, renewals and timeouts: the monotonic clock. */
/* The knock's timestamp comes from this clock (red checks it against
 * its window), so the red clients run on wall-clock milliseconds. */
/* Whole seconds left of a lease (0 once over). */
static uint32_t lease_left_s(uint64_t lease_end_ms)
{
	uint64_t now = (uint64_t)kg_mono_ms();

	return lease_end_ms > now ? (uint32_t)((lease_end_ms - now) / 1000) : 0;
}

static struct grant *by_id(struct green_grants *gr, uintptr_t id)
{
	for (size_t i = 0; i < gr->n; i++)
		if (gr->g[i].st != G_FREE && gr->g[i].id == id)
			return &gr->g[i];
	return NULL;
}

static struct grant *by_service(struct green_grants *gr, uint64_t session,
				const char *service)
{
	for (size_t i = 0; i < gr->n; i++)
		if (gr->g[i].st != G_FREE && gr->g[i].session == session &&
		    !strcmp(gr->g[i].service, service))
			return &gr->g[i];
	return NULL;
}

static struct grant *new_slot(struct green_grants *gr)
{
	for (size_t i = 0; i < gr->n; i++)
		if (gr->g[i].st == G_FREE)
			return &gr->g[i];
	if (gr->n == gr->max_grants)
		return NULL;
	return &gr->g[gr->n++];
}

/* The old element out (when red moved the grant), the new one in with
 * the rest of the lease as timeout, in one batch. */
/* Red's site address in the client's family: an IPv6 client's traffic
 * goes to red's IPv6 end (family 0 if red has none). */
static const struct kg_addr *red_site(const struct green_grants *gr,
				      size_t red, const struct kg_addr *client)
{
	const struct green_red *r = &gr->io.peers[red].red;

	return client->family == AF_INET6 ? &r->site_address6 : &r->site_address;
}

static int put_batch(struct green_grants *gr, const struct grant *g,
		     uint16_t old_port, uint16_t port, uint64_t lease_end_ms,
		     struct kg_err *e)
{
	int64_t left = (int64_t)lease_end_ms - (int64_t)(uint64_t)kg_mono_ms();

	return green_apply_grant_put(gr->nft, &g->client,
				     red_site(gr, g->red, &g->client),
				     old_port, port,
				     (uint64_t)(left > 1000 ? left : 1000), e);
}

/* An old element that already timed out (red was silent for a lease) is
 * not an error: then the new one goes in alone. */
static int put_elements(struct green_grants *gr, const struct grant *g,
			uint16_t old_port, uint16_t port, uint64_t lease_end_ms)
{
	struct kg_err e = { "" };
	int r = put_batch(gr, g, old_port, port, lease_end_ms, &e);

	if (r == -ENOENT && old_port) {
		e.msg[0] = '\0';
		r = port ? put_batch(gr, g, 0, port, lease_end_ms, &e) : 0;
	}
	if (r)
		kg_log(KG_LOG_ERR, "fwd_grants: %s", e.msg[0] ? e.msg : strerror(-r));
	return r;
}

static void log_grant(const struct green_grants *gr, const struct grant *g,
		      const char *result, const char *reason, uint64_t ms)
{
	char s[24], c[KG_ADDR_STRLEN], p[8], l[24], t[24];

	snprintf(s, sizeof(s), "%016" PRIx64, g->session);   /* as event=service */
	snprintf(p, sizeof(p), "%u", g->port);
	snprintf(l, sizeof(l), "%" PRIu32, lease_left_s(g->lease_end_ms));
	snprintf(t, sizeof(t), "%" PRIu64, ms);
	green_metrics_grant(result, !strcmp(result, "granted") &&
			    !strcmp(reason, "open"), ms);
	kg_log_event(KG_LOG_NOTICE, "grant", "result", result, "reason", reason,
		     "user", g->user, "session", s, "service", g->service, "client",
		     kg_addr_str(&g->client, c), "red", gr->io.peers[g->red].red.id,
		     "port", p, "lease", l, "ms", t);
}

static int send_knock(struct green_grants *gr, struct grant *g,
		      uint8_t action, bool keep_cookie)
{
	struct kg_sknock k;

	memset(&k, 0, sizeof(k));
	k.action = action;
	k.session = g->session;
	k.seq = ++g->seq;
	k.client = g->client;
	memcpy(k.service, g->service, sizeof(k.service));
	k.lifetime = gr->lease;
	/* stamped with the wall clock (red's window), resent on the
	 * monotonic one */
	k.timestamp = (uint64_t)kg_wall_ms() / 1000;
	return green_red_io_send(&gr->io, g->red, &k, (uint64_t)kg_mono_ms(),
				 keep_cookie ? (void *)g->id : NULL);
}

static void fill_grant(const struct green_grants *gr, const struct grant *g,
		       struct kg_ctrl_grant *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = *red_site(gr, g->red, &g->client);
	out->port = g->port;
	out->lease = lease_left_s(g->lease_end_ms);
}

static void free_grant(struct grant *g)
{
	memset(g, 0, sizeof(*g));
}

static void held_add(struct grant *g, uint16_t port)
{
	for (size_t i = 0; i < g->n_held; i++)
		if (g->held[i] == port)
			return;
	if (g->n_held == HELD_MAX) {
		memmove(g->held, g->held + 1, (HELD_MAX - 1) * sizeof(g->held[0]));
		g->n_held--;
	}
	g->held[g->n_held++] = port;
}

/* The grant's fwd_held elements out (it ended). */
static void held_clear(struct green_grants *gr, struct grant *g)
{
	green_apply_held_del(gr->nft, &g->client,
			     &gr->io.peers[g->red].red.site_address, g->held,
			     g->n_held);
	g->n_held = 0;
}

/* Red granted (open, or a renewal: the same port, or a new one when red
 * lost its state). */
static void granted(struct green_grants *gr, struct grant *g,
		    const struct kg_skanswer *a)
{
	uint16_t old = g->port;
	bool opening = g->st == G_OPENING;
	struct kg_ctrl_grant out;
	uint64_t now = (uint64_t)kg_mono_ms(), left_ms = (uint64_t)a->lease * 1000;

	/* A duration from red: a deadline on this host's monotonic clock
	 * (the answer's flight time makes it end a little early, never
	 * late). */
	if (put_elements(gr, g, old, a->port, now + left_ms)) {
		if (opening) {
			log_grant(gr, g, "refused", "nft", now - g->asked_ms);
			gr->cb.done(gr->cb.ctx, g->session, g->service, NULL,
				    KG_CODE_INTERNAL);
			send_knock(gr, g, KG_SK_CLOSE, false);
			free_grant(g);
		}
		return;
	}
	g->port = a->port;
	g->lease_end_ms = now + left_ms;
	if (opening)
		g->n_held = 0;
	held_add(g, a->port);
	/* a renewal: every held port lives as long as the lease */
	if (!opening && g->n_held > 1) {
		struct kg_err e = { "" };

		if (green_apply_held_put(gr->nft, &g->client,
					 &gr->io.peers[g->red].red.site_address,
					 g->held, g->n_held, left_ms, &e))
			kg_log(KG_LOG_ERR, "fwd_held: %s", e.msg);
	}
	g->st = G_LIVE;
	g->renewing = false;
	g->reopens = 0;
	g->renew_ms = now + left_ms / 3;
	fill_grant(gr, g, &out);
	if (opening) {
		log_grant(gr, g, "granted", "open", now - g->asked_ms);
		gr->cb.done(gr->cb.ctx, g->session, g->service, &out, 0);
	} else if (old != a->port) {
		log_grant(gr, g, "moved", "red_new_port", 0);
		if (gr->cb.moved)
			gr->cb.moved(gr->cb.ctx, g->session, g->service, &out);
	} else {
		log_grant(gr, g, "renewed", "renew", 0);
	}
}

/* Red restarted while a knock stamped before its start was being resent:
 * that knock can never pass, but the next one can. The grant is asked
 * again as a fresh open (new seq, new timestamp): red maps it anew and a
 * new port reaches the client as MOVED (granted()). True if so. */
static bool reopen(struct green_grants *gr, struct grant *g,
		   const struct kg_skanswer *a)
{
	uint64_t now = (uint64_t)kg_mono_ms();

	if (a->reason != KG_SK_R_BEFORE_START ||
	    (g->st == G_OPENING && g->reopens >= OPEN_REOPENS))
		return false;
	/* the first at once; more only if clocks disagree: once a second */
	g->renew_ms = g->reopens++ ? now + RENEW_RETRY_MS : now;
	g->reopen = true;
	g->renewing = false;
	log_grant(gr, g, "reopen", "before_start", 0);
	return true;
}

static void refused(struct green_grants *gr, struct grant *g,
		    const struct kg_skanswer *a)
{
	const char *why = kg_sk_reason_name(a->reason);

	if (reopen(gr, g, a))
		return;
	if (g->st == G_OPENING) {
		log_grant(gr, g, "refused", why, (uint64_t)kg_mono_ms() - g->asked_ms);
		gr->cb.done(gr->cb.ctx, g->session, g->service, NULL,
			    KG_CODE_UNAVAILABLE);
	} else {
		/* Red will not renew: the client loses the service now, not
		 * at the end of a lease red no longer honours. */
		log_grant(gr, g, "ended", why, 0);
		put_elements(gr, g, g->port, 0, 0);
		held_clear(gr, g);
	}
	free_grant(g);
}

static void on_answer(void *ctx, size_t red, const struct kg_skanswer *a,
		      const struct kg_sknock *req, void *cookie)
{
	struct green_grants *gr = ctx;
	struct grant *g = cookie ? by_id(gr, (uintptr_t)cookie) : NULL;

	(void)red;
	/* Close acks, and answers for grants that ended meanwhile. */
	if (!g || req->action == KG_SK_CLOSE)
		return;
	if (a->result == KG_SK_GRANTED)
		granted(gr, g, a);
	else if (a->result == KG_SK_REFUSED)
		refused(gr, g, a);
}

/* Red moved a hopping grant (docs/protocol.md, "Hop"): signed by that
 * red (red_io.c checked it); here it must name a live grant of that red
 * for that client, with a hop number above the last one applied (a copy,
 * a replay or a late one changes nothing). */
static void on_hop(void *ctx, size_t red, const struct kg_skhop *h)
{
	struct green_grants *gr = ctx;
	struct grant *g = by_service(gr, h->session, h->service);
	const char *why = NULL;
	struct kg_ctrl_grant out;
	struct kg_err e = { "" };
	uint64_t now = (uint64_t)kg_mono_ms();
	uint16_t old;
	char c[KG_ADDR_STRLEN];

	if (!g || g->st != G_LIVE)
		why = "no_grant";
	else if (g->red != red)
		why = "wrong_red";
	else if (!kg_addr_eq(&g->client, &h->client))
		why = "wrong_client";
	else if (h->hop <= g->hops)
		why = "stale_hop";
	else if (g->lease_end_ms <= now)
		why = "lease_over";
	if (why) {
		kg_log_event(KG_LOG_NOTICE, "hop", "result", "dropped", "reason",
			     why, "red", gr->io.peers[red].red.id, "service",
			     h->service, "client", kg_addr_str(&h->client, c));
		return;
	}
	/* the port green has now is the one that goes to the overlap (a
	 * lost hop in between changes nothing here) */
	old = g->port;
	if (old != h->port &&
	    green_apply_grant_hop(gr->nft, &g->client,
				  &gr->io.peers[g->red].red.site_address, old,
				  h->port, g->lease_end_ms - now, h->overlap_ms,
				  &e)) {
		kg_log(KG_LOG_ERR, "fwd_grants (hop): %s", e.msg);
		return;
	}
	g->hops = h->hop;
	g->port = h->port;
	/* red's list: the ports with flows on them, so a long connection
	 * is never pushed out of the ring by hops (held_add covers a port
	 * of ours red has not listed: a hop lost in between) */
	{
		uint16_t gone[HELD_MAX];
		size_t n_gone = 0;

		for (size_t i = 0; i < g->n_held; i++) {
			bool kept = g->held[i] == h->port;

			for (size_t j = 0; j < h->n_held && !kept; j++)
				kept = g->held[i] == h->held[j];
			if (!kept)
				gone[n_gone++] = g->held[i];
		}
		g->n_held = 0;
		for (size_t i = 0; i < h->n_held && i < HELD_MAX; i++)
			g->held[g->n_held++] = h->held[i];
		held_add(g, h->port);
		/* no flow on them any more (red's conntrack says): out */
		green_apply_held_del(gr->nft, &g->client,
				     &gr->io.peers[g->red].red.site_address,
				     gone, n_gone);
	}
	log_grant(gr, g, "hopped", "red_hop", 0);
	fill_grant(gr, g, &out);
	if (old != h->port && gr->cb.moved)
		gr->cb.moved(gr->cb.ctx, g->session, g->service, &out);
}

static void on_gave_up(void *ctx, size_t red, void *cookie)
{
	struct green_grants *gr = ctx;
	struct grant *g = cookie ? by_id(gr, (uintptr_t)cookie) : NULL;

	(void)red;
	if (!g)
		return;
	if (g->st == G_OPENING) {
		log_grant(gr, g, "refused", "red_silent", (uint64_t)kg_mono_ms() - g->asked_ms);
		gr->cb.done(gr->cb.ctx, g->session, g->service, NULL,
			    KG_CODE_UNAVAILABLE);
		free_grant(g);
		return;
	}
	/* Keep trying while the session lives; the element expires on its
	 * own at the lease end if red stays silent. */
	g->renewing = false;
	g->renew_ms = (uint64_t)kg_mono_ms() + RENEW_RETRY_MS;
}

/* The renewals due in one tick, per red, go out as batches of up to
 * KG_SK_BATCH_MAX signed once (docs/protocol.md, "Batched renewals"):
 * red verifies one signature per batch, not per grant. */
struct renew_acc {
	struct kg_sk_renew e[KG_SK_BATCH_MAX];
	void *cookie[KG_SK_BATCH_MAX];
	struct grant *g[KG_SK_BATCH_MAX];
	size_t n;
	size_t red;
};

static void renew_flush(struct green_grants *gr, struct renew_acc *a,
			uint64_t now)
{
	int r;

	if (!a->n)
		return;
	r = green_red_io_send_renews(&gr->io, a->red, a->e, a->cookie, a->n,
				     (uint64_t)kg_wall_ms() / 1000, now);
	for (size_t i = 0; i < a->n; i++) {
		if (r == 0)
			a->g[i]->renewing = true;
		else
			a->g[i]->renew_ms = now + RENEW_RETRY_MS;
	}
	a->n = 0;
}

static void renew_add(struct green_grants *gr, struct renew_acc *a,
		      struct grant *g, uint64_t now)
{
	struct kg_sk_renew *e = &a->e[a->n];

	a->red = g->red;
	e->session = g->session;
	e->seq = ++g->seq;
	e->client = g->client;
	memcpy(e->service, g->service, sizeof(e->service));
	e->lifetime = gr->lease;
	a->cookie[a->n] = (void *)g->id;
	a->g[a->n++] = g;
	if (a->n == KG_SK_BATCH_MAX)
		renew_flush(gr, a, now);
}

static void on_tick(void *ctx)
{
	struct green_grants *gr = ctx;
	uint64_t now = (uint64_t)kg_mono_ms();
	struct renew_acc *acc = NULL;

	green_red_io_tick(&gr->io, (uint64_t)kg_mono_ms());
	for (size_t i = 0; i < gr->n; i++) {
		struct grant *g = &gr->g[i];

		/* Any cause of a session's end, seen within one tick. */
		if (g->st != G_FREE && gr->cb.alive &&
		    !gr->cb.alive(gr->cb.ctx, g->session)) {
			green_grants_end_session(gr, g->session);
			continue;
		}
		if (g->st == G_FREE || g->renewing || now < g->renew_ms)
			continue;
		if (g->reopen) {
			if (send_knock(gr, g, KG_SK_OPEN, true) == 0) {
				g->reopen = false;
				g->renewing = true;
			} else {
				g->renew_ms = now + RENEW_RETRY_MS;
			}
			continue;
		}
		if (g->st != G_LIVE)
			continue;
		if (!acc && !(acc = calloc(gr->io.n, sizeof(*acc)))) {
			g->renew_ms = now + RENEW_RETRY_MS;
			continue;
		}
		renew_add(gr, &acc[g->red], g, now);
	}
	for (size_t r = 0; acc && r < gr->io.n; r++)
		renew_flush(gr, &acc[r], now);
	free(acc);
}

int green_grants_open(struct green_grants *gr, uint64_t session,
		      const char *user, const struct kg_addr *client,
		      const char *service, const char *red_id,
		      struct kg_ctrl_grant *out)
{
	struct grant *g = by_service(gr, session, service);
	ssize_t red = green_red_io_find(&gr->io, red_id);
	int r;

	if (g && g->st == G_LIVE) {
		fill_grant(gr, g, out);
		return 0;
	}
	if (g)
		return -EALREADY;
	if (red < 0 || strlen(service) > KG_SK_ID_MAX ||
	    strlen(user) >= sizeof(g->user) ||
	    red_site(gr, (size_t)red, client)->family != client->family)
		return -ENOENT;
	if (!(g = new_slot(gr)))
		return -ENOSPC;
	if (!gr->wg_forwarding && gr->wg_if[0])
		gr->wg_forwarding = green_site_forwarding(gr->wg_if) == 0;
	memset(g, 0, sizeof(*g));
	g->st = G_OPENING;
	g->id = ++gr->next_id;
	g->session = session;
	memcpy(g->user, user, strlen(user) + 1);
	memcpy(g->service, service, strlen(service) + 1);
	g->client = *client;
	g->red = (size_t)red;
	g->asked_ms = (uint64_t)kg_mono_ms();
	if ((r = send_knock(gr, g, KG_SK_OPEN, true))) {
		free_grant(g);
		return r;
	}
	return -EINPROGRESS;
}

void green_grants_end_session(struct green_grants *gr, uint64_t session)
{
	for (size_t i = 0; i < gr->n; i++) {
		struct grant *g = &gr->g[i];

		if (g->st == G_FREE || g->session != session)
			continue;
		/* Also for an open still waiting: red may grant it before it
		 * sees the close, and the close (a later seq) undoes it. */
		send_knock(gr, g, KG_SK_CLOSE, false);
		if (g->port)
			put_elements(gr, g, g->port, 0, 0);
		held_clear(gr, g);
		log_grant(gr, g, "closed", "session_end", 0);
		free_grant(g);
	}
}

void green_grants_restore(struct green_grants *gr)
{
	for (size_t i = 0; gr && i < gr->n; i++) {
		struct grant *g = &gr->g[i];
		struct kg_err e = { "" };
		int64_t left = (int64_t)g->lease_end_ms - kg_mono_ms();

		if (g->st != G_LIVE)
			continue;
		put_elements(gr, g, 0, g->port, g->lease_end_ms);
		if (g->n_held > 1 && left > 0)
			green_apply_held_put(gr->nft, &g->client,
					     &gr->io.peers[g->red].red.site_address,
					     g->held, g->n_held, (uint64_t)left, &e);
	}
}

size_t green_grants_count(const struct green_grants *gr)
{
	size_t n = 0;

	for (size_t i = 0; gr && i < gr->n; i++)
		n += gr->g[i].st != G_FREE;
	return n;
}

static void end_all(struct green_grants *gr)
{
	for (size_t i = 0; i < gr->n; i++)
		if (gr->g[i].st != G_FREE)
			green_grants_end_session(gr, gr->g[i].session);
}

int green_grants_new(struct green_grants **out,
		     const struct green_site_conf *s, const char *client_ifname,
		     struct kg_nft *nft, struct kg_evloop *loop,
		     const struct green_grants_cb *cb, struct kg_err *e)
{
	struct green_grants *gr = calloc(1, sizeof(*gr));
	int r;

	*out = NULL;
	if (!gr || !(gr->g = calloc(s->max_grants, sizeof(*gr->g)))) {
		free(gr);
		return -ENOMEM;
	}
	gr->lease = s->lease;
	gr->max_grants = s->max_grants;
	gr->nft = nft;
	gr->cb = *cb;
	snprintf(gr->wg_if, sizeof(gr->wg_if), "%s", client_ifname ? client_ifname : "");
	gr->io.fd = -1;
	gr->io.ctx = gr;
	gr->io.on_answer = on_answer;
	gr->io.on_gave_up = on_gave_up;
	gr->io.on_hop = on_hop;
	/* The link first: the answer socket binds its address. */
	if ((r = green_site_up(s, e)))
		goto fail;
	snprintf(gr->site_if, sizeof(gr->site_if), "%s", s->interface);
	if ((r = green_red_io_open(&gr->io, s, loop, e)))
		goto fail;
	if ((r = kg_evloop_add_timer(loop, TICK_MS, on_tick, gr))) {
		kg_err_set(e, "event loop: %s", strerror(-r));
		goto fail;
	}
	*out = gr;
	return 0;
fail:
	green_grants_free(gr);
	return r;
}

void green_grants_free(struct green_grants *gr)
{
	if (!gr)
		return;
	if (gr->io.peers)
		end_all(gr);
	if (gr->site_if[0])
		green_site_down(gr->site_if);
	green_red_io_close(&gr->io);
	free(gr->g);
	free(gr);
}

void green_grants_forget(struct green_grants *gr)
{
	if (!gr)
		return;
	/* Memory and this process's copies of the fds only: no grant ended,
	 * no site link taken down, the parent's epoll set untouched. */
	gr->io.loop = NULL;
	green_red_io_close(&gr->io);
	free(gr->g);
	free(gr);
}

void green_grants_foreach(const struct green_grants *gr, uint64_t session,
			  green_grant_cb cb, void *ctx)
{
	for (size_t i = 0; gr && i < gr->n; i++) {
		const struct grant *g = &gr->g[i];

		if (g->st != G_FREE && g->session == session)
			cb(ctx, g->service, gr->io.peers[g->red].red.id,
			   g->st == G_LIVE ? g->port : 0,
			   g->st == G_LIVE ? lease_left_s(g->lease_end_ms) : 0);
	}
}
