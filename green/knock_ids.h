/* SPDX-License-Identifier: MIT */
/*
 * The kernel pre-filter's key ids (knock_ids.c).
 */
#ifndef KG_GREEN_KNOCK_IDS_H
#define KG_GREEN_KNOCK_IDS_H

#include "gate.h"

/* The pre-filter's set knock_ids := every user's current key
 * ids. sync: when the slot changed (tick) or always (force: users
 * reloaded); errors are logged, retried a second later. reset: the table
 * was replaced (its set is empty). No-op with the pre-filter off. */
void gate_knock_ids_sync(struct green_gate *gt, bool force);
void gate_knock_ids_reset(struct green_gate *gt);
void gate_knock_ids_free(struct green_gate *gt);

#endif
