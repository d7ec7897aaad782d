/* SPDX-License-Identifier: MIT */
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crypto.h"
#include "time.h"

static const char *const end_names[] = {
	[KG_END_NONE] = "none",
	[KG_END_CLOSE] = "close",
	[KG_END_IDLE] = "idle",
	[KG_END_LIFETIME] = "lifetime",
	[KG_END_PEER_SILENT] = "peer_silent",
	[KG_END_REPROOF_MISSED] = "reproof_missed",
	[KG_END_REVOKED] = "revoked",
	[KG_END_REMOVED] = "removed",
	[KG_END_AUTH_TIMEOUT] = "auth_timeout",
	[KG_END_AUTH_FAILED] = "auth_failed",
	[KG_END_REPLACED] = "replaced",
};

const char *kg_sess_end_name(enum kg_sess_end r)
{
	if ((unsigned)r < sizeof(end_names) / sizeof(end_names[0]))
		return end_names[r];
	return "unknown";
}

const char *kg_knock_action_name(enum kg_knock_action a)
{
	switch (a) {
	case KG_KNOCK_NEW: return "new";
	case KG_KNOCK_REPLACED: return "replaced";
	case KG_KNOCK_ADD_SOURCE: return "add_source";
	case KG_KNOCK_MOVE_SOURCE: return "move_source";
	case KG_KNOCK_SAME: return "same";
	case KG_KNOCK_REFUSED: return "refused";
	}
	return "unknown";
}

/* Monotonic: a wall-clock step must neither extend nor cut a session. */
static int64_t real_clock(void *ctx)
{
	(void)ctx;
	return kg_mono_s();
}

static uint64_t h_id(const struct kg_sess_table *t, uint64_t id)
{
	return kg_sidx_hash(t->seed, &id, sizeof(id));
}

static uint64_t h_tunnel(const struct kg_sess_table *t, const struct kg_addr *a)
{
	uint8_t k[17];

	k[0] = a->family;
	memcpy(k + 1, a->b, 16);
	return kg_sidx_hash(t->seed, k, sizeof(k));
}

static uint64_t h_key(const struct kg_sess_table *t, const uint8_t key[32])
{
	return kg_sidx_hash(t->seed, key, 32);
}

static uint64_t h_user(const struct kg_sess_table *t, const char *user)
{
	return kg_sidx_hash(t->seed, user, strlen(user));
}

static bool m_user(const void *ctx, uint32_t pos, const void *key)
{
	const struct kg_sess_table *t = ctx;

	return strcmp(t->s[pos].user, key) == 0;
}

static uint64_t hp_user(const void *ctx, uint32_t pos)
{
	const struct kg_sess_table *t = ctx;

	return h_user(t, t->s[pos].user);
}

static bool m_id(const void *ctx, uint32_t pos, const void *key)
{
	const struct kg_sess_table *t = ctx;

	return t->s[pos].id == *(const uint64_t *)key;
}

static bool m_tunnel(const void *ctx, uint32_t pos, const void *key)
{
	const struct kg_sess_table *t = ctx;

	return kg_addr_eq(&t->s[pos].tunnel, key);
}

static bool m_key(const void *ctx, uint32_t pos, const void *key)
{
	const struct kg_sess_table *t = ctx;

	return memcmp(t->s[pos].peer_key, key, 32) == 0;
}

static uint64_t hp_id(const void *ctx, uint32_t pos)
{
	const struct kg_sess_table *t = ctx;

	return h_id(t, t->s[pos].id);
}

static uint64_t hp_tunnel(const void *ctx, uint32_t pos)
{
	const struct kg_sess_table *t = ctx;

	return h_tunnel(t, &t->s[pos].tunnel);
}

static uint64_t hp_key(const void *ctx, uint32_t pos)
{
	const struct kg_sess_table *t = ctx;

	return h_key(t, t->s[pos].peer_key);
}

static int64_t heap_key(const void *ctx, uint32_t pos)
{
	const struct kg_sess_table *t = ctx;

	return t->s[pos].wake;
}

static uint32_t *heap_at(void *ctx, uint32_t pos)
{
	struct kg_sess_table *t = ctx;

	return &t->s[pos].heap_i;
}

size_t kg_sess_bytes_per_slot(void)
{
	/* index slots at load <= 1/2 (up to 1 more for rounding to a power
	 * of two), source entries at <= 3/4 likewise */
	return sizeof(struct kg_session) + 4 * 2 * 2 * sizeof(uint32_t) +
	       2 * KG_SESS_MAX_SRC * 2 * sizeof(struct kg_srcidx_ent) +
	       sizeof(uint32_t);
}

