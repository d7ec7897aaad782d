/* SPDX-License-Identifier: MIT */
/*
 * A bounded replay cache of knock nonces. Each entry lives until its knock
 * leaves the acceptance window. When the cache is full of entries still in
 * their window it refuses new ones (the caller rejects the knock) instead
 * of evicting: evicting would let an attacker flush a captured knock out
 * and replay it.
 */
#ifndef KG_LIB_REPLAY_H
#define KG_LIB_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KG_RCACHE_KEY_LEN 16

struct kg_rcache;

/* max_entries > 0. *out owned by the caller (kg_rcache_free). 0, -EINVAL,
 * -ENOMEM, -EIO (no randomness for the hash seed). */
int kg_rcache_new(size_t max_entries, struct kg_rcache **out);
void kg_rcache_free(struct kg_rcache *c);

/* Records key (KG_RCACHE_KEY_LEN bytes) until expires_ms. 0 if it was
 * new; -EEXIST if a live entry has it (a replay); -ENOSPC if the cache is
 * full of live entries (nothing recorded). Entries with expires_ms <=
 * now_ms are dead and are reclaimed when room is needed. */
int kg_rcache_add(struct kg_rcache *c, const uint8_t *key, uint64_t expires_ms,
		  uint64_t now_ms);
/* True if a live entry (expires_ms > now_ms) holds key. */
bool kg_rcache_contains(const struct kg_rcache *c, const uint8_t *key,
			uint64_t now_ms);
size_t kg_rcache_count(const struct kg_rcache *c);

#endif
