/* SPDX-License-Identifier: MIT */
/*
 * The dark table: what a knockgate daemon leaves in the kernel when it is
 * not running (stopped, or failed to start), so the host fails closed.
 *
 * It takes the daemon's own table name and drops every packet that comes
 * in, except loopback, management access (as the daemon's config gives
 * it), IPv6 neighbour discovery, DHCP replies (if asked) and replies to
 * connections the host itself opened (ct direction reply: DNS, NTP, a
 * package download during an upgrade). Nothing initiated from outside
 * gets in, and it has no set a later element could open. Forwarded
 * packets from the daemon's own interfaces (green's WireGuard) are
 * dropped too. The next start replaces it whole in one transaction
 * (kg_nft_table_replace). docs/nftables.md "The dark table".
 *
 * Pure: parameters in, nft text out, so a unit test can read it and both
 * daemons share one renderer.
 */
#ifndef KG_NFT_DARK_H
#define KG_NFT_DARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Marker an admin (and the tests) see in `nft list table inet NAME`. */
#define KG_NFT_DARK_COMMENT "knockgate dark: daemon not running"

struct kg_nft_dark {
	const char *table;                   /* inet table name */
	const struct kg_prefix *mgmt;        /* management sources */
	size_t n_mgmt;
	char *const *mgmt_ifaces;            /* interfaces accepted whole */
	size_t n_mgmt_ifaces;
	const uint16_t *mgmt_ports;          /* TCP ports for mgmt; none: all */
	size_t n_mgmt_ports;
	bool dhcp;                           /* accept DHCP / DHCPv6 replies */
	char *const *fwd_drop_ifaces;        /* forwarding from these dropped */
	size_t n_fwd_drop_ifaces;
};

/* Renders "table inet NAME { ... }" for d into *out (malloc'd, the caller
 * frees it). Interface and table names must be [A-Za-z0-9._-], 1..15
 * bytes (so no config value can add a rule). 0, -EINVAL (a bad name or
 * prefix family; *out NULL), -ENOMEM. */
int kg_nft_dark_render(const struct kg_nft_dark *d, char **out);

struct kg_nft;
struct kg_err;
/* Renders d and replaces the daemon's table with it in one transaction
 * (kg_nft_table_replace). 0, or -errno with e saying which step failed;
 * on failure the table in the kernel is whatever it was before. */
int kg_nft_dark_install(struct kg_nft *nft, const struct kg_nft_dark *d,
			struct kg_err *e);

#endif