int kg_sess_init(struct kg_sess_table *t, size_t cap,
		 const struct kg_sess_limits *lim, uint64_t id_base,
		 kg_clock_fn clock, void *clock_ctx)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > UINT32_MAX / 16 || !lim ||
	    lim->idle_timeout == 0 || lim->max_lifetime == 0 ||
	    lim->handshake_timeout == 0)
		return -EINVAL;
	t->seed = kg_sidx_seed();
	t->s = calloc(cap, sizeof(*t->s));
	if (!t->s ||
	    kg_sidx_init(&t->by_id, cap, m_id, hp_id, t) ||
	    kg_sidx_init(&t->by_tunnel, cap, m_tunnel, hp_tunnel, t) ||
	    kg_sidx_init(&t->by_key, cap, m_key, hp_key, t) ||
	    kg_sidx_init(&t->by_user, cap, m_user, hp_user, t) ||
	    kg_srcidx_init(&t->srcs, cap * KG_SESS_MAX_SRC, t->seed ^ 1) ||
	    kg_srcidx_init(&t->ban_keys, cap * KG_SESS_MAX_SRC, t->seed ^ 2) ||
	    kg_sheap_init(&t->timers, cap, heap_key, heap_at, t)) {
		kg_sess_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	t->lim = *lim;
	t->next_id = id_base;
	t->clock = clock ? clock : real_clock;
	t->clock_ctx = clock_ctx;
	return 0;
}

void kg_sess_set_src_seen(struct kg_sess_table *t, kg_src_seen_fn fn,
			  void *ctx)
{
	t->src_seen = fn;
	t->src_seen_ctx = ctx;
}

void kg_sess_set_peer_seen(struct kg_sess_table *t, kg_peer_seen_fn fn,
			   void *ctx)
{
	t->peer_seen = fn;
	t->peer_seen_ctx = ctx;
}

void kg_sess_set_shard(struct kg_sess_table *t, kg_shard_fn fn, void *ctx)
{
	t->shard = fn;
	t->shard_ctx = ctx;
}

void kg_sess_free(struct kg_sess_table *t)
{
	if (t->s)
		kg_wipe(t->s, t->cap * sizeof(*t->s));
	free(t->s);
	kg_sidx_free(&t->by_id);
	kg_sidx_free(&t->by_tunnel);
	kg_sidx_free(&t->by_key);
	kg_sidx_free(&t->by_user);
	kg_srcidx_free(&t->srcs);
	kg_srcidx_free(&t->ban_keys);
	kg_sheap_free(&t->timers);
	memset(t, 0, sizeof(*t));
}

int64_t kg_sess_now(const struct kg_sess_table *t)
{
	return t->clock(t->clock_ctx);
}

static struct kg_session *at(struct kg_sess_table *t, uint32_t pos)
{
	return pos == KG_SIDX_NONE ? NULL : &t->s[pos];
}

struct kg_session *kg_sess_by_id(struct kg_sess_table *t, uint64_t id)
{
	return at(t, kg_sidx_find(&t->by_id, h_id(t, id), &id));
}

struct kg_session *kg_sess_by_tunnel(struct kg_sess_table *t,
				     const struct kg_addr *a)
{
	return at(t, kg_sidx_find(&t->by_tunnel, h_tunnel(t, a), a));
}

struct kg_session *kg_sess_by_key(struct kg_sess_table *t,
				  const uint8_t key[32])
{
	return at(t, kg_sidx_find(&t->by_key, h_key(t, key), key));
}

static bool has_src(const struct kg_session *s, const struct kg_addr *src)
{
	for (size_t j = 0; j < s->n_src; j++)
		if (kg_addr_eq(&s->src[j], src))
			return true;
	return false;
}

bool kg_sess_src_in_use(const struct kg_sess_table *t,
			const struct kg_addr *src, unsigned shard,
			uint64_t except_id)
{
	struct kg_sess_table *mt = (struct kg_sess_table *)t;
	uint32_t n = kg_srcidx_count(&t->srcs, src, (uint16_t)shard);
	const struct kg_session *ex;

	if (n == 0)
		return false;
	ex = except_id ? kg_sess_by_id(mt, except_id) : NULL;
	return n > (ex && ex->shard == shard && has_src(ex, src) ? 1u : 0u);
}

