/* SPDX-License-Identifier: MIT */
#include "lib/replay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

struct entry {
	uint8_t key[KG_RCACHE_KEY_LEN];
	uint64_t expires_ms;   /* 0: free slot */
};

struct kg_rcache {
	size_t max, count, cap;   /* cap: power of two >= 2 * max */
	uint64_t seed;
	uint64_t min_expiry;      /* earliest expiry among entries */
	struct entry *v;
};

int kg_rcache_new(size_t max_entries, struct kg_rcache **out)
{
	struct kg_rcache *c;
	size_t cap = 16;
	int rc;

	if (max_entries == 0 || max_entries > (SIZE_MAX / 4) / sizeof(struct entry))
		return -EINVAL;
	while (cap < 2 * max_entries)
		cap <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->v = calloc(cap, sizeof(*c->v));
	if (!c->v) {
		free(c);
		return -ENOMEM;
	}
	rc = kg_random(&c->seed, sizeof(c->seed));
	if (rc) {
		kg_rcache_free(c);
		return rc;
	}
	c->max = max_entries;
	c->cap = cap;
	c->min_expiry = UINT64_MAX;
	*out = c;
	return 0;
}

void kg_rcache_free(struct kg_rcache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

size_t kg_rcache_count(const struct kg_rcache *c)
{
	return c->count;
}

static size_t bucket(const struct kg_rcache *c, const uint8_t *key)
{
	uint64_t x;

	memcpy(&x, key, sizeof(x));
	x ^= c->seed;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x & (c->cap - 1);
}

static void put(struct kg_rcache *c, const uint8_t *key, uint64_t expires_ms)
{
	size_t b = bucket(c, key);

	while (c->v[b].expires_ms)
		b = (b + 1) & (c->cap - 1);
	memcpy(c->v[b].key, key, KG_RCACHE_KEY_LEN);
	c->v[b].expires_ms = expires_ms;
	c->count++;
	if (expires_ms < c->min_expiry)
		c->min_expiry = expires_ms;
}

/* Re-inserts live entries only (open addressing has no cheap delete). Runs
 * only when full and something has expired, so at most once per window's
 * worth of insertions. */
static int purge(struct kg_rcache *c, uint64_t now_ms)
{
	struct entry *old = c->v, *v = calloc(c->cap, sizeof(*v));
	size_t cap = c->cap;

	if (!v)
		return -ENOMEM;
	c->v = v;
	c->count = 0;
	c->min_expiry = UINT64_MAX;
	for (size_t i = 0; i < cap; i++)
		if (old[i].expires_ms > now_ms)
			put(c, old[i].key, old[i].expires_ms);
	free(old);
	return 0;
}

bool kg_rcache_contains(const struct kg_rcache *c, const uint8_t *key,
			uint64_t now_ms)
{
	for (size_t b = bucket(c, key); c->v[b].expires_ms;
	     b = (b + 1) & (c->cap - 1)) {
		if (c->v[b].expires_ms > now_ms &&
		    !memcmp(c->v[b].key, key, KG_RCACHE_KEY_LEN))
			return true;
	}
	return false;
}

int kg_rcache_add(struct kg_rcache *c, const uint8_t *key, uint64_t expires_ms,
		  uint64_t now_ms)
{
	int rc;

	if (kg_rcache_contains(c, key, now_ms))
		return -EEXIST;
	if (expires_ms <= now_ms)
		return 0;   /* already outside the window: nothing to remember */
	if (c->count >= c->max) {
		if (c->min_expiry > now_ms)
			return -ENOSPC;
		rc = purge(c, now_ms);
		if (rc)
			return rc;
		if (c->count >= c->max)
			return -ENOSPC;
	}
	put(c, key, expires_ms);
	return 0;
}
