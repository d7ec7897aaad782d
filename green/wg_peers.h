/* SPDX-License-Identifier: MIT */
/*
 * Green's own WireGuard interface (wg_peers.c): up at start with the
 * key from [wireguard] private_key (an old interface of that name goes
 * first), down at stop. Errors: -errno, e set.
 */
#ifndef KG_GREEN_WG_PEERS_H
#define KG_GREEN_WG_PEERS_H

#include "gate.h"

int gate_wg_up(struct green_gate *gt, const struct green_conf *c,
	       struct kg_err *e);
void gate_wg_down(struct green_gate *gt);

#endif
