/* SPDX-License-Identifier: MIT */
/*
 * The knock receiver (knock_rx.c): step one, a knock or a sequence from
 * the knock NFLOG group to a pending session.
 */
#ifndef KG_GREEN_KNOCK_RX_H
#define KG_GREEN_KNOCK_RX_H

#include <stdint.h>

struct green;
struct green_gate;
struct kg_nflog_pkt;

/* One packet of the knock group (p borrowed for the call). Every outcome
 * is one record. Returns 0 if it opened a session, -EKEYREJECTED if it was
 * refused and counts toward a ban (nobody holding a key made it), -EACCES
 * for any other refusal; the IPS (g->ips, when this process has it) is
 * fed here, else the caller feeds it from the status (privsep worker). */
int green_knock_receive(struct green *g, const struct kg_nflog_pkt *p);
/* The same, t0_ns (CLOCK_MONOTONIC) the time the packet was read: the
 * sessions' us= counts from it (under -P the worker's read). */
int green_knock_receive_at(struct green *g, const struct kg_nflog_pkt *p,
			   uint64_t t0_ns);
/* The record of a pre-filter miss (prefix GREEN_KNOCK_MISS_PREFIX). */
void green_knock_prefilter_miss(const struct kg_nflog_pkt *p);

/* Sequence mode: seq_ports := the static sequences' ports of the users
 * (after loading users; a replaced table starts with n_seq_set 0). Errors
 * are logged. */
void gate_seq_ports_sync(struct green_gate *gt);

#endif
