/* SPDX-License-Identifier: MIT */
/*
 * Green's own WireGuard interface (wg_peers.c), and with [green]
 * wg_shards its other shards: up at start with the key from [wireguard]
 * private_key (an old interface of each name goes first; on an error
 * none is left), down at stop. Errors: -errno, e set.
 */
#ifndef KG_GREEN_WG_PEERS_H
#define KG_GREEN_WG_PEERS_H

#include "gate.h"

int gate_wg_up(struct green_gate *gt, const struct green_conf *c,
	       struct kg_err *e);
/* Every shard's device down (the others first, then wg_interface). */
void gate_wg_down(struct green_gate *gt);

/* Shards ([green] wg_shards): the shard of a session with IPv4 tunnel
 * address tunnel (0 when there is one device), and shard k's device
 * name (not owned; k < the number of shards). */
unsigned gate_shard(const struct green_gate *gt, const struct kg_addr *tunnel);
const char *gate_shard_if(const struct green_gate *gt, unsigned k);
unsigned gate_n_shards(const struct green_gate *gt);
/* Shard k's WireGuard port (wg_port + k): the port a session's openings
 * in wg_open4/6 are for. */
uint16_t gate_shard_port(const struct green_gate *gt, unsigned k);
/* gate_shard as the session table's shard hook (kg_sess_set_shard); ctx
 * is the gate. */
unsigned gate_shard_hook(void *ctx, const struct kg_addr *tunnel);
/* With wg_shards > 1, every record's IPv4 tunnel address must lie in
 * the tunnel prefix (its block names its shard) and an IPv6 one inside
 * tunnel_prefix6 in the same shard's block. 0 or -EINVAL with e naming
 * the user and the blocks. */
int gate_shards_check_users(const struct green_conf *c,
			    const struct kg_users *u, struct kg_err *e);
/* n peers removed, shard[i] being keys[i]'s device: one set operation
 * per shard (per 1,024 peers). 0 or the first -errno. */
int gate_peers_del(struct green_gate *gt, const uint8_t (*keys)[32],
		   const unsigned *shard, size_t n);

#endif
