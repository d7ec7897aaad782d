/* SPDX-License-Identifier: MIT */
/*
 * A timer heap over table slots: each slot 0..cap-1 is in the heap at
 * most once, with one due time, so that "what is due now" costs O(1) to
 * ask and O(log n) per timer set, moved or removed, whatever the number
 * of slots. Red keeps one per kind of timer of its grant table (lease
 * end or forgetting, hop, held-port pruning; red/grants.c), green's
 * control server one over its connections (green/ctrl_server.c).
 *
 * Sized once at init (cap slots) and never grows: no set can fail for
 * memory after start. The unit of the due times is the caller's.
 * Memory: both arrays are owned by the heap; kg_theap_free releases them.
 */
#ifndef KG_TIMER_HEAP_H
#define KG_TIMER_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kg_theap_ent {
	int64_t at;
	uint32_t slot;
};

struct kg_theap {
	struct kg_theap_ent *h;    /* owned: the heap, n of cap */
	uint32_t *pos;             /* owned: slot -> heap index + 1, 0 = absent */
	size_t n, cap;
};

/* 0 or -ENOMEM (a cap of 0 is allowed: an always empty heap). */
int kg_theap_init(struct kg_theap *q, size_t cap);
void kg_theap_free(struct kg_theap *q);
/* Arms slot's timer at at (slot < cap), or moves it there if armed. */
void kg_theap_set(struct kg_theap *q, uint32_t slot, int64_t at);
/* Disarms slot's timer (nothing if it is not armed). */
void kg_theap_del(struct kg_theap *q, uint32_t slot);
bool kg_theap_armed(const struct kg_theap *q, uint32_t slot);
/* slot's due time: true and *at, or false when it is not armed. */
bool kg_theap_at(const struct kg_theap *q, uint32_t slot, int64_t *at);
/* The earliest timer: true and *slot, *at filled, or false when empty. */
bool kg_theap_top(const struct kg_theap *q, uint32_t *slot, int64_t *at);

#endif
