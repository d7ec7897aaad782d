/* SPDX-License-Identifier: MIT */
#include "ips.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define KG_IPS_MAX_PORTS 1024
#define KG_IPS_MAX_KNOCKS 1024

struct hit {
	uint32_t port;      /* proto << 16 | port */
	uint64_t seen_ms;
};

/* A tracked source; ports has scan_ports + 1 slots, knocks
 * invalid_knocks + 1: the event past the limit bans, so no more is kept. */
struct track {
	struct track *next;
	struct kg_addr key;
	uint64_t last_ms;
	unsigned n_ports, n_knocks;
	struct hit *ports;
	uint64_t *knocks;
};

struct ban {
	struct ban *next;
	struct kg_addr key;
	uint64_t until_ms;
};

struct kg_ips {
	struct kg_ips_config cfg;
	struct kg_prefix *never_ban;
	struct kg_ips_ops ops;
	uint64_t seed;
	size_t nbuckets;          /* power of two */
	struct track **tracks;
	struct ban **bans;
	size_t n_tracks, n_bans;
	bool warned_tracks, warned_bans;
};

static uint64_t now_ms(const struct kg_ips *ips)
{
	struct timespec ts;

	if (ips->ops.now_ms)
		return ips->ops.now_ms(ips->ops.ctx);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Seeded so that a sender cannot aim many sources at one bucket. */
static size_t bucket(const struct kg_ips *ips, const struct kg_addr *k)
{
	uint64_t h = ips->seed ^ 0xcbf29ce484222325ull;

	h = (h ^ k->family) * 0x100000001b3ull;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ k->b[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	return (size_t)h & (ips->nbuckets - 1);
}

static int check_config(const struct kg_ips_config *c)
{
	if (!c->scan_ports || c->scan_ports > KG_IPS_MAX_PORTS ||
	    !c->invalid_knocks || c->invalid_knocks > KG_IPS_MAX_KNOCKS ||
	    !c->window_s || !c->ban_s || !c->max_sources || !c->max_bans ||
	    (c->n_never_ban && !c->never_ban))
		return -EINVAL;
	return 0;
}

static void free_tracks(struct kg_ips *ips)
{
	for (size_t i = 0; i < ips->nbuckets; i++) {
		struct track *t = ips->tracks[i], *next;

		for (; t; t = next) {
			next = t->next;
			free(t);
		}
		ips->tracks[i] = NULL;
	}
	ips->n_tracks = 0;
	ips->warned_tracks = false;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 64;

	while (p < n && p < (1u << 20))
		p <<= 1;
	return p;
}

int kg_ips_new(struct kg_ips **out, const struct kg_ips_config *cfg,
	       const struct kg_ips_ops *ops)
{
	struct kg_ips *ips;
	int r;

	*out = NULL;
	if (!ops || !ops->ban || check_config(cfg))
		return -EINVAL;
	ips = calloc(1, sizeof(*ips));
	if (!ips)
		return -ENOMEM;
	ips->ops = *ops;
	if (getrandom(&ips->seed, sizeof(ips->seed), GRND_NONBLOCK) < 0)
		ips->seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)ips;
	/* Buckets sized for the largest of the two caps, fixed for life. */
	ips->nbuckets = pow2_at_least(cfg->max_sources > cfg->max_bans ?
				      cfg->max_sources : cfg->max_bans);
	ips->tracks = calloc(ips->nbuckets, sizeof(*ips->tracks));
	ips->bans = calloc(ips->nbuckets, sizeof(*ips->bans));
	if (!ips->tracks || !ips->bans) {
		r = -ENOMEM;
		goto fail;
	}
	r = kg_ips_reconfigure(ips, cfg);
	if (r)
		goto fail;
	*out = ips;
	return 0;
fail:
	kg_ips_free(ips);
	return r;
}

void kg_ips_free(struct kg_ips *ips)
{
	if (!ips)
		return;
	if (ips->tracks)
		free_tracks(ips);
	for (size_t i = 0; ips->bans && i < ips->nbuckets; i++) {
		struct ban *b = ips->bans[i], *next;

		for (; b; b = next) {
			next = b->next;
			free(b);
		}
	}
	free(ips->tracks);
	free(ips->bans);
	free(ips->never_ban);
	free(ips);
}

int kg_ips_reconfigure(struct kg_ips *ips, const struct kg_ips_config *cfg)
{
	struct kg_prefix *nb = NULL;

	if (check_config(cfg))
		return -EINVAL;
	if (cfg->n_never_ban) {
		nb = calloc(cfg->n_never_ban, sizeof(*nb));
		if (!nb)
			return -ENOMEM;
		memcpy(nb, cfg->never_ban, cfg->n_never_ban * sizeof(*nb));
	}
	free_tracks(ips);
	free(ips->never_ban);
	ips->never_ban = nb;
	ips->cfg = *cfg;
	ips->cfg.never_ban = nb;
	ips->warned_bans = false;
	return 0;
}

bool kg_ips_key_hits(const struct kg_prefix *p, const struct kg_addr *src)
{
	struct kg_addr key;
	unsigned n, klen;

	if (p->a.family != src->family)
		return false;
	kg_addr_ban_key(src, &key);
	klen = src->family == AF_INET6 ? 64 : 32;
	/* Two prefixes overlap iff they agree on the shorter one's bits. */
	n = p->len < klen ? p->len : klen;
	if (memcmp(p->a.b, key.b, n / 8))
		return false;
	if (n % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - n % 8));

		return (p->a.b[n / 8] & m) == (key.b[n / 8] & m);
	}
	return true;
}

