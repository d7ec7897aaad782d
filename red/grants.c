/* SPDX-License-Identifier: MIT */
#include "grants.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kg_grants_init(struct kg_grants *t, size_t cap, uint32_t max_lease,
		   uint32_t keep)
{
	memset(t, 0, sizeof(*t));
	t->n_head = 1;
	while (t->n_head < cap)
		t->n_head <<= 1;
	t->g = calloc(cap ? cap : 1, sizeof(*t->g));
	t->head = calloc(t->n_head, sizeof(*t->head));
	t->free = calloc(cap ? cap : 1, sizeof(*t->free));
	if (!t->g || !t->head || !t->free) {
		kg_grants_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	/* popped from the end: slot 0 first */
	for (size_t i = 0; i < cap; i++)
		t->free[i] = (uint32_t)(cap - 1 - i);
	t->n_free = cap;
	t->max_lease = max_lease;
	t->keep = keep;
	kg_pool_init(&t->pool);
	return 0;
}

void kg_grants_free(struct kg_grants *t)
{
	free(t->g);
	free(t->head);
	free(t->free);
	t->g = NULL;
	t->head = t->free = NULL;
	t->cap = t->n_free = 0;
}

/* FNV-1a over (green, session, service): the index's bucket. The key is
 * green's own (authenticated) choice, so no seed is needed against
 * crafted collisions: a green can only slow its own lookups. */
static size_t bucket(const struct kg_grants *t, const char *green,
		     uint64_t session, const char *service)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *c = green; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	for (int i = 0; i < 8; i++)
		h = (h ^ (uint8_t)(session >> (8 * i))) * 1099511628211ULL;
	for (const char *c = service; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (t->n_head - 1);
}

static ptrdiff_t find(const struct kg_grants *t, const struct kg_sknock *k)
{
	uint32_t i = t->head[bucket(t, k->green_id, k->session, k->service)];

	for (; i; i = t->g[i - 1].next) {
		const struct kg_grant *g = &t->g[i - 1];

		if (g->used && g->session == k->session &&
		    strcmp(g->green_id, k->green_id) == 0 &&
		    strcmp(g->service, k->service) == 0)
			return (ptrdiff_t)(i - 1);
	}
	return -1;
}

static bool has_free_slot(const struct kg_grants *t)
{
	return t->n_free > 0;
}

/* A slot taken for g's key: off the free stack, into its chain. */
static void index_add(struct kg_grants *t, size_t slot)
{
	struct kg_grant *g = &t->g[slot];
	size_t b = bucket(t, g->green_id, g->session, g->service);

	t->n_free--;
	g->next = t->head[b];
	t->head[b] = (uint32_t)(slot + 1);
}

/* A slot forgotten: out of its chain, back on the free stack. */
static void index_del(struct kg_grants *t, size_t slot)
{
	struct kg_grant *g = &t->g[slot];
	uint32_t *p = &t->head[bucket(t, g->green_id, g->session, g->service)];

	while (*p && *p != slot + 1)
		p = &t->g[*p - 1].next;
	if (*p)
		*p = g->next;
	g->next = 0;
	t->free[t->n_free++] = (uint32_t)slot;
}

/* The answer's timestamp is wall clock: the caller stamps it. */
static void answer_init(struct kg_plan *p, const struct kg_sknock *k,
			const uint8_t hash[KG_SK_HASH_LEN])
{
	memset(&p->answer, 0, sizeof(p->answer));
	strcpy(p->answer.red_id, k->red_id);
	strcpy(p->answer.green_id, k->green_id);
	memcpy(p->answer.knock_hash, hash, KG_SK_HASH_LEN);
}

static void refuse(struct kg_plan *p, uint8_t reason)
{
	p->op = KG_PLAN_REFUSE;
	p->reason = reason;
	p->answer.result = KG_SK_REFUSED;
	p->answer.reason = reason;
	p->answer.port = 0;
	p->answer.lease = 0;
}

/* The lease travels as seconds (a duration), red keeps its end on the
 * monotonic clock. */
static void grant(struct kg_plan *p, enum kg_plan_op op, uint16_t port,
		  int64_t lease_end, uint32_t life)
{
	p->op = op;
	p->port = port;
	p->lease_end = lease_end;
	p->answer.result = KG_SK_GRANTED;
	p->answer.port = port;
	p->answer.lease = life;
}

/* A new mapping: a random free port of the service's pool. */
static void plan_map(const struct kg_grants *t, struct kg_plan *p,
		     uint16_t lo, uint16_t hi, uint32_t rnd, int64_t lease_end,
		     uint32_t life)
{
	uint16_t port;

	if (p->slot < 0 && !has_free_slot(t)) {
		refuse(p, KG_SK_R_BUSY);
		return;
	}
	if (kg_pool_find(&t->pool, lo, hi, rnd, &port) != 0) {
		refuse(p, KG_SK_R_POOL_EXHAUSTED);
		return;
	}
	grant(p, KG_PLAN_MAP, port, lease_end, life);
}

/* Same (green, session, service, sequence): the same request again (a
 * retry, possibly re-signed) gets the same answer; anything else reusing
 * the sequence is refused. */
static void plan_same_seq(const struct kg_grant *g, const struct kg_sknock *k,
			  int64_t now, struct kg_plan *p)
{
	if (g->action != k->action || !kg_addr_eq(&g->client, &k->client)) {
		refuse(p, KG_SK_R_SEQUENCE_REUSED);
		return;
	}
	/* the grant it was told of has ended since: never repeat a lie */
	if (g->answer.result == KG_SK_GRANTED &&
	    (g->port == 0 || g->lease_end <= now)) {
		refuse(p, KG_SK_R_NO_GRANT);
		return;
	}
	p->op = KG_PLAN_REPEAT;
	p->port = g->answer.port;
	p->lease_end = g->answer.result == KG_SK_GRANTED ? g->lease_end : 0;
	p->answer.result = g->answer.result;
	p->answer.port = g->answer.port;
	/* the same end, said as what is left of it now */
	p->answer.lease = g->answer.result == KG_SK_GRANTED
			  ? (uint32_t)(g->lease_end - now) : 0;
	p->answer.reason = g->answer.reason;
}

void kg_grants_plan(const struct kg_grants *t, const struct kg_sknock *k,
		    const uint8_t hash[KG_SK_HASH_LEN], uint16_t real_port,
		    uint16_t pool_lo, uint16_t pool_hi, uint32_t rnd,
		    int64_t now, struct kg_plan *p)
{
	uint32_t life = k->lifetime < t->max_lease ? k->lifetime : t->max_lease;
	int64_t lease_end = now + life;
	const struct kg_grant *g;

	memset(p, 0, sizeof(*p));
	answer_init(p, k, hash);
	p->slot = find(t, k);
	p->client = k->client;
	p->real_port = real_port;
	g = p->slot >= 0 ? &t->g[p->slot] : NULL;
	if (g && k->seq == g->seq) {
		plan_same_seq(g, k, now, p);
		return;
	}
	if (g && k->seq < g->seq) {
		refuse(p, KG_SK_R_STALE_SEQUENCE);
		return;
	}
	if (g && g->port && !kg_addr_eq(&g->client, &k->client)) {
		refuse(p, KG_SK_R_BAD_CLIENT);
		return;
	}
	if (k->action == KG_SK_CLOSE) {
		p->answer.result = KG_SK_CLOSED;
		p->op = g && g->port ? KG_PLAN_UNMAP : KG_PLAN_NOOP;
		if (g && g->port) {
			p->port = g->port;
			p->real_port = g->real_port;
		}
		if (p->slot < 0 && !has_free_slot(t))
			refuse(p, KG_SK_R_BUSY);
		return;
	}
	/* open or renew; a renew of a grant red lost (restart) re-opens */
	if (g && g->port) {
		grant(p, KG_PLAN_EXTEND, g->port, lease_end, life);
		return;
	}
	plan_map(t, p, pool_lo, pool_hi, rnd, lease_end, life);
}

static struct kg_grant *slot_for(struct kg_grants *t, ptrdiff_t slot)
{
	if (slot >= 0)
		return &t->g[slot];
	/* the top of the free stack; index_add takes it once filled in */
	return t->n_free ? &t->g[t->free[t->n_free - 1]] : NULL;
}

void kg_grants_commit(struct kg_grants *t, const struct kg_sknock *k,
		      const uint8_t hash[KG_SK_HASH_LEN], const struct kg_plan *p,
		      int64_t now)
{
	struct kg_grant *g;

	if (p->op == KG_PLAN_REFUSE || p->op == KG_PLAN_REPEAT)
		return;
	g = slot_for(t, p->slot);
	if (!g)
		return;
	if (!g->used) {
		memset(g, 0, sizeof(*g));
		g->used = true;
		strcpy(g->green_id, k->green_id);
		g->session = k->session;
		strcpy(g->service, k->service);
		index_add(t, (size_t)(g - t->g));
	}
	g->seq = k->seq;
	g->action = k->action;
	memcpy(g->hash, hash, KG_SK_HASH_LEN);
	g->client = k->client;
	g->answer = p->answer;
	if (p->op == KG_PLAN_MAP)
		kg_pool_mark(&t->pool, p->port, true);
	if (p->op == KG_PLAN_UNMAP)
		kg_pool_mark(&t->pool, g->port, false);
	g->port = p->op == KG_PLAN_UNMAP || p->op == KG_PLAN_NOOP ? 0 : p->port;
	g->real_port = p->real_port;
	g->lease_end = g->port ? p->lease_end : 0;
	g->keep_until = (g->port ? p->lease_end : now) + t->keep;
}

size_t kg_grants_expire(struct kg_grants *t, int64_t now,
			void (*cb)(const struct kg_grant *g, void *arg),
			void *arg)
{
	size_t ended = 0;

	for (size_t i = 0; i < t->cap; i++) {
		struct kg_grant *g = &t->g[i];

		if (!g->used)
			continue;
		if (g->port && g->lease_end <= now) {
			if (cb)
				cb(g, arg);
			kg_pool_mark(&t->pool, g->port, false);
			g->port = 0;
			g->keep_until = now + t->keep;
			ended++;
		}
		if (!g->port && g->keep_until <= now) {
			index_del(t, i);
			g->used = false;
		}
	}
	return ended;
}

size_t kg_grants_live(const struct kg_grants *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++)
		n += t->g[i].used && t->g[i].port;
	return n;
}
