/* SPDX-License-Identifier: MIT */
/*
 * Applies the session table's decisions (session.c, pure) to nftables and
 * WireGuard. Elements per session:
 *   wg_open4/6     each source address . the WireGuard port of the
 *                  session's shard (that port only, for that source)
 *   peers_pending  the tunnel address until the card proof, then
 *   peers_live     the tunnel address (control port, later grants)
 * all with a timeout of one lease; live sessions are renewed every third
 * of a lease, so if green dies every opening lapses within one lease.
 *
 * Liveness: nothing reads every peer on a tick. A live session's timer
 * (session.c) fires when it would be silent or idle; then, for that one
 * session, the kernel is asked when its peer last sent through the tunnel
 * (tun_seen4/6); if not within a lease, whether any of its sources sent
 * WireGuard packets since it was last heard (wg_seen4/6: handshakes,
 * keepalives); only if they did is the peer dump read (whole, once per
 * POLL_MS at most, every peer's counters fed to the table), since only
 * WireGuard knows which peer those packets were for. A session ends
 * silent only on what was read: absent from both sets, its sources
 * quiet since it was last heard, or a dump showing nothing new.
 */
#include "gate.h"
#include "grants.h"
#include "sessions_run.h"
#include "apply.h"
#include "ctrl_glue.h"
#include "ctrl_server.h"
#include "wg_peers.h"
#include "log.h"
#include "time.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 2000

int64_t gate_now_ms(void)
{
	return kg_mono_ms();
}

uint64_t gate_lease_ms(const struct green_gate *gt)
{
	return (uint64_t)gt->sess.lim.handshake_timeout * 1000;
}

bool gate_src_seen(void *ctx, const struct kg_addr *src)
{
	struct green_gate *gt = ctx;

	return green_apply_src_seen(gt->g->nft, src);
}

/* us: green's time from the NFLOG message to everything in place;
 * nft_us: to the nft batch acked (the elements present). */
static void log_session(const char *result, const struct kg_session *s,
			const char *reason, const struct kg_addr *src, uint64_t us,
			uint64_t nft_us)
{
	char id[24], a[KG_ADDR_STRLEN], t[KG_ADDR_STRLEN], u[24], n[24];

	/* hex, as in the auth, ctrl, service and grant records */
	snprintf(id, sizeof(id), "%016llx", (unsigned long long)s->id);
	snprintf(u, sizeof(u), "%llu", (unsigned long long)us);
	snprintf(n, sizeof(n), "%llu", (unsigned long long)nft_us);
	kg_log_event(KG_LOG_NOTICE, "session", "result", result,
		     "reason", reason, "user", s->user, "session", id,
		     "src", src ? kg_addr_str(src, a) : "-",
		     "tunnel", kg_addr_str(&s->tunnel, t), "us", u, "nft_us", n);
}

static uint64_t elapsed_us(uint64_t t0_ns)
{
	return (kg_mono_ns() - t0_ns) / 1000;
}

/* The device of the session with IPv4 tunnel address tun. */
static const char *peer_if(const struct green_gate *gt, const struct kg_addr *tun)
{
	return gate_shard_if(gt, gate_shard(gt, tun));
}

/* The WireGuard port s's sources are opened to. */
static uint16_t sess_port(const struct green_gate *gt, const struct kg_session *s)
{
	return gate_shard_port(gt, s->shard);
}

/* Forgets a deferred removal of key on shard (it is a peer there again),
 * or removes every peer whose grace is over (key NULL), one set
 * operation a shard. */
static void dying_sweep(struct green_gate *gt, const uint8_t *key,
			unsigned shard, int64_t now)
{
	uint8_t (*due)[32] = key ? NULL : calloc(gt->n_dying + 1, 32);
	unsigned *dsh = key ? NULL : calloc(gt->n_dying + 1, sizeof(*dsh));
	size_t j = 0, n_due = 0;
	int r;

	for (size_t i = 0; i < gt->n_dying; i++) {
		struct gate_dying *d = &gt->dying[i];

		if (key ? d->shard == shard && kg_memeq(d->key, key, 32) :
		    d->due_ms <= now) {
			if (!key && due && dsh) {
				dsh[n_due] = d->shard;
				memcpy(due[n_due++], d->key, 32);
			} else if (!key && (r = green_apply_peer_del(
						gate_shard_if(gt, d->shard), d->key))) {
				kg_log(KG_LOG_ERR, "session end: removing peer: %s",
				       strerror(-r));
			}
			continue;
		}
		gt->dying[j++] = *d;
	}
	gt->n_dying = j;
	if (n_due && (r = gate_peers_del(gt, due, dsh, n_due)))
		kg_log(KG_LOG_ERR, "session end: removing peers: %s", strerror(-r));
	free(due);
	free(dsh);
}

