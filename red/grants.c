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
	t->chead = calloc(t->n_head, sizeof(*t->chead));
	t->free = calloc(cap ? cap : 1, sizeof(*t->free));
	t->pruning = calloc(cap ? cap : 1, sizeof(*t->pruning));
	t->keys = calloc(cap ? cap : 1, sizeof(*t->keys));
	t->khead = calloc(t->n_head, sizeof(*t->khead));
	t->kfree = calloc(cap ? cap : 1, sizeof(*t->kfree));
	if (!t->g || !t->head || !t->chead || !t->free || !t->pruning ||
	    !t->keys || !t->khead || !t->kfree ||
	    kg_theap_init(&t->life, cap) || kg_theap_init(&t->hop, cap) ||
	    kg_theap_init(&t->prune, cap)) {
		kg_grants_free(t);
		return -ENOMEM;
	}
	t->cap = cap;
	/* popped from the end: slot 0 first */
	for (size_t i = 0; i < cap; i++)
		t->free[i] = t->kfree[i] = (uint32_t)(cap - 1 - i);
	t->n_free = t->n_kfree = cap;
	t->max_lease = max_lease;
	t->keep = keep;
	return 0;
}

void kg_grants_free(struct kg_grants *t)
{
	free(t->g);
	free(t->head);
	free(t->chead);
	free(t->free);
	free(t->pruning);
	free(t->keys);
	free(t->khead);
	free(t->kfree);
	kg_theap_free(&t->life);
	kg_theap_free(&t->hop);
	kg_theap_free(&t->prune);
	t->g = NULL;
	t->keys = NULL;
	t->head = t->chead = t->free = t->pruning = t->khead = t->kfree = NULL;
	t->cap = t->n_free = t->n_pruning = t->n_live = t->n_kfree = 0;
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

/* The same over a client address (family and bytes). */
static size_t cbucket(const struct kg_grants *t, const struct kg_addr *a)
{
	uint64_t h = 1469598103934665603ULL ^ (uint8_t)a->family;
	size_t n = kg_addr_len(a);

	for (size_t i = 0; i < n; i++)
		h = (h ^ a->b[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (t->n_head - 1);
}

/* The ban key's entry (its chain link, for removal), or NULL. The keys
 * come from live grants only (authenticated clients); a spoofed source
 * asking only reads one chain. */
static uint32_t *key_link(const struct kg_grants *t, const struct kg_addr *key)
{
	uint32_t *p = &t->khead[cbucket(t, key)];

	while (*p && !kg_addr_eq(&t->keys[*p - 1].key, key))
		p = &t->keys[*p - 1].next;
	return p;
}

size_t kg_grants_live_at(const struct kg_grants *t, const struct kg_addr *a)
{
	struct kg_addr key;
	uint32_t *p;

	if (!t->khead)
		return 0;
	kg_addr_ban_key(a, &key);
	p = key_link(t, &key);
	return *p ? t->keys[*p - 1].live : 0;
}

/* One live grant more (+1) or fewer (-1) under client's ban key. An entry
 * is always free when one is added: each entry in use holds a live grant,
 * and there are at most cap of those. */
static void key_count(struct kg_grants *t, const struct kg_addr *client,
		      int d)
{
	struct kg_addr key;
	uint32_t *p, e;

	kg_addr_ban_key(client, &key);
	p = key_link(t, &key);
	if (!*p) {
		if (d < 0 || !t->n_kfree)
			return;
		e = t->kfree[--t->n_kfree];
		t->keys[e] = (struct kg_grant_key){ .key = key, .live = 0,
						    .next = *p };
		*p = e + 1;
	}
	e = *p - 1;
	if (d > 0) {
		t->keys[e].live++;
		return;
	}
	if (--t->keys[e].live == 0) {
		*p = t->keys[e].next;
		t->kfree[t->n_kfree++] = e;
	}
}

static void client_add(struct kg_grants *t, size_t slot)
{
	struct kg_grant *g = &t->g[slot];
	size_t b = cbucket(t, &g->client);

	g->cnext = t->chead[b];
	t->chead[b] = (uint32_t)(slot + 1);
}

static void client_del(struct kg_grants *t, size_t slot)
{
	struct kg_grant *g = &t->g[slot];
	uint32_t *p = &t->chead[cbucket(t, &g->client)];

	while (*p && *p != slot + 1)
		p = &t->g[*p - 1].cnext;
	if (*p)
		*p = g->cnext;
	g->cnext = 0;
}

static ptrdiff_t lookup(const struct kg_grants *t, const char *green_id,
			uint64_t session, const char *service)
{
	uint32_t i = t->head[bucket(t, green_id, session, service)];

	for (; i; i = t->g[i - 1].next) {
		const struct kg_grant *g = &t->g[i - 1];

		if (g->used && g->session == session &&
		    strcmp(g->green_id, green_id) == 0 &&
		    strcmp(g->service, service) == 0)
			return (ptrdiff_t)(i - 1);
	}
	return -1;
}

static ptrdiff_t find(const struct kg_grants *t, const struct kg_sknock *k)
{
	return lookup(t, k->green_id, k->session, k->service);
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

/* The slot's timers after a change of its lease, port or ring. */
static void life_sync(struct kg_grants *t, size_t slot)
{
	const struct kg_grant *g = &t->g[slot];

	if (!g->used)
		kg_theap_del(&t->life, (uint32_t)slot);
	else
		kg_theap_set(&t->life, (uint32_t)slot,
			     g->port ? g->lease_end : g->keep_until);
}

void kg_grants_hop_sync(struct kg_grants *t, size_t slot, int64_t now_ms)
{
	const struct kg_grant *g = &t->g[slot];

	if (!g->used || !g->port || !g->hop_due_ms)
		kg_theap_del(&t->hop, (uint32_t)slot);
	else
		kg_theap_set(&t->hop, (uint32_t)slot,
			     g->hop_due_ms > now_ms ? g->hop_due_ms : now_ms + 1);
}

/* A ring past two ports gets a prune timer (kept if it has one); one of
 * two ports or fewer needs none. */
static void prune_sync(struct kg_grants *t, size_t slot, int64_t now_ms)
{
	const struct kg_grant *g = &t->g[slot];

	if (!g->used || !g->port || g->n_held <= 2)
		kg_theap_del(&t->prune, (uint32_t)slot);
	else if (!kg_theap_armed(&t->prune, (uint32_t)slot))
		kg_theap_set(&t->prune, (uint32_t)slot, now_ms + KG_GRANT_PRUNE_MS);
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
	client_del(t, slot);
	kg_theap_del(&t->life, (uint32_t)slot);
	kg_theap_del(&t->hop, (uint32_t)slot);
	kg_theap_del(&t->prune, (uint32_t)slot);
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

void kg_grants_client_ports(const struct kg_grants *t,
			    const struct kg_addr *client, struct kg_pool *used)
{
	for (uint32_t i = t->chead[cbucket(t, client)]; i; i = t->g[i - 1].cnext) {
		const struct kg_grant *g = &t->g[i - 1];

		if (!g->used || !g->port || !kg_addr_eq(&g->client, client))
			continue;
		kg_pool_mark(used, g->port, true);
		for (size_t j = 0; j < g->n_held; j++)
			kg_pool_mark(used, g->held[j], true);
	}
}

/* A new mapping: a random port of the service's pool that this client
 * does not hold (ports between the pool's ranges count as held). */
static void plan_map(const struct kg_grants *t, struct kg_plan *p,
		     const struct kg_hop_conf *pool, uint32_t rnd,
		     int64_t lease_end, uint32_t life)
{
	static struct kg_pool used;   /* 8 KiB: not on the stack */
	uint16_t port, lo = 0, hi = 0;

	if (p->slot < 0 && !has_free_slot(t)) {
		refuse(p, KG_SK_R_BUSY);
		return;
	}
	kg_pool_init(&used);
	for (size_t i = 0; i < pool->n_pool; i++) {
		if (!lo || pool->pool[i].lo < lo)
			lo = pool->pool[i].lo;
		if (pool->pool[i].hi > hi)
			hi = pool->pool[i].hi;
	}
	for (uint32_t q = lo; lo && pool->n_pool > 1 && q <= hi; q++) {
		bool in = false;

		for (size_t i = 0; i < pool->n_pool; i++)
			in |= q >= pool->pool[i].lo && q <= pool->pool[i].hi;
		kg_pool_mark(&used, (uint16_t)q, !in);
	}
	kg_grants_client_ports(t, &p->client, &used);
	if (!lo || kg_pool_find(&used, lo, hi, rnd, &port) != 0) {
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
		    const struct kg_hop_conf *pool, uint32_t rnd,
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
			p->daddr = g->daddr;
			memcpy(p->held, g->held, sizeof(p->held));
			p->n_held = g->n_held;
		}
		if (p->slot < 0 && !has_free_slot(t))
			refuse(p, KG_SK_R_BUSY);
		return;
	}
	/* open or renew; a renew of a grant red lost (restart) re-opens */
	if (g && g->port) {
		grant(p, KG_PLAN_EXTEND, g->port, lease_end, life);
		p->daddr = g->daddr;
		memcpy(p->held, g->held, sizeof(p->held));
		p->n_held = g->n_held;
		return;
	}
	plan_map(t, p, pool, rnd, lease_end, life);
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
	struct kg_addr was_client;
	bool was_live;
	size_t slot;

	if (p->op == KG_PLAN_REFUSE || p->op == KG_PLAN_REPEAT)
		return;
	g = slot_for(t, p->slot);
	if (!g)
		return;
	slot = (size_t)(g - t->g);
	was_live = g->used && g->port;
	was_client = g->client;
	if (!g->used) {
		memset(g, 0, sizeof(*g));
		g->used = true;
		strcpy(g->green_id, k->green_id);
		g->session = k->session;
		strcpy(g->service, k->service);
		g->client = k->client;
		index_add(t, (size_t)(g - t->g));
		client_add(t, (size_t)(g - t->g));
	}
	if (!kg_addr_eq(&g->client, &k->client)) {
		client_del(t, (size_t)(g - t->g));
		g->client = k->client;
		client_add(t, (size_t)(g - t->g));
	}
	g->seq = k->seq;
	g->action = k->action;
	memcpy(g->hash, hash, KG_SK_HASH_LEN);
	g->answer = p->answer;
	if (p->op == KG_PLAN_MAP) {
		g->held[0] = p->port;
		g->n_held = 1;
		memset(&g->daddr, 0, sizeof(g->daddr));
		g->hops = 0;
		g->hop_due_ms = 0;
	}
	if (p->op == KG_PLAN_UNMAP || p->op == KG_PLAN_NOOP) {
		g->n_held = 0;
		g->hop_due_ms = 0;
	}
	g->port = p->op == KG_PLAN_UNMAP || p->op == KG_PLAN_NOOP ? 0 : p->port;
	g->real_port = p->real_port;
	g->lease_end = g->port ? p->lease_end : 0;
	g->keep_until = (g->port ? p->lease_end : now) + t->keep;
	if (was_live != (g->port != 0))
		t->n_live += was_live ? (size_t)-1 : 1;
	if (was_live)
		key_count(t, &was_client, -1);
	if (g->port)
		key_count(t, &g->client, +1);
	life_sync(t, slot);
	kg_grants_hop_sync(t, slot, 0);
	/* a ring only grows by hops (kg_grants_hop_commit); here it is
	 * reset or unchanged */
	if (g->n_held <= 2)
		kg_theap_del(&t->prune, (uint32_t)slot);
}

size_t kg_grants_expire(struct kg_grants *t, int64_t now,
			void (*cb)(const struct kg_grant *g, void *arg),
			void *arg)
{
	size_t ended = 0;
	uint32_t i;
	int64_t at;

	/* each grant taken leaves the heap or moves past now */
	while (kg_theap_top(&t->life, &i, &at) && at <= now) {
		struct kg_grant *g = &t->g[i];

		if (g->port && g->lease_end <= now) {
			if (cb)
				cb(g, arg);
			g->port = 0;
			g->n_held = 0;
			g->hop_due_ms = 0;
			g->keep_until = now + t->keep;
			t->n_live--;
			key_count(t, &g->client, -1);
			kg_theap_del(&t->hop, i);
			kg_theap_del(&t->prune, i);
			ended++;
		}
		if (!g->port && g->keep_until <= now) {
			index_del(t, i);
			g->used = false;
			continue;
		}
		life_sync(t, i);
	}
	return ended;
}

size_t kg_grants_live(const struct kg_grants *t)
{
	return t->n_live;
}

struct kg_grant *kg_grants_find(struct kg_grants *t, const char *green_id,
				uint64_t session, const char *service)
{
	ptrdiff_t i = lookup(t, green_id, session, service);

	return i < 0 ? NULL : &t->g[i];
}

void kg_grants_hop_start(struct kg_grants *t, struct kg_grant *g,
			 int64_t now_ms, uint32_t first_ms)
{
	g->hop_due_ms = first_ms ? now_ms + first_ms : 0;
	kg_grants_hop_sync(t, (size_t)(g - t->g), now_ms);
}

ptrdiff_t kg_grants_hop_next(const struct kg_grants *t, int64_t now_ms)
{
	uint32_t i;
	int64_t at;

	if (kg_theap_top(&t->hop, &i, &at) && at <= now_ms)
		return (ptrdiff_t)i;
	return -1;
}

int kg_grants_hop_plan(const struct kg_grants *t, size_t slot,
		       const struct kg_hop_conf *h, kg_hop_rand_fn rnd,
		       void *ctx, int64_t now_ms, int64_t now_s,
		       struct kg_hop_plan *hp)
{
	static struct kg_pool used;   /* 8 KiB: not on the stack */
	const struct kg_grant *g = &t->g[slot];
	int r;

	memset(hp, 0, sizeof(*hp));
	if (!g->used || !g->port || g->lease_end <= now_s)
		return -ENOENT;
	/* A port held for established flows is not handed out again while
	 * another is free (a scanner's find stays stale); in a pool too
	 * small for that, any port but the client's current ones will do. */
	kg_pool_init(&used);
	kg_grants_client_ports(t, &g->client, &used);
	r = kg_hop_port(h, &used, g->port, rnd, ctx, &hp->port);
	if (r == -ENOSPC) {
		kg_pool_init(&used);
		for (uint32_t i = t->chead[cbucket(t, &g->client)]; i;
		     i = t->g[i - 1].cnext)
			if (t->g[i - 1].used && t->g[i - 1].port &&
			    kg_addr_eq(&t->g[i - 1].client, &g->client))
				kg_pool_mark(&used, t->g[i - 1].port, true);
		r = kg_hop_port(h, &used, g->port, rnd, ctx, &hp->port);
	}
	if (r || (r = kg_hop_interval(h, rnd, ctx, &hp->next_ms)))
		return r;
	hp->slot = slot;
	hp->client = g->client;
	hp->old_port = g->port;
	hp->addr = hp->old_addr = g->daddr;
	hp->real_port = g->real_port;
	hp->overlap_ms = h->overlap_ms;
	hp->lease_ms = (uint32_t)((g->lease_end - now_s) * 1000);
	hp->hop = g->hops + 1;
	(void)now_ms;
	return 0;
}

void kg_grants_hop_commit(struct kg_grants *t, const struct kg_hop_plan *hp,
			  int64_t now_ms)
{
	struct kg_grant *g = &t->g[hp->slot];
	size_t i;

	g->port = hp->port;
	g->daddr = hp->addr;
	g->answer.port = hp->port;
	g->hops = hp->hop;
	g->hop_due_ms = now_ms + hp->next_ms;
	for (i = 0; i < g->n_held && g->held[i] != hp->port; i++)
		;
	if (i == g->n_held) {
		if (g->n_held == KG_GRANT_HELD_MAX) {
			memmove(g->held, g->held + 1,
				(KG_GRANT_HELD_MAX - 1) * sizeof(g->held[0]));
			g->n_held--;
		}
		g->held[g->n_held++] = hp->port;
	}
	kg_grants_hop_sync(t, hp->slot, now_ms);
	prune_sync(t, hp->slot, now_ms);
}

size_t kg_grants_held_due(struct kg_grants *t, int64_t now_ms)
{
	uint32_t i;
	int64_t at;

	/* a round left open (no prune since) starts again */
	kg_grants_held_abandon(t, now_ms);
	while (kg_theap_top(&t->prune, &i, &at) && at <= now_ms) {
		kg_theap_del(&t->prune, i);
		t->g[i].pruning = true;
		t->g[i].held_live = 0;
		t->pruning[t->n_pruning++] = i;
	}
	return t->n_pruning;
}

void kg_grants_held_seen(struct kg_grants *t, const struct kg_addr *src,
			 uint16_t dport)
{
	for (uint32_t i = t->chead[cbucket(t, src)]; i; i = t->g[i - 1].cnext) {
		struct kg_grant *g = &t->g[i - 1];

		if (!g->used || !g->port || !g->pruning || g->n_held <= 2 ||
		    !kg_addr_eq(&g->client, src))
			continue;
		for (size_t j = 0; j < g->n_held; j++)
			if (g->held[j] == dport)
				g->held_live |= 1u << j;
	}
}

void kg_grants_held_prune(struct kg_grants *t, int64_t now_ms,
			  void (*gone)(const struct kg_grant *g, uint16_t port,
				       void *arg),
			  void *arg)
{
	for (size_t r = 0; r < t->n_pruning; r++) {
		size_t i = t->pruning[r];
		struct kg_grant *g = &t->g[i];
		size_t k = 0;

		g->pruning = false;
		if (!g->used || !g->port || g->n_held <= 2) {
			g->held_live = 0;
			continue;
		}
		for (size_t j = 0; j < g->n_held; j++) {
			if (j + 2 >= g->n_held || (g->held_live & (1u << j)))
				g->held[k++] = g->held[j];
			else if (gone)
				gone(g, g->held[j], arg);
		}
		g->n_held = k;
		g->held_live = 0;
		prune_sync(t, i, now_ms);
	}
	t->n_pruning = 0;
}

void kg_grants_held_abandon(struct kg_grants *t, int64_t now_ms)
{
	for (size_t r = 0; r < t->n_pruning; r++) {
		size_t i = t->pruning[r];

		t->g[i].pruning = false;
		t->g[i].held_live = 0;
		prune_sync(t, i, now_ms);
	}
	t->n_pruning = 0;
}
