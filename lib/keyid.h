/* SPDX-License-Identifier: MIT */
/*
 * Rotating pseudonymous key ids. A knock names its user by
 *
 *   id = first 8 bytes (big-endian u64) of
 *        HMAC-SHA256(knock_key, "knockgate keyid v1" || slot u64 BE)
 *   slot = floor(timestamp_s / slot_s)
 *
 * so two knocks in different slots cannot be linked by an eavesdropper,
 * while green finds the user with one hash lookup in a table of every
 * user's id for the previous, current and next slot (slot_s is at least
 * the acceptance window, so any timestamp inside the window falls in one of
 * them). The table is rebuilt when the slot changes, which includes any
 * clock jump: it depends only on the current slot, never on history.
 */
#ifndef KG_KEYID_H
#define KG_KEYID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Default slot length (s): client and green must agree; >= the window. */
#define KG_KEYID_SLOT_DEFAULT 60

/* 0 or -EIO. */
int kg_keyid_derive(const uint8_t knock_key[KG_KEY_LEN], uint64_t slot,
		    uint64_t *id);

struct kg_keyid_table;

/* slot_s > 0. *out is owned by the caller: kg_keyid_table_free. 0,
 * -EINVAL, -ENOMEM, -EIO (no randomness for the table's hash seed). */
int kg_keyid_table_new(uint32_t slot_s, struct kg_keyid_table **out);
void kg_keyid_table_free(struct kg_keyid_table *t);
uint32_t kg_keyid_slot_len(const struct kg_keyid_table *t);

/* Makes the table current for now_s: rebuilds (from keys[0..n), borrowed
 * for the call only; index i is what lookup reports) when the slot of
 * now_s differs from the table's, or when force is set (users changed).
 * Sets *rebuilt if it did. 0, -ENOMEM, -EIO; on error the table is empty
 * (every lookup misses: fail closed). */
int kg_keyid_table_update(struct kg_keyid_table *t,
			  const uint8_t *const *keys, size_t n,
			  uint64_t now_s, bool force, bool *rebuilt);

/* One hash lookup: true with the user's index and the id's slot. */
bool kg_keyid_lookup(const struct kg_keyid_table *t, uint64_t id,
		     uint32_t *index, uint64_t *slot);

/*
 * The kernel pre-filter's copy (green's nft set knock_ids): every key's
 * ids for slots center-1 .. center+2, one slot more than the table above,
 * so that the set already holds the next slot's "next" when that slot
 * starts, even if the update runs late. An id of slot s is needed until
 * slot s+1 ends, so it goes in with a kernel timeout to then (plus a
 * margin, so the set empties by itself if its keeper is gone); the
 * keeper deletes what is no longer wanted at each update.
 */
struct kg_keyid_elem {
	uint64_t id;
	uint64_t slot;
	uint64_t expires_ms;   /* caller's clock: when the kernel drops it */
	bool lapsing;          /* diff: in the set but about to time out, so
				* re-adding alone would not restart it: refresh */
};

#define KG_KEYID_SET_SLOTS 4   /* center-1 .. center+2 */

/* The elements wanted at slot center for keys[0..n) (borrowed), sorted by
 * id, duplicates removed, expires_ms 0. *out is malloc'd (caller frees;
 * NULL when n is 0). 0, -ENOMEM, -EIO. */
int kg_keyid_set_want(const uint8_t *const *keys, size_t n, uint64_t center,
		      struct kg_keyid_elem **out, size_t *n_out);

/* What to change in a set holding have[0..n_have) (sorted by id) to hold
 * want[0..n_want) (sorted): *add lists indexes into want that are new,
 * *del indexes into have of elements not wanted that the kernel still
 * holds at now_ms (expires_ms more than a second away; the others are
 * about to go by themselves and deleting them could fail with -ENOENT).
 * An element in both whose expires_ms is that close is in *add too, with
 * lapsing set (re-add it with kg_nft_batch_refresh, a plain add would
 * leave its old timeout). Kept elements get have's expires_ms copied
 * into want. *add and *del
 * are malloc'd (caller frees). 0 or -ENOMEM. */
int kg_keyid_set_diff(const struct kg_keyid_elem *have, size_t n_have,
		      struct kg_keyid_elem *want, size_t n_want,
		      uint64_t now_ms, size_t **add, size_t *n_add,
		      size_t **del, size_t *n_del);

/* The kernel timeout for an id of slot (slot_s seconds long) added at
 * wall time now_wall_ms: until slot + 1 ends, plus margin_ms. At least
 * one second. */
uint64_t kg_keyid_elem_timeout_ms(uint64_t slot, uint32_t slot_s,
				  uint64_t now_wall_ms, uint64_t margin_ms);

#endif