static void peer_del_later(struct green_gate *gt, const uint8_t key[32],
			   unsigned shard)
{
	struct gate_dying *v = realloc(gt->dying, (gt->n_dying + 1) * sizeof(*v));
	int r;

	if (!v) {
		/* No memory for the grace: remove at once. */
		if ((r = green_apply_peer_del(gate_shard_if(gt, shard), key)))
			kg_log(KG_LOG_ERR, "session end: removing peer: %s", strerror(-r));
		return;
	}
	gt->dying = v;
	memcpy(v[gt->n_dying].key, key, 32);
	v[gt->n_dying].shard = shard;
	v[gt->n_dying++].due_ms = gate_now_ms() + GATE_PEER_GRACE_MS;
}

/* NEW or REPLACED: nft batch, then the peer; undo the batch if the peer
 * cannot be added, and drop the session: nothing half made. */
static int open_new(struct green_gate *gt, struct kg_session *s,
		    const struct kg_addr *src, const struct kg_addr *tun6,
		    uint64_t t0_ns, uint64_t *nft_us)
{
	struct kg_addr tun = s->tunnel;
	uint64_t id = s->id;
	unsigned shard = s->shard;
	uint16_t port = sess_port(gt, s);
	int r = green_apply_src_open(gt->g->nft, src, port, &tun, false,
				     gate_lease_ms(gt));

	*nft_us = elapsed_us(t0_ns);
	/* A key whose old session just ended is a peer again: keep it. */
	dying_sweep(gt, s->peer_key, gate_shard(gt, &tun), 0);
	if (!r) {
		r = green_apply_peer_add(peer_if(gt, &tun), s->peer_key, &tun, tun6);
		if (r) {
			kg_log(KG_LOG_ERR, "knock: adding peer: %s", strerror(-r));
			if (!kg_sess_src_in_use(&gt->sess, src, shard, id))
				green_apply_src_close(gt->g->nft, src, port);
			green_apply_tunnel_close(gt->g->nft, &tun, false);
		}
	}
	if (r)
		kg_sess_end(&gt->sess, id, KG_END_CLOSE, NULL);
	return r;
}

/* A new session whose openings wait in gt->opens. */
struct gate_open_q {
	uint64_t id;
	struct kg_addr src, tun, tun6;
	unsigned shard;               /* the session's (kg_session.shard) */
	bool has6;
	uint8_t key[32];
	uint64_t t0_ns;
};

void gate_opens_begin(struct green_gate *gt)
{
	if (gt->opens)
		return;
	if (!gt->oq && !(gt->oq = calloc(GATE_OPENS_MAX, sizeof(*gt->oq))))
		return;
	gt->opens = green_apply_opens_new(gt->g->nft);
	gt->n_oq = 0;
}

/* The batch is in (r == 0) or refused whole (r < 0): each queued session
 * gets its peer, or ends with nothing left open. */
