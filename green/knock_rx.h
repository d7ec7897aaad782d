/* SPDX-License-Identifier: MIT */
/*
 * The knock receiver (knock_rx.c): step one, a knock or a sequence from
 * the knock NFLOG group to a pending session.
 */
#ifndef KG_GREEN_KNOCK_RX_H
#define KG_GREEN_KNOCK_RX_H

struct green;
struct green_gate;
struct kg_nflog_pkt;

/* One packet of the knock group (p borrowed for the call). Every outcome
 * is one record; nothing is returned. */
void green_knock_receive(struct green *g, const struct kg_nflog_pkt *p);

/* Sequence mode: seq_ports := the static sequences' ports of the users
 * (after loading users; a replaced table starts with n_seq_set 0). Errors
 * are logged. */
void gate_seq_ports_sync(struct green_gate *gt);

#endif