/* Not the source alone: its whole ban key (an IPv6 /64) must hold no
 * never-ban address, or banning the key would ban that address. */
static bool never_banned(const struct kg_ips *ips, const struct kg_addr *a)
{
	for (size_t i = 0; i < ips->cfg.n_never_ban; i++)
		if (kg_ips_key_hits(&ips->never_ban[i], a))
			return true;
	return false;
}

/* The live ban of key; an expired one is forgotten on the way. */
static struct ban *find_ban(struct kg_ips *ips, const struct kg_addr *key,
			    uint64_t now)
{
	struct ban **pp = &ips->bans[bucket(ips, key)], *b;

	for (; *pp; pp = &(*pp)->next) {
		b = *pp;
		if (!kg_addr_eq(&b->key, key))
			continue;
		if (b->until_ms > now)
			return b;
		*pp = b->next;
		free(b);
		ips->n_bans--;
		ips->warned_bans = false;
		return NULL;
	}
	return NULL;
}

static void drop_track(struct kg_ips *ips, const struct kg_addr *key)
{
	struct track **pp = &ips->tracks[bucket(ips, key)];

	for (; *pp; pp = &(*pp)->next) {
		if (kg_addr_eq(&(*pp)->key, key)) {
			struct track *t = *pp;

			*pp = t->next;
			free(t);
			ips->n_tracks--;
			return;
		}
	}
}

static struct track *get_track(struct kg_ips *ips, const struct kg_addr *key)
{
	size_t h = bucket(ips, key);
	struct track *t = ips->tracks[h];
	size_t np = ips->cfg.scan_ports + 1, nk = ips->cfg.invalid_knocks + 1;

	for (; t; t = t->next)
		if (kg_addr_eq(&t->key, key))
			return t;
	if (ips->n_tracks >= ips->cfg.max_sources) {
		if (!ips->warned_tracks)
			kg_log_event(KG_LOG_WARNING, "ips", "result", "full",
				     "what", "sources", "reason", "max_sources");
		ips->warned_tracks = true;
		return NULL;
	}
	t = calloc(1, sizeof(*t) + np * sizeof(struct hit) + nk * sizeof(uint64_t));
	if (!t)
		return NULL;
	t->key = *key;
	t->ports = (struct hit *)(t + 1);
	t->knocks = (uint64_t *)(t->ports + np);
	t->next = ips->tracks[h];
	ips->tracks[h] = t;
	ips->n_tracks++;
	return t;
}