static void opens_apply(struct green_gate *gt, int r)
{
	uint8_t (*keys)[32] = NULL;
	struct kg_addr *tun = NULL, *tun6 = NULL;
	size_t n = 0;
	int all = -ENOMEM;
	unsigned ns = gate_n_shards(gt);

	/* Every live entry's peer in one set operation; if that fails (or
	 * no memory for it), one by one, so each knock gets its own answer. */
	if (!r && gt->n_oq && (keys = calloc(gt->n_oq, sizeof(*keys))) &&
	    (tun = calloc(gt->n_oq, sizeof(*tun))) &&
	    (tun6 = calloc(gt->n_oq, sizeof(*tun6)))) {
		all = 0;
		/* one set operation a shard */
		for (unsigned k = 0; k < ns; k++) {
			int rk;

			n = 0;
			for (size_t i = 0; i < gt->n_oq; i++) {
				const struct gate_open_q *q = &gt->oq[i];

				if (gate_shard(gt, &q->tun) != k ||
				    !kg_sess_by_id(&gt->sess, q->id))
					continue;
				/* A key whose old session just ended is a peer again. */
				dying_sweep(gt, q->key, k, 0);
				memcpy(keys[n], q->key, 32);
				tun[n] = q->tun;
				memset(&tun6[n], 0, sizeof(tun6[n]));
				if (q->has6)
					tun6[n] = q->tun6;
				n++;
			}
			rk = n ? green_apply_peers_add(gate_shard_if(gt, k), keys,
						       tun, tun6, n) : 0;
			if (rk && !all)
				all = rk;
		}
	}
	free(keys);
	free(tun);
	free(tun6);
	for (size_t i = 0; i < gt->n_oq; i++) {
		const struct gate_open_q *q = &gt->oq[i];
		struct kg_session *s = kg_sess_by_id(&gt->sess, q->id);
		uint64_t nft_us = elapsed_us(q->t0_ns);
		int pr = r;

		if (s && !pr && all) {
			dying_sweep(gt, q->key, gate_shard(gt, &q->tun), 0);
			pr = green_apply_peer_add(peer_if(gt, &q->tun), q->key, &q->tun,
						  q->has6 ? &q->tun6 : NULL);
			if (pr)
				kg_log(KG_LOG_ERR, "knock: adding peer: %s", strerror(-pr));
		}
		if (s && !pr) {
			log_session("pending", s, kg_knock_action_name(KG_KNOCK_NEW),
				    &q->src, elapsed_us(q->t0_ns), nft_us);
			continue;
		}
		/* Failed, or gone meanwhile: the session ends, and what the
		 * batch opened for it goes unless another session holds it. */
		if (s)
			kg_sess_end(&gt->sess, q->id, KG_END_CLOSE, NULL);
		if (!r && !kg_sess_src_in_use(&gt->sess, &q->src, q->shard, q->id))
			green_apply_src_close(gt->g->nft, &q->src,
					      gate_shard_port(gt, q->shard));
		if (!r && !kg_sess_by_tunnel(&gt->sess, &q->tun))
			green_apply_tunnel_close(gt->g->nft, &q->tun, false);
	}
	gt->n_oq = 0;
}

void gate_opens_end(struct green_gate *gt)
{
	int r;

	if (!gt->opens)
		return;
	r = green_apply_opens_send(gt->opens);
	gt->opens = NULL;
	opens_apply(gt, r);
}

/* Sends the queued openings now (and goes on queueing): full, or the
 * knock at hand concerns a queued session, whose elements and peer must
 * be in place before it is applied. */
static void opens_flush_if(struct green_gate *gt, const struct kg_addr *tun,
			   const uint8_t key[32], const struct kg_addr *src)
{
	bool hit = gt->n_oq >= GATE_OPENS_MAX;

	for (size_t i = 0; !hit && i < gt->n_oq; i++)
		hit = kg_addr_eq(&gt->oq[i].tun, tun) ||
		      kg_addr_eq(&gt->oq[i].src, src) ||
		      !memcmp(gt->oq[i].key, key, 32);
	if (!hit)
		return;
	gate_opens_end(gt);
	gate_opens_begin(gt);
}

/* Queues a NEW session's openings; false if it must go alone. */
static bool open_queue(struct green_gate *gt, const struct kg_session *s,
		       const struct kg_addr *src, const struct kg_addr *tun6,
		       uint64_t t0_ns)
{
	struct gate_open_q *q;

	if (!gt->opens || gt->n_oq >= GATE_OPENS_MAX)
		return false;
	if (green_apply_opens_add(gt->opens, src, sess_port(gt, s), &s->tunnel,
				  false, gate_lease_ms(gt))) {
		/* Out of memory: the batch may hold part of this one; what
		 * is queued goes now, this knock alone after it. */
		gate_opens_end(gt);
		return false;
	}
	q = &gt->oq[gt->n_oq++];
	memset(q, 0, sizeof(*q));
	q->id = s->id;
	q->src = *src;
	q->tun = s->tunnel;
	q->shard = s->shard;
	if ((q->has6 = tun6 != NULL))
		q->tun6 = *tun6;
	memcpy(q->key, s->peer_key, 32);
	q->t0_ns = t0_ns;
	return true;
}

