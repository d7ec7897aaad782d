/* SPDX-License-Identifier: MIT */
/*
 * Hash indexes and the timer heap of green's session table (session.c),
 * so that every lookup and every expiry is O(1) or O(log n) whatever the
 * number of sessions.
 *
 * The sessions live in one dense array owned by session.c; these
 * structures hold array positions only, never copies of keys: a lookup
 * compares against the array through a callback. Every structure is sized
 * once, from the table's capacity (max_clients), and never grows, so no
 * add can fail for memory after start.
 *
 *   struct kg_sidx   open addressing (linear probing, backward-shift
 *                    removal: no tombstones, lookups stay short however
 *                    long green runs), load at most 1/2. Values are
 *                    positions (uint32); keys live in the caller's array.
 *   struct kg_srcidx (source address, tag) -> number of (session, slot)
 *                    pairs holding it: "is this source in use by any
 *                    other session" in O(1) even when thousands of users
 *                    share one NAT address. The tag tells apart uses
 *                    that are different openings (the session's WireGuard
 *                    shard); 0 where there is one kind.
 *   struct kg_sheap  binary min-heap of positions keyed by a time.
 *
 * Hashes are keyed with a secret drawn at init (kg_sidx_seed), so a user
 * picking WireGuard keys or source addresses cannot aim at one chain.
 * Memory: all arrays owned by the structure; *_free releases them.
 * Errors: -ENOMEM, -EINVAL for a zero capacity.
 */
#ifndef KG_GREEN_SESSION_INDEX_H
#define KG_GREEN_SESSION_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define KG_SIDX_NONE UINT32_MAX

/* Keyed hash of n bytes (any n). */
uint64_t kg_sidx_hash(uint64_t seed, const void *p, size_t n);
/* A fresh secret for kg_sidx_hash (kg_random; a fixed one if that fails,
 * logged by the caller's choice). */
uint64_t kg_sidx_seed(void);

/* match(ctx, pos, key): true if the entry at pos has that key.
 * hash(ctx, pos): the hash of the entry at pos (for backward shifts). */
typedef bool (*kg_sidx_match_fn)(const void *ctx, uint32_t pos, const void *key);
typedef uint64_t (*kg_sidx_hash_fn)(const void *ctx, uint32_t pos);

struct kg_sidx {
	uint32_t *slot;   /* pos + 1; 0 = empty */
	size_t mask;
	kg_sidx_match_fn match;
	kg_sidx_hash_fn hash;
	const void *ctx;
};

/* Room for cap entries at load <= 1/2. */
int kg_sidx_init(struct kg_sidx *x, size_t cap, kg_sidx_match_fn match,
		 kg_sidx_hash_fn hash, const void *ctx);
void kg_sidx_free(struct kg_sidx *x);
/* The position of key (hash h), or KG_SIDX_NONE. */
uint32_t kg_sidx_find(const struct kg_sidx *x, uint64_t h, const void *key);
/* Adds pos under hash h (the key must not be present). */
void kg_sidx_add(struct kg_sidx *x, uint64_t h, uint32_t pos);
/* Removes the entry holding pos under hash h; false if absent. */
bool kg_sidx_del(struct kg_sidx *x, uint64_t h, uint32_t pos);
/* The entry holding from (hash h) now holds to (the array moved it). */
void kg_sidx_move(struct kg_sidx *x, uint64_t h, uint32_t from, uint32_t to);

struct kg_srcidx_ent {
	struct kg_addr a;
	uint16_t tag;
	uint32_t count;   /* 0 = empty slot */
};

struct kg_srcidx {
	struct kg_srcidx_ent *e;
	size_t mask;
	uint64_t seed;
};

/* Room for cap distinct sources at load <= 3/4. */
int kg_srcidx_init(struct kg_srcidx *x, size_t cap, uint64_t seed);
void kg_srcidx_free(struct kg_srcidx *x);
void kg_srcidx_inc(struct kg_srcidx *x, const struct kg_addr *a, uint16_t tag);
void kg_srcidx_dec(struct kg_srcidx *x, const struct kg_addr *a, uint16_t tag);
uint32_t kg_srcidx_count(const struct kg_srcidx *x, const struct kg_addr *a,
			 uint16_t tag);

/* Heap of positions; key(ctx, pos) gives the time, pos_of(ctx, pos) the
 * slot in the session that stores its heap index (kept up to date). */
typedef int64_t (*kg_sheap_key_fn)(const void *ctx, uint32_t pos);
typedef uint32_t *(*kg_sheap_at_fn)(void *ctx, uint32_t pos);

struct kg_sheap {
	uint32_t *h;
	size_t n, cap;
	kg_sheap_key_fn key;
	kg_sheap_at_fn at;
	void *ctx;
};

int kg_sheap_init(struct kg_sheap *q, size_t cap, kg_sheap_key_fn key,
		  kg_sheap_at_fn at, void *ctx);
void kg_sheap_free(struct kg_sheap *q);
/* Adds pos (room is there: at most cap entries). */
void kg_sheap_push(struct kg_sheap *q, uint32_t pos);
/* pos's key changed: restores the order. */
void kg_sheap_fix(struct kg_sheap *q, uint32_t pos);
void kg_sheap_del(struct kg_sheap *q, uint32_t pos);
/* The array moved the session at from to to. */
void kg_sheap_move(struct kg_sheap *q, uint32_t from, uint32_t to);
/* The earliest position, or KG_SIDX_NONE if empty. */
uint32_t kg_sheap_top(const struct kg_sheap *q);

#endif
