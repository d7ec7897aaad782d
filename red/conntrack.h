/* SPDX-License-Identifier: MIT */
/*
 * Cutting a grant's established flows: deletes the conntrack entries whose
 * original tuple is (client address -> granted port), so that once the
 * allow-set element is gone no packet of the old flow is accepted as
 * "established" anywhere and the connection ends now, not at its next
 * timeout. Over libnetfilter_conntrack (netlink), in the caller's
 * network namespace.
 */
#ifndef KG_RED_CONNTRACK_H
#define KG_RED_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Deletes every entry with original source client and original
 * destination port port (host order), TCP and UDP. *n_deleted (may be
 * NULL) gets the count. 0 (also when there was none) or -errno of the
 * netlink dump. */
int kg_ct_cut_flows(const struct kg_addr *client, uint16_t port,
		    unsigned *n_deleted);

/* The same for every port of ports (one dump): a hopping grant's ports. */
int kg_ct_cut_ports(const struct kg_addr *client, const uint16_t *ports,
		    size_t n_ports, unsigned *n_deleted);

/* Calls cb for every TCP and UDP entry (IPv4 and IPv6) with its original
 * source address and destination port (host order). 0 or -errno of the
 * netlink dump. */
int kg_ct_each_flow(void (*cb)(const struct kg_addr *src, uint16_t dport,
			       void *arg), void *arg);

#endif