int gate_open(struct green_gate *gt, struct kg_user *u, const uint8_t key[32],
	      const struct kg_addr *src, uint64_t t0_ns)
{
	enum kg_knock_action act;
	struct kg_session *s = NULL, old;
	uint64_t nft_us = 0;
	int r;

	if (gt->opens)
		opens_flush_if(gt, &u->tunnel, key, src);
	r = kg_sess_knock(&gt->sess, u->name, &u->tunnel, key, src, &act, &s, &old);
	if (r) {
		char a[KG_ADDR_STRLEN], id[24] = "";
		const struct kg_session *cur = kg_sess_by_tunnel(&gt->sess, &u->tunnel);

		/* sources_busy: every source slot held by a source that is new
		 * or still sending WireGuard packets (a stolen knock key from
		 * new places cannot push the real user out). */
		if (r == -EBUSY && cur)
			snprintf(id, sizeof(id), "%016llx", (unsigned long long)cur->id);
		kg_log_event(KG_LOG_WARNING, "session", "result", "refused",
			     "reason", r == -ENOSPC ? "table_full" :
			     r == -EBUSY ? "sources_busy" : "internal",
			     "user", u->name, "src", kg_addr_str(src, a),
			     "session", id[0] ? id : NULL);
		return r;
	}
	if (act == KG_KNOCK_REFUSED) {
		char a[KG_ADDR_STRLEN], t[KG_ADDR_STRLEN], id[24] = "";
		const struct kg_session *live = kg_sess_by_tunnel(&gt->sess, &u->tunnel);

		/* The live session this knock may not displace. */
		if (live)
			snprintf(id, sizeof(id), "%016llx", (unsigned long long)live->id);
		kg_log_event(KG_LOG_NOTICE, "session", "result", "refused",
			     "reason", "tunnel_in_use", "user", u->name,
			     "src", kg_addr_str(src, a), "session", id[0] ? id : NULL,
			     "tunnel", kg_addr_str(&u->tunnel, t));
		return -EBUSY;
	}
	if (act == KG_KNOCK_NEW &&
	    open_queue(gt, s, src, gate_tunnel6(gt, u), t0_ns))
		return 0;
	if (act == KG_KNOCK_NEW || act == KG_KNOCK_REPLACED) {
		/* The new peer first (it takes the tunnel address over from the
		 * old one), then what only the old session held goes. */
		r = open_new(gt, s, src, gate_tunnel6(gt, u), t0_ns, &nft_us);
		if (!r)
			log_session("pending", s, kg_knock_action_name(act), src,
				    elapsed_us(t0_ns), nft_us);
		if (act == KG_KNOCK_REPLACED) {
			gate_ctrl_end_session(gt, old.id, KG_CODE_CLOSE);
			gate_session_gone(gt, &old, false);
		}
		return r;
	}
	/* SAME, ADD_SOURCE or MOVE_SOURCE (roaming): the source's opening,
	 * renewed; a silent source that lost its slot loses its opening. */
	r = green_apply_src_open(gt->g->nft, src, sess_port(gt, s),
				 s->state == KG_SESS_LIVE ? &s->tunnel : NULL,
				 s->state == KG_SESS_LIVE, gate_lease_ms(gt));
	nft_us = elapsed_us(t0_ns);
	if (act == KG_KNOCK_MOVE_SOURCE) {
		char a[KG_ADDR_STRLEN], id[24];

		if (!kg_sess_src_in_use(&gt->sess, &old.src[0], old.shard, 0))
			green_apply_src_close(gt->g->nft, &old.src[0],
					      sess_port(gt, &old));
		snprintf(id, sizeof(id), "%016llx", (unsigned long long)s->id);
		kg_log_event(KG_LOG_NOTICE, "session", "result", "source_freed",
			     "reason", "silent_for_a_lease", "user", s->user,
			     "session", id, "src", kg_addr_str(&old.src[0], a));
	}
	if (!r)
		log_session(s->state == KG_SESS_LIVE ? "live" : "pending", s,
			    kg_knock_action_name(act), src, nft_us, nft_us);
	return r;
}

void gate_peers_flush(struct green_gate *gt, bool all)
{
	dying_sweep(gt, NULL, 0, all ? INT64_MAX : gate_now_ms());
	if (all) {
		free(gt->dying);
		gt->dying = NULL;
	}
}

/* Where an ended session's peer goes: now, after the grace, or into the
 * batch of the current expiry pass (removed in one set operation after
 * it; its openings are closed at once either way). */
