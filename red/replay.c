/* SPDX-License-Identifier: MIT */
#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"

int kg_replay_init(struct kg_replay *r, size_t cap)
{
	r->e = calloc(cap ? cap : 1, sizeof(*r->e));
	r->cap = r->e ? cap : 0;
	return r->e ? 0 : -ENOMEM;
}

void kg_replay_free(struct kg_replay *r)
{
	free(r->e);
	r->e = NULL;
	r->cap = 0;
}

bool kg_replay_seen(const struct kg_replay *r,
		    const uint8_t hash[KG_SK_HASH_LEN], int64_t now)
{
	for (size_t i = 0; i < r->cap; i++)
		if (r->e[i].expires > now &&
		    kg_memeq(r->e[i].hash, hash, KG_SK_HASH_LEN))
			return true;
	return false;
}

/* A linear scan: the cache holds at most a window's worth of green's
 * knocks (a few per session), and the knock was authenticated first. */
int kg_replay_add(struct kg_replay *r, const uint8_t hash[KG_SK_HASH_LEN],
		  int64_t now, int64_t expires)
{
	struct kg_replay_entry *free_slot = NULL;

	for (size_t i = 0; i < r->cap; i++) {
		struct kg_replay_entry *x = &r->e[i];

		if (x->expires != 0 && x->expires > now) {
			if (kg_memeq(x->hash, hash, KG_SK_HASH_LEN))
				return -EEXIST;
		} else if (!free_slot) {
			free_slot = x;
		}
	}
	if (!free_slot)
		return -ENOSPC;
	memcpy(free_slot->hash, hash, KG_SK_HASH_LEN);
	free_slot->expires = expires;
	return 0;
}
