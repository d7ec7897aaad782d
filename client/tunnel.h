/* SPDX-License-Identifier: MIT */
/*
 * The client's WireGuard tunnel to green: an ephemeral key pair, an
 * interface with the user's tunnel address (and IPv6 tunnel address, if
 * the profile has one) and green as its only peer
 * (allowed-ips: green's tunnel address), a handshake wait that does not
 * pay WireGuard's 5 s retry, and teardown. Uses lib/wg.h (kernel or
 * wireguard-go, chosen at run time). Needs CAP_NET_ADMIN.
 */
#ifndef KG_CLIENT_TUNNEL_H
#define KG_CLIENT_TUNNEL_H

#include <stdint.h>

#include "profile.h"
#include "wg.h"

struct kg_tunnel {
	char ifname[KG_WG_IFNAMSIZ];
	uint8_t priv[KG_KEY_LEN];   /* secret; wiped by kg_tunnel_forget */
	uint8_t pub[KG_KEY_LEN];
	enum kg_wg_backend backend;
};

/* Makes an ephemeral key pair into t (ifname must be set). 0 or -EIO. */
int kg_tunnel_keys(struct kg_tunnel *t);
/* Creates the interface, sets the key and green as peer (endpoint
 * green_address:green_wg_port), adds the address and brings it up.
 * On error nothing is left behind. */
int kg_tunnel_up(struct kg_tunnel *t, const struct kg_profile *p);

/* Called by the handshake wait when handshakes stall: knock again. */
typedef int (*kg_tunnel_reknock_fn)(void *ctx);

/* Waits up to timeout_ms for a handshake with green. While there is none
 * it replaces green's peer entry (a fresh peer may initiate at once, where
 * the old one waits out WireGuard's 5 s retry) and sends a packet into the
 * tunnel: first after 100 ms, then at doubling intervals up to nudge_ms;
 * every reknock_ms it calls reknock first.
 * 0, -ETIMEDOUT, or the -errno of a failed step. */
int kg_tunnel_wait_handshake(const struct kg_tunnel *t,
			     const struct kg_profile *p, unsigned timeout_ms,
			     unsigned nudge_ms, unsigned reknock_ms,
			     kg_tunnel_reknock_fn reknock, void *ctx);

/* Removes the interface (0 also if it is gone). */
/* One datagram towards green's tunnel address: WireGuard starts a
 * handshake for it (nobody needs to answer). Errors are ignored: the
 * caller's wait for the handshake is what tells. */
void kg_tunnel_nudge(const struct kg_profile *p);
int kg_tunnel_down(const char *ifname);
void kg_tunnel_forget(struct kg_tunnel *t);

#endif