struct peer_batch {
	uint8_t (*keys)[32];
	unsigned *shard;                     /* keys[i]'s device */
	size_t n, cap;
	struct green_apply_closes *closes;   /* the openings, likewise */
};

static void session_gone(struct green_gate *gt, const struct kg_session *s,
			 bool grace, struct peer_batch *pb)
{
	const struct kg_session *now;
	struct kg_addr srcs[KG_SESS_MAX_SRC];
	size_t n_src = 0;
	int r;

	/* Its grants go in this same step (close knocks, fwd_grants
	 * elements out), not at the grants' next tick: a replaced session's
	 * forwarding must not outlive its replacement by a moment. */
	if (gt->g->grants)
		green_grants_end_session(gt->g->grants, s->id);
	if (grace) {
		peer_del_later(gt, s->peer_key, gate_shard(gt, &s->tunnel));
	} else if (pb && pb->n < pb->cap) {
		pb->shard[pb->n] = gate_shard(gt, &s->tunnel);
		memcpy(pb->keys[pb->n++], s->peer_key, 32);
	} else if ((r = green_apply_peer_del(peer_if(gt, &s->tunnel), s->peer_key))) {
		kg_log(KG_LOG_ERR, "session end: removing peer: %s", strerror(-r));
	}
	/* A replacing (pending) session may hold the tunnel address already.
	 * Everything the session held goes in one batch. */
	now = kg_sess_by_tunnel(&gt->sess, &s->tunnel);
	for (size_t i = 0; i < s->n_src; i++)
		if (!kg_sess_src_in_use(&gt->sess, &s->src[i], s->shard, s->id))
			srcs[n_src++] = s->src[i];
	if (pb && pb->closes)
		green_apply_closes_add(pb->closes, &s->tunnel, !now,
				       !now || now->state != KG_SESS_LIVE, srcs, n_src,
				       sess_port(gt, s));
	else
		green_apply_session_close(gt->g->nft, &s->tunnel, !now,
					  !now || now->state != KG_SESS_LIVE, srcs, n_src,
					  sess_port(gt, s));
	log_session("ended", s, kg_sess_end_name(s->end),
		    s->n_src ? &s->src[0] : NULL, 0, 0);
}

void gate_session_gone(struct green_gate *gt, const struct kg_session *s,
		       bool grace)
{
	session_gone(gt, s, grace, NULL);
}

static uint16_t end_code(enum kg_sess_end why)
{
	switch (why) {
	case KG_END_IDLE: return KG_CODE_IDLE;
	case KG_END_LIFETIME: return KG_CODE_LIFETIME;
	case KG_END_PEER_SILENT: return KG_CODE_PEER_SILENT;
	case KG_END_REPROOF_MISSED: return KG_CODE_REPROOF_MISSED;
	case KG_END_REVOKED: return KG_CODE_REVOKED;
	case KG_END_REMOVED: return KG_CODE_REMOVED;
	case KG_END_AUTH_TIMEOUT: return KG_CODE_TIMEOUT;
	case KG_END_AUTH_FAILED: return KG_CODE_AUTH_FAILED;
	default: return KG_CODE_CLOSE;
	}
}

void gate_session_end(struct green_gate *gt, uint64_t id, enum kg_sess_end why,
		      bool tell_client)
{
	struct kg_session s;

	if (kg_sess_end(&gt->sess, id, why, &s))
		return;
	if (tell_client)
		gate_ctrl_end_session(gt, id, end_code(why));
	/* Every end was just written to the connection (green's CLOSE or
	 * the control server's refusal): the peer gets the grace so that it
	 * still leaves through the tunnel. */
	gate_session_gone(gt, &s, true);
}

int gate_make_live(struct green_gate *gt, const struct kg_session *s)
{
	int r = green_apply_make_live(gt->g->nft, &s->tunnel, s->src, s->n_src,
				      sess_port(gt, s), gate_lease_ms(gt));

	if (r)
		return r;
	log_session("live", s, "card_proved", s->n_src ? &s->src[0] : NULL, 0, 0);
	return 0;
}

/* Renews the elements of the sessions in ids[0 .. n) that still exist
 * (live only unless all), in batches (apply.c). */
