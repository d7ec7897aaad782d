/* SPDX-License-Identifier: MIT */
/*
 * Sequence mode (the paper's port knocking, knockd-style), as a pure state
 * machine fed with the dropped packets the daemon sees through NFLOG:
 * per source address, progress through a user's port sequence, in order,
 * within a timeout; a packet to a port of the sequence out of order
 * resets that source's progress (as knockd does).
 *
 * Sequences are static (the record's "sequence = 7001/tcp, ...") or
 * one-time (record "sequence = onetime:N"): N ports derived from the knock
 * key and the time slot (kg_seq_onetime), valid in that slot only and
 * usable once, so a captured sequence cannot be replayed.
 *
 * Ports of configured sequences are reportable (kg_seq_port_known) so
 * the IPS does not count them as a scan.
 */
#ifndef KG_GREEN_SEQ_H
#define KG_GREEN_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "users.h"

#define KG_SEQ_TIMEOUT_DEFAULT_MS 10000
#define KG_SEQ_ONETIME_BASE 40000   /* one-time ports: base .. base+range-1 */
#define KG_SEQ_ONETIME_RANGE 10000

enum kg_seq_result {
	KG_SEQ_NONE = 0,     /* not a sequence port: the IPS may count it */
	KG_SEQ_PROGRESS,     /* a sequence port; some source's progress moved */
	KG_SEQ_RESET,        /* a sequence port out of order: progress dropped */
	KG_SEQ_COMPLETE,     /* a user's whole sequence, in order, in time */
	KG_SEQ_REPLAYED,     /* a one-time sequence already used this slot */
	KG_SEQ_TABLE_FULL,   /* too many sources in progress: not tracked */
};

struct kg_seq;

/* max_sources bounds the progress table; timeout_ms is the time from a
 * sequence's first port to its last (0: default). slot_s as users'. *out
 * owned by the caller (kg_seq_free). 0, -EINVAL, -ENOMEM. */
int kg_seq_new(size_t max_sources, uint32_t timeout_ms, uint32_t slot_s,
	       struct kg_seq **out);
void kg_seq_free(struct kg_seq *s);

/* The one-time sequence of a key for a slot: len ports (tcp or udp) in
 * [KG_SEQ_ONETIME_BASE, +RANGE), no port repeated. 0 or -EIO/-EINVAL. */
int kg_seq_onetime(const uint8_t knock_key[KG_KEY_LEN], uint64_t slot,
		   size_t len, struct kg_seq_port *out);

/* One dropped packet from src to proto/port. wall_ms (the wall clock)
 * picks a one-time sequence's slot, which both ends derive from the time
 * of day; mono_ms (the monotonic clock) runs the partial sequence's
 * timeout, so a clock step never stretches or cuts it. On
 * KG_SEQ_COMPLETE *user is the user whose sequence src completed (the
 * caller then opens WireGuard for src with the user's static key).
 * The users set must not change between calls without kg_seq_reset. */
enum kg_seq_result kg_seq_feed(struct kg_seq *s, struct kg_users *u,
			       const struct kg_addr *src, uint8_t proto,
			       uint16_t port, uint64_t wall_ms,
			       uint64_t mono_ms, struct kg_user **user);
/* Whether proto/port belongs to any configured sequence (static, or
 * one-time in the current or adjacent slot) at now_ms. */
bool kg_seq_port_known(struct kg_seq *s, const struct kg_users *u,
		       uint8_t proto, uint16_t port, uint64_t now_ms);
/* Forgets all progress (after reloading users). */
void kg_seq_reset(struct kg_seq *s);
const char *kg_seq_result_name(enum kg_seq_result r);

#endif