/* Drops what slid out of the window. */
static void slide(const struct kg_ips *ips, struct track *t, uint64_t now)
{
	uint64_t w = (uint64_t)ips->cfg.window_s * 1000;
	unsigned j = 0;

	for (unsigned i = 0; i < t->n_ports; i++)
		if (t->ports[i].seen_ms + w > now)
			t->ports[j++] = t->ports[i];
	t->n_ports = j;
	j = 0;
	for (unsigned i = 0; i < t->n_knocks; i++)
		if (t->knocks[i] + w > now)
			t->knocks[j++] = t->knocks[i];
	t->n_knocks = j;
}

static void log_ban(const char *result, const struct kg_addr *src,
		    const struct kg_addr *key, const char *reason,
		    const char *count_key, unsigned count, unsigned ban_s)
{
	char s[KG_ADDR_STRLEN], k[KG_ADDR_STRLEN + 4], n[16], b[16];

	kg_addr_str(src, s);
	kg_addr_str(key, k);
	if (key->family == AF_INET6)
		strcat(k, "/64");
	snprintf(n, sizeof(n), "%u", count);
	snprintf(b, sizeof(b), "%u", ban_s);
	kg_log_event(KG_LOG_NOTICE, "ban", "result", result, "src", s,
		     "key", k, "reason", reason, count_key, n,
		     "ban_time", strcmp(result, "banned") ? NULL : b);
}

/* Over a threshold: ban key unless exempt or full. */
static enum kg_ips_result decide(struct kg_ips *ips, const struct kg_addr *src,
				 const struct kg_addr *key, const char *reason,
				 const char *count_key, unsigned count,
				 uint64_t now)
{
	struct ban *b;
	size_t h;
	int r;

	if (ips->ops.exempt && ips->ops.exempt(ips->ops.ctx, src)) {
		log_ban("skipped", src, key, "protected", count_key, count, 0);
		drop_track(ips, key);
		return KG_IPS_EXEMPT;
	}
	if (ips->n_bans >= ips->cfg.max_bans) {
		if (!ips->warned_bans)
			kg_log_event(KG_LOG_WARNING, "ips", "result", "full",
				     "what", "bans", "reason", "max_bans");
		ips->warned_bans = true;
		return KG_IPS_FULL;
	}
	b = calloc(1, sizeof(*b));
	if (!b)
		return KG_IPS_FULL;
	r = ips->ops.ban(ips->ops.ctx, key, ips->cfg.ban_s);
	if (r) {
		char s[KG_ADDR_STRLEN];

		kg_log_event(KG_LOG_ERR, "ban", "result", "error",
			     "src", kg_addr_str(src, s), "error", strerror(-r));
		free(b);
		return KG_IPS_COUNTED;
	}
	b->key = *key;
	b->until_ms = now + (uint64_t)ips->cfg.ban_s * 1000;
	h = bucket(ips, key);
	b->next = ips->bans[h];
	ips->bans[h] = b;
	ips->n_bans++;
	drop_track(ips, key);
	log_ban("banned", src, key, reason, count_key, count, ips->cfg.ban_s);
	return KG_IPS_BANNED;
}

/* Common entry: the track for src, or why there is none. */
static struct track *lookup(struct kg_ips *ips, const struct kg_addr *src,
			    struct kg_addr *key, uint64_t now,
			    enum kg_ips_result *why)
{
	struct track *t;

	if (never_banned(ips, src)) {
		*why = KG_IPS_NEVER_BAN;
		return NULL;
	}
	kg_addr_ban_key(src, key);
	if (find_ban(ips, key, now)) {
		*why = KG_IPS_ALREADY;
		return NULL;
	}
	t = get_track(ips, key);
	if (!t) {
		*why = KG_IPS_FULL;
		return NULL;
	}
	slide(ips, t, now);
	t->last_ms = now;
	return t;
}

enum kg_ips_result kg_ips_closed_port(struct kg_ips *ips,
				      const struct kg_addr *src,
				      uint8_t proto, uint16_t port)
{
	uint64_t now = now_ms(ips);
	uint32_t pk = (uint32_t)proto << 16 | port;
	enum kg_ips_result why;
	struct kg_addr key;
	struct track *t = lookup(ips, src, &key, now, &why);

	if (!t)
		return why;
	for (unsigned i = 0; i < t->n_ports; i++) {
		if (t->ports[i].port == pk) {
			t->ports[i].seen_ms = now;
			return KG_IPS_COUNTED;
		}
	}
	t->ports[t->n_ports].port = pk;
	t->ports[t->n_ports].seen_ms = now;
	if (++t->n_ports <= ips->cfg.scan_ports)
		return KG_IPS_COUNTED;
	return decide(ips, src, &key, "scan", "ports", t->n_ports, now);
}

