/* SPDX-License-Identifier: MIT */
/*
 * Cutting a grant's established flows: deletes the conntrack entries whose
 * original tuple is (client address -> granted port), so that once the
 * allow-set element is gone no packet of the old flow is accepted as
 * "established" anywhere and the connection ends now, not at its next
 * timeout. The kernel filters the dump (CTA_FILTER on the original
 * tuple's protocol, destination port and, for IPv4, source; one dump for
 * TCP and one for UDP), so a close costs in the flows of its port, not in
 * the size of the table; each entry is checked again here before it is deleted. Over
 * libmnl and libnetfilter_conntrack (netlink), in the caller's network
 * namespace. IPv4 and IPv6 clients alike.
 */
#ifndef KG_RED_CONNTRACK_H
#define KG_RED_CONNTRACK_H

#include <stdint.h>

#include "addr.h"

/* Deletes every entry with original source client and original
 * destination port port (host order), TCP and UDP. *n_deleted (may be
 * NULL) gets the count. 0 (also when there was none), -EAFNOSUPPORT for
 * a client that is neither IPv4 nor IPv6, or -errno of the netlink dump. */
int kg_ct_cut_flows(const struct kg_addr *client, uint16_t port,
		    unsigned *n_deleted);

#endif
