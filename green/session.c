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

int kg_sess_init(struct kg_sess_table *t, size_t cap,
		 const struct kg_sess_limits *lim, uint64_t id_base,
		 kg_clock_fn clock, void *clock_ctx)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || !lim || lim->idle_timeout == 0 ||
	    lim->max_lifetime == 0 || lim->handshake_timeout == 0)
		return -EINVAL;
	t->s = calloc(cap, sizeof(*t->s));
	if (!t->s)
		return -ENOMEM;
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

void kg_sess_free(struct kg_sess_table *t)
{
	if (t->s)
		kg_wipe(t->s, t->cap * sizeof(*t->s));
	free(t->s);
	memset(t, 0, sizeof(*t));
}

int64_t kg_sess_now(const struct kg_sess_table *t)
{
	return t->clock(t->clock_ctx);
}

struct kg_session *kg_sess_by_id(struct kg_sess_table *t, uint64_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->s[i].id == id)
			return &t->s[i];
	return NULL;
}

struct kg_session *kg_sess_by_tunnel(struct kg_sess_table *t,
				     const struct kg_addr *a)
{
	for (size_t i = 0; i < t->n; i++)
		if (kg_addr_eq(&t->s[i].tunnel, a))
			return &t->s[i];
	return NULL;
}

struct kg_session *kg_sess_by_key(struct kg_sess_table *t,
				  const uint8_t key[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (kg_memeq(t->s[i].peer_key, key, 32))
			return &t->s[i];
	return NULL;
}

bool kg_sess_src_in_use(const struct kg_sess_table *t,
			const struct kg_addr *src, uint64_t except_id)
{
	for (size_t i = 0; i < t->n; i++) {
		if (t->s[i].id == except_id)
			continue;
		for (size_t j = 0; j < t->s[i].n_src; j++)
			if (kg_addr_eq(&t->s[i].src[j], src))
				return true;
	}
	return false;
}

int kg_sess_end(struct kg_sess_table *t, uint64_t id, enum kg_sess_end why,
		struct kg_session *out)
{
	struct kg_session *s = kg_sess_by_id(t, id);
	size_t i;

	if (!s)
		return -ENOENT;
	s->end = why;
	if (out)
		*out = *s;
	/* Order does not matter: move the last entry into the hole. */
	i = (size_t)(s - t->s);
	t->s[i] = t->s[t->n - 1];
	kg_wipe(&t->s[t->n - 1], sizeof(t->s[0]));
	t->n--;
	return 0;
}

static int64_t heard(const struct kg_session *s)
{
	return s->last_heard;
}

static bool has_src(const struct kg_session *s, const struct kg_addr *src)
{
	for (size_t j = 0; j < s->n_src; j++)
		if (kg_addr_eq(&s->src[j], src))
			return true;
	return false;
}

static int add_pending(struct kg_sess_table *t, const char *user,
		       const struct kg_addr *tunnel, const uint8_t key[32],
		       const struct kg_addr *src, struct kg_session **out)
{
	int64_t now = kg_sess_now(t);
	struct kg_session *s;

	if (t->n == t->cap)
		return -ENOSPC;
	s = &t->s[t->n++];
	memset(s, 0, sizeof(*s));
	do
		s->id = t->next_id++;
	while (s->id == 0 || kg_sess_by_id(t, s->id) != s);
	s->state = KG_SESS_PENDING;
	strcpy(s->user, user);
	s->tunnel = *tunnel;
	memcpy(s->peer_key, key, 32);
	s->src[0] = *src;
	s->src_added[0] = now;
	s->n_src = 1;
	s->created = s->last_activity = s->last_heard = now;
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
		old->src[0] = s->src[j];
		old->n_src = 1;
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
	s->start = s->last_activity = s->last_heard = now;
	s->reproof_due = t->lim.reproof_interval
			 ? now + t->lim.reproof_interval : 0;
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

size_t kg_sess_expire(struct kg_sess_table *t, kg_sess_end_cb cb, void *ctx)
{
	int64_t now = kg_sess_now(t);
	struct kg_session gone;
	size_t ended = 0;

	for (size_t i = 0; i < t->n;) {
		enum kg_sess_end why = due(t, &t->s[i], now);

		if (why == KG_END_NONE) {
			i++;
			continue;
		}
		kg_sess_end(t, t->s[i].id, why, &gone);
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

	for (size_t i = 0; i < t->n;) {
		if (strcmp(t->s[i].user, user) != 0) {
			i++;
			continue;
		}
		kg_sess_end(t, t->s[i].id, why, &gone);
		ended++;
		if (cb)
			cb(ctx, &gone);
		kg_wipe(&gone, sizeof(gone));
	}
	return ended;
}

static int64_t min_pos(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t kg_sess_next_deadline(const struct kg_sess_table *t)
{
	const struct kg_sess_limits *l = &t->lim;
	int64_t now = kg_sess_now(t), best = -1;

	for (size_t i = 0; i < t->n; i++) {
		const struct kg_session *s = &t->s[i];
		int64_t d;

		if (s->state == KG_SESS_PENDING) {
			d = s->created + l->handshake_timeout;
		} else {
			d = min_pos(s->start + l->max_lifetime,
				    heard(s) + l->handshake_timeout);
			d = min_pos(d, s->last_activity + l->idle_timeout);
			if (s->reproof_due)
				d = min_pos(d, s->reproof_due + l->reproof_grace);
		}
		d = d > now ? d - now : 0;
		best = best < 0 ? d : min_pos(best, d);
	}
	return best;
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
	{ "max_clients", 256, 1, 4096 },
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
