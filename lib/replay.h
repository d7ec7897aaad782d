/* SPDX-License-Identifier: MIT */
/*
 * A bounded replay cache of knock keys (green: nonce and tag; red: the
 * signed knock's hash). Each entry lives until its knock leaves the
 * acceptance window. When the cache is full of entries still in their
 * window it refuses new ones (the caller rejects the knock) instead of
 * evicting: evicting would let an attacker flush a captured knock out and
 * replay it. Pure: time is passed in (ms; callers counting in seconds
 * multiply by 1000).
 */
#ifndef KG_LIB_REPLAY_H
#define KG_LIB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Key length of green's knock replay key (nonce and first tag bytes). */
#define KG_RCACHE_KEY_LEN 16
/* Longest key a cache takes. */
#define KG_RCACHE_KEY_MAX 64
/* Most live entries one owner (green: one user) may hold at once. */
#define KG_RCACHE_SHARE_MAX 16

struct kg_rcache;

/* One owner's entries, by expiry (0: unused): kept by the caller (green
 * keeps one per user), so one stolen key cannot fill the whole cache and
 * lock every other user out; only that user is refused. */
struct kg_rcache_share {
	uint64_t exp[KG_RCACHE_SHARE_MAX];
};

/* A cache for up to max_entries (> 0) keys of key_len bytes each
 * (1..KG_RCACHE_KEY_MAX); every key passed to it later is key_len bytes.
 * *out is owned by the caller (kg_rcache_free); the cache copies keys, it
 * keeps no pointer to them. 0, -EINVAL (max_entries or key_len out of
 * range), -ENOMEM, -EIO (no randomness for the hash seed). */
int kg_rcache_new(size_t max_entries, size_t key_len, struct kg_rcache **out);
/* NULL is fine. */
void kg_rcache_free(struct kg_rcache *c);

/* Records key until expires_ms. 0 if it was new (or expires_ms <= now_ms:
 * already dead, nothing recorded); -EEXIST if a live entry has it (a
 * replay); -ENOSPC if the cache is full of live entries (nothing
 * recorded); -ENOMEM if reclaiming dead entries failed (nothing recorded).
 * Entries with expires_ms <= now_ms are dead and are reclaimed when room
 * is needed. */
int kg_rcache_add(struct kg_rcache *c, const uint8_t *key, uint64_t expires_ms,
		  uint64_t now_ms);
/* As kg_rcache_add, for an owner allowed share (1..KG_RCACHE_SHARE_MAX)
 * live entries at once: -EDQUOT (nothing recorded) when sh already holds
 * share entries with expires > now_ms; otherwise kg_rcache_add's result,
 * the entry counted in sh when recorded. */
int kg_rcache_add_shared(struct kg_rcache *c, const uint8_t *key,
			 uint64_t expires_ms, uint64_t now_ms,
			 struct kg_rcache_share *sh, size_t share);
/* Live entries sh counts at now_ms. */
size_t kg_rcache_share_used(const struct kg_rcache_share *sh, uint64_t now_ms);
/* True if a live entry (expires_ms > now_ms) holds key. */
bool kg_rcache_contains(const struct kg_rcache *c, const uint8_t *key,
			uint64_t now_ms);
/* Entries held, live or not yet reclaimed. */
size_t kg_rcache_count(const struct kg_rcache *c);

#endif
