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

#endif
