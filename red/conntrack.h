/* SPDX-License-Identifier: MIT */
/*
 * Cutting a grant's established flows: deletes the conntrack entries whose
 * original tuple is (client address -> granted port), so that once the
 * allow-set element is gone no packet of the old flow is accepted as
 * "established" anywhere and the connection ends now, not at its next
 * timeout. One dump per family, filtered by the kernel where it can be (a
 * lone IPv4 client: CTA_FILTER on the original source, so only its flows
 * are sent and parsed); every entry is checked here (source, TCP or UDP,
 * port) before it is deleted. Each dump costs the kernel a walk of its
 * whole conntrack hash whatever it returns, so red gathers the cuts of
 * many closes into one (kg_ct_cut_many, red_cut_flush). Over libmnl and
 * libnetfilter_conntrack (netlink), in the caller's network namespace.
 * IPv4 and IPv6 clients alike.
 */
#ifndef KG_RED_CONNTRACK_H
#define KG_RED_CONNTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Deletes every entry with original source client and original
 * destination port port (host order), TCP and UDP. *n_deleted (may be
 * NULL) gets the count. 0 (also when there was none), -EAFNOSUPPORT for
 * a client that is neither IPv4 nor IPv6, or -errno of the netlink dump. */
int kg_ct_cut_flows(const struct kg_addr *client, uint16_t port,
		    unsigned *n_deleted);

/* One grant's flows to cut. */
struct kg_ct_pair {
	struct kg_addr client;
	uint16_t port;                 /* host order */
};

/* The same for n pairs at once: one dump per family present (the kernel
 * walk is paid once for all of them; a lone IPv4 pair still gets the
 * source filter). n_deleted[i] (may be NULL) gets pair i's count. 0 or
 * -errno of a dump (the other family is still tried). */
int kg_ct_cut_many(const struct kg_ct_pair *v, size_t n, unsigned *n_deleted);

/* Calls cb for every TCP and UDP entry (IPv4 and IPv6) with its original
 * source address and destination port (host order). 0 or -errno of the
 * netlink dump. */
int kg_ct_each_flow(void (*cb)(const struct kg_addr *src, uint16_t dport,
			       void *arg), void *arg);

#endif
