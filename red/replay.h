/* SPDX-License-Identifier: MIT */
/*
 * Red's replay cache: knock hashes seen inside the acceptance window.
 * Fixed capacity; when full of entries still inside the window it refuses
 * new knocks (-ENOSPC) rather than evict one an attacker could then replay
 * (DESIGN.md "Keys, ids and replay"). Pure: time is passed in.
 */
#ifndef KG_RED_REPLAY_H
#define KG_RED_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sknock.h"

struct kg_replay_entry {
	uint8_t hash[KG_SK_HASH_LEN];
	int64_t expires;         /* 0 = free slot */
};

struct kg_replay {
	struct kg_replay_entry *e;   /* owned */
	size_t cap;
};

/* 0 or -ENOMEM; free with kg_replay_free. */
int kg_replay_init(struct kg_replay *r, size_t cap);
void kg_replay_free(struct kg_replay *r);
/* Records hash until expires. 0 if new, -EEXIST if seen (and unexpired at
 * now), -ENOSPC if every slot holds an unexpired entry. */
/* True if hash was recorded and is still unexpired at now. */
bool kg_replay_seen(const struct kg_replay *r,
		    const uint8_t hash[KG_SK_HASH_LEN], int64_t now);
int kg_replay_add(struct kg_replay *r, const uint8_t hash[KG_SK_HASH_LEN],
		  int64_t now, int64_t expires);

#endif