enum kg_ips_result kg_ips_invalid_knock(struct kg_ips *ips,
					const struct kg_addr *src)
{
	uint64_t now = now_ms(ips);
	enum kg_ips_result why;
	struct kg_addr key;
	struct track *t = lookup(ips, src, &key, now, &why);

	if (!t)
		return why;
	t->knocks[t->n_knocks++] = now;
	if (t->n_knocks <= ips->cfg.invalid_knocks)
		return KG_IPS_COUNTED;
	return decide(ips, src, &key, "invalid_knocks", "knocks", t->n_knocks, now);
}

/* Lifts key's ban; 1 if there was none, else 0 or the callback's -errno. */
static int lift(struct kg_ips *ips, const struct kg_addr *src,
		const char *reason)
{
	struct kg_addr key;
	struct ban **pp, *b;
	char s[KG_ADDR_STRLEN];
	int r;

	kg_addr_ban_key(src, &key);
	drop_track(ips, &key);
	for (pp = &ips->bans[bucket(ips, &key)]; *pp; pp = &(*pp)->next)
		if (kg_addr_eq(&(*pp)->key, &key))
			break;
	if (!*pp)
		return 1;
	b = *pp;
	r = ips->ops.unban ? ips->ops.unban(ips->ops.ctx, &key) : 0;
	if (r && r != -ENOENT)
		return r;
	*pp = b->next;
	free(b);
	ips->n_bans--;
	ips->warned_bans = false;
	kg_log_event(KG_LOG_NOTICE, "unban", "result", "lifted",
		     "src", kg_addr_str(src, s), "reason", reason);
	return 0;
}

int kg_ips_unban(struct kg_ips *ips, const struct kg_addr *src)
{
	int r = lift(ips, src, "valid_knock");

	return r > 0 ? 0 : r;
}

int kg_ips_lift(struct kg_ips *ips, const struct kg_addr *src,
		const char *reason)
{
	int r = lift(ips, src, reason);

	return r > 0 ? -ENOENT : r;
}

void kg_ips_foreach_ban(const struct kg_ips *ips, kg_ips_ban_cb cb, void *ctx)
{
	uint64_t now = now_ms(ips);

	for (size_t i = 0; i < ips->nbuckets; i++)
		for (const struct ban *b = ips->bans[i]; b; b = b->next)
			if (b->until_ms > now)
				cb(ctx, &b->key, b->until_ms - now);
}

bool kg_ips_is_banned(struct kg_ips *ips, const struct kg_addr *src)
{
	struct kg_addr key;

	kg_addr_ban_key(src, &key);
	return find_ban(ips, &key, now_ms(ips)) != NULL;
}

void kg_ips_expire(struct kg_ips *ips)
{
	uint64_t now = now_ms(ips);
	uint64_t w = (uint64_t)ips->cfg.window_s * 1000;

	for (size_t i = 0; i < ips->nbuckets; i++) {
		struct ban **bp = &ips->bans[i];
		struct track **tp = &ips->tracks[i];

		while (*bp) {
			struct ban *b = *bp;

			if (b->until_ms > now) {
				bp = &b->next;
				continue;
			}
			*bp = b->next;
			free(b);
			ips->n_bans--;
			ips->warned_bans = false;
		}
		while (*tp) {
			struct track *t = *tp;

			if (t->last_ms + w > now) {
				tp = &t->next;
				continue;
			}
			*tp = t->next;
			free(t);
			ips->n_tracks--;
			ips->warned_tracks = false;
		}
	}
}

size_t kg_ips_n_tracked(const struct kg_ips *ips)
{
	return ips->n_tracks;
}

size_t kg_ips_n_banned(const struct kg_ips *ips)
{
	return ips->n_bans;
}
