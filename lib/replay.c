/* SPDX-License-Identifier: MIT */
#include "lib/replay.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

struct kg_rcache {
	size_t max, count, cap;   /* cap: power of two >= 2 * max */
	size_t key_len;           /* 1..KG_RCACHE_KEY_MAX */
	uint64_t seed;
	uint64_t min_expiry;      /* earliest expiry among entries */
	uint64_t *exp;            /* cap expiries; 0: free slot */
	uint8_t *keys;            /* cap keys of key_len bytes */
};

/* The slot arrays for cap entries; 0 or -ENOMEM (nothing allocated). */
static int alloc_slots(size_t cap, size_t key_len, uint64_t **exp,
		       uint8_t **keys)
{
	*exp = calloc(cap, sizeof(**exp));
	*keys = malloc(cap * key_len);
	if (*exp && *keys)
		return 0;
	free(*exp);
	free(*keys);
	return -ENOMEM;
}

int kg_rcache_new(size_t max_entries, size_t key_len, struct kg_rcache **out)
{
	struct kg_rcache *c;
	size_t cap = 16;
	int rc;

	if (key_len == 0 || key_len > KG_RCACHE_KEY_MAX || max_entries == 0 ||
	    max_entries > (SIZE_MAX / 4) / (sizeof(uint64_t) + key_len))
		return -EINVAL;
	while (cap < 2 * max_entries)
		cap <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (alloc_slots(cap, key_len, &c->exp, &c->keys)) {
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
	c->key_len = key_len;
	c->min_expiry = UINT64_MAX;
	*out = c;
	return 0;
}

void kg_rcache_free(struct kg_rcache *c)
{
	if (!c)
		return;
	free(c->exp);
	free(c->keys);
	free(c);
}

size_t kg_rcache_count(const struct kg_rcache *c)
{
	return c->count;
}

static uint8_t *key_at(const struct kg_rcache *c, size_t b)
{
	return c->keys + b * c->key_len;
}

/* Seeded splitmix64 finaliser over the key in 8-byte words. */
static size_t bucket(const struct kg_rcache *c, const uint8_t *key)
{
	uint64_t h = c->seed;

	for (size_t i = 0; i < c->key_len; i += sizeof(uint64_t)) {
		size_t n = c->key_len - i;
		uint64_t x = 0;

		memcpy(&x, key + i, n < sizeof(x) ? n : sizeof(x));
		x ^= h;
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		h = x ^ (x >> 31);
	}
	return (size_t)h & (c->cap - 1);
}

static void put(struct kg_rcache *c, const uint8_t *key, uint64_t expires_ms)
{
	size_t b = bucket(c, key);

	while (c->exp[b])
		b = (b + 1) & (c->cap - 1);
	memcpy(key_at(c, b), key, c->key_len);
	c->exp[b] = expires_ms;
	c->count++;
	if (expires_ms < c->min_expiry)
		c->min_expiry = expires_ms;
}

/* Re-inserts live entries only (open addressing has no cheap delete). Runs
 * only when full and something has expired, so at most once per window's
 * worth of insertions. */
static int purge(struct kg_rcache *c, uint64_t now_ms)
{
	uint64_t *old_exp = c->exp;
	uint8_t *old_keys = c->keys;
	size_t cap = c->cap;

	if (alloc_slots(cap, c->key_len, &c->exp, &c->keys)) {
		c->exp = old_exp;
		c->keys = old_keys;
		return -ENOMEM;
	}
	c->count = 0;
	c->min_expiry = UINT64_MAX;
	for (size_t i = 0; i < cap; i++)
		if (old_exp[i] > now_ms)
			put(c, old_keys + i * c->key_len, old_exp[i]);
	free(old_exp);
	free(old_keys);
	return 0;
}

bool kg_rcache_contains(const struct kg_rcache *c, const uint8_t *key,
			uint64_t now_ms)
{
	for (size_t b = bucket(c, key); c->exp[b];
	     b = (b + 1) & (c->cap - 1)) {
		if (c->exp[b] > now_ms &&
		    !memcmp(key_at(c, b), key, c->key_len))
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

size_t kg_rcache_share_used(const struct kg_rcache_share *sh, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < KG_RCACHE_SHARE_MAX; i++)
		n += sh->exp[i] > now_ms;
	return n;
}

int kg_rcache_add_shared(struct kg_rcache *c, const uint8_t *key,
			 uint64_t expires_ms, uint64_t now_ms,
			 struct kg_rcache_share *sh, size_t share)
{
	size_t free_slot = KG_RCACHE_SHARE_MAX;
	int rc;

	if (share == 0 || share > KG_RCACHE_SHARE_MAX)
		return -EINVAL;
	if (kg_rcache_share_used(sh, now_ms) >= share) {
		/* a replay is still a replay, whatever the share */
		return kg_rcache_contains(c, key, now_ms) ? -EEXIST : -EDQUOT;
	}
	for (size_t i = 0; i < KG_RCACHE_SHARE_MAX; i++)
		if (sh->exp[i] <= now_ms) {
			free_slot = i;
			break;
		}
	rc = kg_rcache_add(c, key, expires_ms, now_ms);
	if (rc == 0 && expires_ms > now_ms && free_slot < KG_RCACHE_SHARE_MAX)
		sh->exp[free_slot] = expires_ms;
	return rc;
}
