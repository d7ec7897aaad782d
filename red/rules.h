/* SPDX-License-Identifier: MIT */
/*
 * Red's nftables table as text (nft syntax), replaced whole at start and
 * reload through lib/nft.h. Pure: config in, text out, so a unit test can
 * read it. What the table does (docs/architecture.md "Security properties"):
 *
 *  - prerouting (priority raw): reverse-path check with fib, so a source
 *    red would not route back out of its arrival interface is dropped
 *    before conntrack and before anything counts it;
 *  - input policy drop; tunnel-range and green link-address sources only
 *    from the site interface, first of all;
 *  - knocks only from each green's link address on the site interface,
 *    one rate limit per green sized for the grants, to the knock NFLOG
 *    group; anything else to the knock port is dropped uncounted (named
 *    counters only: no NFLOG, no IPS);
 *  - everything else dropped is logged to the scan group (rate-limited)
 *    for lib/ips; banned sources are dropped after the knock and site
 *    WireGuard rules; greens (inside and link addresses), never_ban and
 *    the tunnel range are never banned (the IPS skips them; the ban rule
 *    skips them too);
 *  - the site link's WireGuard port only from the greens;
 *  - grants: the map "grants4" (client . granted port : real port)
 *    redirects new connections; every packet of a mapped flow is checked
 *    against a timed set keyed on (client . granted port, matched on
 *    conntrack's original destination port): a new connection against
 *    "allowed4" (the grant's current port, and a port it hopped off for
 *    the short overlap), an established one against "held4" (every port
 *    the grant held during its lease, with the lease as timeout), so a
 *    lease ending stops a flow at once and a hop leaves established flows
 *    alone; "grants6" and "allowed6" the same for IPv6 clients
 *    (tunnel_range6), whose rules exist only when tunnel_range6 is set:
 *    IPv6 grants never hop, so "allowed6" is checked on every packet;
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
#define KG_RED_SET_GRANTS6 "grants6"       /* IPv6 clients (tunnel_range6) */
#define KG_RED_SET_ALLOWED6 "allowed6"
#define KG_RED_SET_HELD "held4"
#define KG_RED_SET_BANNED4 "banned4"
#define KG_RED_SET_BANNED6 "banned6"
#define KG_RED_CTR_KNOCK_FOREIGN "knock_foreign"   /* not a green's link */
#define KG_RED_CTR_KNOCK_LIMITED "knock_limited"   /* a green over its rate */

/* Writes the "table inet knockgate { ... }" text into out. 0, or
 * -ENOSPC if cap is too small (32 KiB is ample for any valid config). */
int kg_red_render_rules(const struct kg_red_config *c, char *out, size_t cap);

#endif