static void renew_ids(struct green_gate *gt, const uint64_t *ids, size_t n,
		      bool all)
{
	struct green_apply_lease *v = calloc(n ? n : 1, sizeof(*v));
	size_t k = 0;

	if (!v) {
		kg_log(KG_LOG_ERR, "renewing session elements: out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const struct kg_session *s = kg_sess_by_id(&gt->sess, ids[i]);

		if (!s || (s->state != KG_SESS_LIVE && !all))
			continue;
		v[k++] = (struct green_apply_lease){ .tunnel = s->tunnel,
			.live = s->state == KG_SESS_LIVE, .src = s->src,
			.n_src = s->n_src, .port = sess_port(gt, s) };
	}
	if (k)
		green_apply_renew(gt->g->nft, v, k, gate_lease_ms(gt));
	free(v);
}

/* The ids of every session (live only unless all); *n set. NULL if none
 * or no memory (logged). */
static uint64_t *snapshot(struct green_gate *gt, bool all, size_t *n)
{
	uint64_t *ids = malloc((gt->sess.n ? gt->sess.n : 1) * sizeof(*ids));

	*n = 0;
	if (!ids) {
		kg_log(KG_LOG_ERR, "renewing session elements: out of memory");
		return NULL;
	}
	for (size_t i = 0; i < gt->sess.n; i++)
		if (all || gt->sess.s[i].state == KG_SESS_LIVE)
			ids[(*n)++] = gt->sess.s[i].id;
	return ids;
}

/* all: every session's elements at once (after a table replace: the new
 * sets are empty). Else a renewal round starts: the live sessions of now
 * are renewed a slice a tick (gate_housekeeping), so that 100,000
 * sessions' renewal never holds the loop (and a knock) for long; one
 * opened since has a fresh lease from its knock. */
void gate_renew(struct green_gate *gt, bool all)
{
	size_t n;
	uint64_t *ids = snapshot(gt, all, &n);

	gt->last_renew_ms = gate_now_ms();
	if (all) {
		if (ids)
			renew_ids(gt, ids, n, true);
		free(ids);
		return;
	}
	free(gt->renew_ids);
	gt->renew_ids = ids;
	gt->renew_n = ids ? n : 0;
	gt->renew_pos = 0;
}

/* The next slice of the current round: the round ends within half of a
 * renewal period (a sixth of a lease), whatever the tick rate. */
static void renew_slice(struct green_gate *gt, int64_t now)
{
	uint64_t period = gate_lease_ms(gt) / 6, done;
	size_t upto;

	if (gt->renew_pos >= gt->renew_n)
		return;
	done = (uint64_t)(now - gt->last_renew_ms);
	upto = done >= period ? gt->renew_n
	       : (size_t)((gt->renew_n * done) / period) + 1;
	if (upto > gt->renew_n)
		upto = gt->renew_n;
	if (upto <= gt->renew_pos)
		return;
	renew_ids(gt, gt->renew_ids + gt->renew_pos, upto - gt->renew_pos, false);
	gt->renew_pos = upto;
	if (gt->renew_pos == gt->renew_n) {
		free(gt->renew_ids);
		gt->renew_ids = NULL;
		gt->renew_n = gt->renew_pos = 0;
	}
}

void gate_renew_free(struct green_gate *gt)
{
	free(gt->renew_ids);
	gt->renew_ids = NULL;
	gt->renew_n = gt->renew_pos = 0;
}

struct expiry {
	struct green_gate *gt;
	struct peer_batch pb;
};

static void expired(void *ctx, const struct kg_session *s)
{
	struct expiry *x = ctx;

	gate_ctrl_end_session(x->gt, s->id, end_code(s->end));
	/* told: the peer stays for the grace, so the end message leaves */
	session_gone(x->gt, s, true, &x->pb);
}

/* The whole peer dump of every shard, every peer's counters to the
 * table. 0 or -errno (logged; the shards read before it are fed). */
static int read_peers(struct green_gate *gt)
{
	uint64_t t0 = kg_mono_ns();

	for (unsigned k = 0; k < gate_n_shards(gt); k++) {
		struct kg_wg_device d = { 0 };
		const char *ifn = gate_shard_if(gt, k);
		int r = green_apply_peers_read(ifn, &d);

		if (r) {
			kg_log(KG_LOG_ERR, "%s: reading peers: %s", ifn, strerror(-r));
			return r;
		}
		for (size_t i = 0; i < d.n_peers; i++)
			kg_sess_observe_peer(&gt->sess, d.peers[i].public_key,
					     (int64_t)d.peers[i].last_handshake_sec,
					     d.peers[i].rx_bytes);
		green_apply_peers_free(&d);
	}
	gt->peer_dumps++;
	gt->peer_dump_us += (kg_mono_ns() - t0) / 1000;
	return 0;
}

/* The table's clock time an element with left_ms of a lease left was
 * last refreshed (rounded up: later is the safe side). */
static int64_t refreshed_at(struct green_gate *gt, int64_t now, uint64_t left_ms)
{
	uint64_t lease = gate_lease_ms(gt);

	if (left_ms > lease)
		left_ms = lease;
	return now - (int64_t)((lease - left_ms) / 1000);
}

/* The table's peer_seen hook (see the top of this file). */
static int64_t peer_seen(void *ctx, struct kg_session *s)
{
	struct green_gate *gt = ctx;
	int64_t now = kg_sess_now(&gt->sess), now_ms = gate_now_ms();
	int64_t src_last = -1, heard0 = s->last_heard, act0 = s->last_activity;
	uint64_t left = 0;
	int r;

	gt->peer_checks++;
	r = green_apply_tunnel_seen(gt->g->nft, &s->tunnel, &left);
	if (r == 0)
		return refreshed_at(gt, now, left);
	if (r != -ENOENT)
		return now;   /* not known: never judged silent on an error */
	/* Every packet of this peer came from one of its sources (only
	 * those reach WireGuard): their last packet bounds its last one. */
	for (size_t i = 0; i < s->n_src; i++) {
		r = green_apply_src_seen_left(gt->g->nft, &s->src[i], &left);
		if (r == 0) {
			int64_t t = refreshed_at(gt, now, left);

			src_last = t > src_last ? t : src_last;
		} else if (r != -ENOENT) {
			return now;
		}
	}
	/* Nothing from its sources since it was last heard: silent since. */
	if (src_last <= s->last_heard)
		return -1;
	/* Its sources sent WireGuard packets since (keepalives, handshakes,
	 * another session's peer behind the same address, or a forger):
	 * only the dump says whether they were this peer's. */
	if (!gt->peer_dumps || now_ms - gt->last_poll_ms >= POLL_MS) {
		gt->last_poll_ms = now_ms;
		if (read_peers(gt))
			return now;
		/* A change the dump showed happened by src_last, not now. */
		if (s->last_heard > heard0)
			s->last_heard = heard0 > src_last ? heard0 : src_last;
		if (s->last_activity > act0)
			s->last_activity = act0 > src_last ? act0 : src_last;
	}
	return -1;
}

void gate_liveness_init(struct green_gate *gt)
{
	kg_sess_set_peer_seen(&gt->sess, peer_seen, gt);
}

void gate_housekeeping(struct green_gate *gt)
{
	int64_t now = gate_now_ms();

	if (gt->n_dying)
		dying_sweep(gt, NULL, 0, now);
	/* The heap's top only, unless something is due; the openings of the
	 * sessions ended in this pass go in one nft batch, their peers in one
	 * WireGuard set operation. */
	if (kg_sess_next_deadline(&gt->sess) == 0) {
		struct expiry x = { .gt = gt };
		int r;

		x.pb.cap = gt->sess.n < 4096 ? gt->sess.n : 4096;
		x.pb.keys = calloc(x.pb.cap ? x.pb.cap : 1, 32);
		x.pb.shard = calloc(x.pb.cap ? x.pb.cap : 1, sizeof(*x.pb.shard));
		if (!x.pb.keys || !x.pb.shard)
			x.pb.cap = 0;   /* one by one, then */
		x.pb.closes = green_apply_closes_new(gt->g->nft);
		kg_sess_expire(&gt->sess, expired, &x);
		/* openings first, then the peers */
		green_apply_closes_send(x.pb.closes);
		if (x.pb.n && (r = gate_peers_del(gt, x.pb.keys, x.pb.shard, x.pb.n)))
			kg_log(KG_LOG_ERR, "session end: removing peers: %s", strerror(-r));
		free(x.pb.keys);
		free(x.pb.shard);
	}
	if (now - gt->last_renew_ms >= (int64_t)gate_lease_ms(gt) / 3)
		gate_renew(gt, false);
	renew_slice(gt, now);
}