bool kg_sess_ban_key_in_use(const struct kg_sess_table *t,
			    const struct kg_addr *key)
{
	return kg_srcidx_count(&t->ban_keys, key, 0) > 0;
}

/* s's source a counted in (add) or out: per shard for the openings,
 * per ban key whatever the shard. */
static void src_count(struct kg_sess_table *t, const struct kg_session *s,
		      const struct kg_addr *a, bool add)
{
	struct kg_addr k;

	kg_addr_ban_key(a, &k);
	if (add) {
		kg_srcidx_inc(&t->srcs, a, s->shard);
		kg_srcidx_inc(&t->ban_keys, &k, 0);
	} else {
		kg_srcidx_dec(&t->srcs, a, s->shard);
		kg_srcidx_dec(&t->ban_keys, &k, 0);
	}
}

static int64_t min_pos(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The first moment anything about s can be due. */
static int64_t deadline(const struct kg_sess_table *t, const struct kg_session *s)
{
	const struct kg_sess_limits *l = &t->lim;
	int64_t d;

	if (s->state == KG_SESS_PENDING)
		return s->created + l->handshake_timeout;
	d = min_pos(s->start + l->max_lifetime,
		    s->last_heard + l->handshake_timeout);
	d = min_pos(d, s->last_activity + l->idle_timeout);
	if (s->reproof_due)
		d = min_pos(d, s->reproof_due + l->reproof_grace);
	return d;
}

/* s's deadline may have moved earlier: put its timer there. (A deadline
 * moving later needs nothing: the timer fires early and looks again.) */
static void resched(struct kg_sess_table *t, struct kg_session *s)
{
	s->wake = deadline(t, s);
	kg_sheap_fix(&t->timers, (uint32_t)(s - t->s));
}

/* pos joins its user's chain, right after the head (or as the head). */
static void user_link(struct kg_sess_table *t, uint32_t pos)
{
	struct kg_session *s = &t->s[pos];
	uint64_t h = h_user(t, s->user);
	uint32_t head = kg_sidx_find(&t->by_user, h, s->user);

	s->u_prev = s->u_next = 0;
	if (head == KG_SIDX_NONE) {
		kg_sidx_add(&t->by_user, h, pos);
		return;
	}
	s->u_prev = head + 1;
	s->u_next = t->s[head].u_next;
	if (s->u_next)
		t->s[s->u_next - 1].u_prev = pos + 1;
	t->s[head].u_next = pos + 1;
}

/* pos leaves its user's chain; a head hands the index to the next. */
static void user_unlink(struct kg_sess_table *t, uint32_t pos)
{
	struct kg_session *s = &t->s[pos];
	uint64_t h = h_user(t, s->user);

	if (s->u_prev)
		t->s[s->u_prev - 1].u_next = s->u_next;
	else if (s->u_next)
		kg_sidx_move(&t->by_user, h, pos, s->u_next - 1);
	else
		kg_sidx_del(&t->by_user, h, pos);
	if (s->u_next)
		t->s[s->u_next - 1].u_prev = s->u_prev;
	s->u_prev = s->u_next = 0;
}

/* The session at from is about to move to to: its chain points there. */
static void user_move(struct kg_sess_table *t, uint32_t from, uint32_t to)
{
	const struct kg_session *m = &t->s[from];

	if (m->u_prev)
		t->s[m->u_prev - 1].u_next = to + 1;
	else
		kg_sidx_move(&t->by_user, h_user(t, m->user), from, to);
	if (m->u_next)
		t->s[m->u_next - 1].u_prev = to + 1;
}

int kg_sess_end(struct kg_sess_table *t, uint64_t id, enum kg_sess_end why,
		struct kg_session *out)
{
	struct kg_session *s = kg_sess_by_id(t, id);
	uint32_t i, last;

	if (!s)
		return -ENOENT;
	s->end = why;
	if (out)
		*out = *s;
	i = (uint32_t)(s - t->s);
	last = (uint32_t)(t->n - 1);
	kg_sidx_del(&t->by_id, h_id(t, s->id), i);
	kg_sidx_del(&t->by_tunnel, h_tunnel(t, &s->tunnel), i);
	kg_sidx_del(&t->by_key, h_key(t, s->peer_key), i);
	user_unlink(t, i);
	for (size_t j = 0; j < s->n_src; j++)
		src_count(t, s, &s->src[j], false);
	kg_sheap_del(&t->timers, i);
	if (s->state == KG_SESS_LIVE)
		t->n_live--;
	/* Order does not matter: move the last entry into the hole. */
	if (i != last) {
		struct kg_session *m = &t->s[last];

		kg_sidx_move(&t->by_id, h_id(t, m->id), last, i);
		kg_sidx_move(&t->by_tunnel, h_tunnel(t, &m->tunnel), last, i);
		kg_sidx_move(&t->by_key, h_key(t, m->peer_key), last, i);
		user_move(t, last, i);
		t->s[i] = *m;
		kg_sheap_move(&t->timers, last, i);
	}
	kg_wipe(&t->s[last], sizeof(t->s[0]));
	t->n--;
	return 0;
}

static int64_t heard(const struct kg_session *s)
{
	return s->last_heard;
}

/* Brings s's last_heard / last_activity up to what the peer_seen hook
 * reads (traffic through the tunnel counts as both). */
static void ask_seen(struct kg_sess_table *t, struct kg_session *s, int64_t now)
{
	int64_t seen = t->peer_seen(t->peer_seen_ctx, s);

	if (seen > now)
		seen = now;
	if (seen > s->last_heard)
		s->last_heard = seen;
	if (seen > s->last_activity)
		s->last_activity = seen;
}

static int add_pending(struct kg_sess_table *t, const char *user,
		       const struct kg_addr *tunnel, const uint8_t key[32],
		       const struct kg_addr *src, struct kg_session **out)
{
	int64_t now = kg_sess_now(t);
	struct kg_session *s;
	uint32_t pos;

	if (t->n == t->cap)
		return -ENOSPC;
	pos = (uint32_t)t->n;
	s = &t->s[t->n++];
	memset(s, 0, sizeof(*s));
	do
		s->id = t->next_id++;
	while (s->id == 0 || kg_sess_by_id(t, s->id));
	s->state = KG_SESS_PENDING;
	strcpy(s->user, user);
	s->tunnel = *tunnel;
	s->shard = (uint16_t)(t->shard ? t->shard(t->shard_ctx, tunnel) : 0);
	memcpy(s->peer_key, key, 32);
	s->src[0] = *src;
	s->src_added[0] = now;
	s->n_src = 1;
	s->created = s->last_activity = s->last_heard = now;
	kg_sidx_add(&t->by_id, h_id(t, s->id), pos);
	kg_sidx_add(&t->by_tunnel, h_tunnel(t, tunnel), pos);
	kg_sidx_add(&t->by_key, h_key(t, key), pos);
	user_link(t, pos);
	src_count(t, s, src, true);
	s->wake = deadline(t, s);
	kg_sheap_push(&t->timers, pos);
	*out = s;
	return 0;
}

/* The oldest slot whose source has held it for a lease and has been
 * silent for one, or -1. The age matters as much as the silence: a
 * source that just roamed in has sent nothing yet. */
static ptrdiff_t silent_slot(const struct kg_sess_table *t,
			     const struct kg_session *s, int64_t now)
{
	for (size_t j = 0; j < s->n_src; j++) {
		if (now - s->src_added[j] < (int64_t)t->lim.handshake_timeout)
			continue;
		if (t->src_seen && t->src_seen(t->src_seen_ctx, &s->src[j]))
			continue;
		return (ptrdiff_t)j;
	}
	return -1;
}

/* The same key knocking again: a live session may roam to a new source;
 * a pending one simply keeps its peer (the source list grows too). */
static int same_key(struct kg_sess_table *t, struct kg_session *s,
		    const struct kg_addr *src, enum kg_knock_action *action,
		    struct kg_session *old)
{
	int64_t now = kg_sess_now(t);
	ptrdiff_t j;

	if (has_src(s, src)) {
		*action = KG_KNOCK_SAME;
		return 0;
	}
	*action = KG_KNOCK_ADD_SOURCE;
	if (s->n_src == KG_SESS_MAX_SRC) {
		if ((j = silent_slot(t, s, now)) < 0)
			return -EBUSY;
		memset(old, 0, sizeof(*old));
		old->id = s->id;
		old->tunnel = s->tunnel;
		old->shard = s->shard;
		old->src[0] = s->src[j];
		old->n_src = 1;
		src_count(t, s, &s->src[j], false);
		/* keep the order: oldest first */
		memmove(&s->src[j], &s->src[j + 1],
			(s->n_src - (size_t)j - 1) * sizeof(s->src[0]));
		memmove(&s->src_added[j], &s->src_added[j + 1],
			(s->n_src - (size_t)j - 1) * sizeof(s->src_added[0]));
		s->n_src--;
		*action = KG_KNOCK_MOVE_SOURCE;
	}
	s->src[s->n_src] = *src;
	s->src_added[s->n_src++] = now;
	src_count(t, s, src, true);
	return 0;
}

int kg_sess_knock(struct kg_sess_table *t, const char *user,
		  const struct kg_addr *tunnel, const uint8_t peer_key[32],
		  const struct kg_addr *src, enum kg_knock_action *action,
		  struct kg_session **s, struct kg_session *old)
{
	struct kg_session *cur = kg_sess_by_tunnel(t, tunnel);
	int64_t now = kg_sess_now(t);
	int rc;

	*s = NULL;
	if (!user || !*user || strlen(user) >= KG_SESS_USER_MAX)
		return -EINVAL;
	if (cur && strcmp(cur->user, user) != 0)
		return -EINVAL;   /* two users with one tunnel address: config bug */
	if (cur && kg_memeq(cur->peer_key, peer_key, 32)) {
		if ((rc = same_key(t, cur, src, action, old)) == 0)
			*s = cur;
		return rc;
	}
	/* last_heard is brought up to date only when a session's timer
	 * fires: before a live peer may be displaced as silent, ask. */
	if (cur && cur->state == KG_SESS_LIVE &&
	    now - heard(cur) > (int64_t)t->lim.idle_timeout && t->peer_seen)
		ask_seen(t, cur, now);
	if (cur && cur->state == KG_SESS_LIVE &&
	    now - heard(cur) <= (int64_t)t->lim.idle_timeout) {
		*action = KG_KNOCK_REFUSED;
		return 0;
	}
	/* A key may be the peer of one session only. */
	if (kg_sess_by_key(t, peer_key))
		return -EEXIST;
	if (cur) {
		kg_sess_end(t, cur->id, cur->state == KG_SESS_LIVE
			    ? KG_END_PEER_SILENT : KG_END_REPLACED, old);
		*action = KG_KNOCK_REPLACED;
	} else {
		*action = KG_KNOCK_NEW;
	}
	return add_pending(t, user, tunnel, peer_key, src, s);
}

int kg_sess_prove(struct kg_sess_table *t, uint64_t id)
{
	struct kg_session *s = kg_sess_by_id(t, id);
	int64_t now = kg_sess_now(t);

	if (!s)
		return -ENOENT;
	if (s->state == KG_SESS_LIVE)
		return -EALREADY;
	s->state = KG_SESS_LIVE;
	t->n_live++;
	s->start = s->last_activity = s->last_heard = now;
	s->reproof_due = t->lim.reproof_interval
			 ? now + t->lim.reproof_interval : 0;
	resched(t, s);
	return 0;
}

int kg_sess_reproved(struct kg_sess_table *t, uint64_t id)
{
	struct kg_session *s = kg_sess_by_id(t, id);
	int64_t now = kg_sess_now(t);

	if (!s || s->state != KG_SESS_LIVE)
		return -ENOENT;
	s->last_heard = now;
	if (t->lim.reproof_interval)
		s->reproof_due = now + t->lim.reproof_interval;
	return 0;
}

void kg_sess_touch(struct kg_sess_table *t, uint64_t id)
{
	struct kg_session *s = kg_sess_by_id(t, id);

	if (s)
		s->last_activity = s->last_heard = kg_sess_now(t);
}

void kg_sess_observe_peer(struct kg_sess_table *t, const uint8_t key[32],
			  int64_t last_handshake, uint64_t rx_bytes)
{
	struct kg_session *s = kg_sess_by_key(t, key);

	if (!s)
		return;
	/* WireGuard stamps handshakes with the wall clock: only a change
	 * means anything (a new handshake, seen within one poll), never
	 * the value, which a clock step moves. */
	if (last_handshake && last_handshake != s->last_handshake) {
		s->last_handshake = last_handshake;
		s->last_heard = kg_sess_now(t);
	}
	if (rx_bytes != s->rx_bytes) {
		s->rx_bytes = rx_bytes;
		s->last_activity = s->last_heard = kg_sess_now(t);
	}
}

/* Why s must end now, or KG_END_NONE. Lifetime first: it is the bound
 * that holds whatever else the session does. */
static enum kg_sess_end due(const struct kg_sess_table *t,
			    const struct kg_session *s, int64_t now)
{
	const struct kg_sess_limits *l = &t->lim;

	if (s->state == KG_SESS_PENDING)
		return now - s->created >= (int64_t)l->handshake_timeout
		       ? KG_END_AUTH_TIMEOUT : KG_END_NONE;
	if (now - s->start >= (int64_t)l->max_lifetime)
		return KG_END_LIFETIME;
	if (s->reproof_due &&
	    now >= s->reproof_due + (int64_t)l->reproof_grace)
		return KG_END_REPROOF_MISSED;
	if (now - heard(s) >= (int64_t)l->handshake_timeout)
		return KG_END_PEER_SILENT;
	if (now - s->last_activity >= (int64_t)l->idle_timeout)
		return KG_END_IDLE;
	return KG_END_NONE;
}

/* Silence and idleness are only judged on what was read: ask the hook
 * when the peer last sent traffic (it may read a peer dump too). */
static enum kg_sess_end confirm(struct kg_sess_table *t, struct kg_session *s,
				enum kg_sess_end why, int64_t now)
{
	if ((why != KG_END_PEER_SILENT && why != KG_END_IDLE) || !t->peer_seen)
		return why;
	ask_seen(t, s, now);
	return due(t, s, now);
}

size_t kg_sess_expire(struct kg_sess_table *t, kg_sess_end_cb cb, void *ctx)
{
	int64_t now = kg_sess_now(t);
	struct kg_session gone;
	size_t ended = 0;
	uint32_t top;

	while ((top = kg_sheap_top(&t->timers)) != KG_SIDX_NONE &&
	       t->s[top].wake <= now) {
		struct kg_session *s = &t->s[top];
		enum kg_sess_end why = confirm(t, s, due(t, s, now), now);

		if (why == KG_END_NONE) {
			/* every deadline is past now (due() said so) */
			resched(t, s);
			continue;
		}
		kg_sess_end(t, s->id, why, &gone);
		ended++;
		if (cb)
			cb(ctx, &gone);
		kg_wipe(&gone, sizeof(gone));
	}
	return ended;
}

size_t kg_sess_end_user(struct kg_sess_table *t, const char *user,
			enum kg_sess_end why, kg_sess_end_cb cb, void *ctx)
{
	struct kg_session gone;
	size_t ended = 0;
	uint64_t h = h_user(t, user);
	uint32_t pos;

	while ((pos = kg_sidx_find(&t->by_user, h, user)) != KG_SIDX_NONE) {
		kg_sess_end(t, t->s[pos].id, why, &gone);
		ended++;
		if (cb)
			cb(ctx, &gone);
		kg_wipe(&gone, sizeof(gone));
	}
	return ended;
}

int64_t kg_sess_next_deadline(const struct kg_sess_table *t)
{
	int64_t now = kg_sess_now(t), d;
	uint32_t top = kg_sheap_top(&t->timers);

	if (top == KG_SIDX_NONE)
		return -1;
	d = t->s[top].wake;
	return d > now ? d - now : 0;
}

/* [session] keys: name, default, min, max (seconds unless said). */
static const struct {
	const char *key;
	uint64_t def, min, max;
} session_keys[] = {
	{ "idle_timeout", 600, 60, 86400 },
	{ "max_lifetime", 28800, 60, 604800 },
	{ "reproof_interval", 300, 30, 86400 },
	/* above WireGuard's 120 s rekey, so a live peer is never "silent" */
	{ "handshake_timeout", 180, 130, 3600 },
	{ "control_port", 4433, 1, 65535 },
	{ "max_clients", 256, 1, 1000000 },
	{ "io_timeout", 10, 1, 300 },
};

int kg_session_conf_read(const struct kg_conf *c, struct kg_session_conf *out,
			 struct kg_err *e)
{
	static const char *const allowed[] = {
		"idle_timeout", "max_lifetime", "reproof_interval",
		"handshake_timeout", "control_port", "max_clients",
		"io_timeout", NULL,
	};
	uint64_t v[7];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = kg_conf_check_keys(c, "session", allowed, e)))
		return rc;
	for (size_t i = 0; i < 7; i++) {
		rc = kg_conf_uint(c, "session", session_keys[i].key, false,
				  session_keys[i].def, session_keys[i].min,
				  session_keys[i].max, &v[i], e);
		if (rc)
			return rc;
	}
	out->lim.idle_timeout = (uint32_t)v[0];
	out->lim.max_lifetime = (uint32_t)v[1];
	out->lim.reproof_interval = (uint32_t)v[2];
	out->lim.handshake_timeout = (uint32_t)v[3];
	out->control_port = (uint16_t)v[4];
	out->max_clients = (uint32_t)v[5];
	out->io_timeout = (uint32_t)v[6];
	out->lim.reproof_grace = out->io_timeout;
	return 0;
}
