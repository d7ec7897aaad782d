/* SPDX-License-Identifier: MIT */
/*
 * Red's nftables table as text (nft syntax), replaced whole at start and
 * reload through lib/nft.h. Pure: config in, text out, so a unit test can
 * read it. What the table does (DESIGN.md "Security decisions"):
 *
 *  - input policy drop; everything dropped is logged: knock-port packets
 *    to the knock NFLOG group with a per-source rate limit, the rest to
 *    the scan group (rate-limited) for lib/ips;
 *  - banned sources dropped before anything but the knock port; greens
 *    and never_ban are never banned (the IPS skips them; their set is
 *    checked here too);
 *  - the site link's WireGuard port only from the greens; tunnel-range
 *    sources only from the site interface;
 *  - grants: the map "grants4" (client . granted port : real port)
 *    redirects new connections, and the set "allowed4" (client . granted
 *    port, matched on conntrack's original destination port) is checked on
 *    EVERY packet of a mapped flow, so a lease ending stops a flow at once;
 *    nothing else from the site interface is accepted;
 *  - management addresses, loopback, IPv6 neighbour discovery and DHCP
 *    accepted, so the table does not cut the host off.
 */
#ifndef KG_RED_RULES_H
#define KG_RED_RULES_H

#include <stddef.h>

#include "config.h"

#define KG_RED_TABLE "knockgate"
#define KG_RED_SET_GRANTS "grants4"
#define KG_RED_SET_ALLOWED "allowed4"
#define KG_RED_SET_BANNED4 "banned4"
#define KG_RED_SET_BANNED6 "banned6"

/* Writes the "table inet knockgate { ... }" text into out. 0, or
 * -ENOSPC if cap is too small (32 KiB is ample for any valid config). */
int kg_red_render_rules(const struct kg_red_config *c, char *out, size_t cap);

#endif
