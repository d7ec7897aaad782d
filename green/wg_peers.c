/* SPDX-License-Identifier: MIT */
/*
 * Green's own WireGuard interface: made at start (an interface of the same
 * name an earlier instance left is removed first, with all its peers, so
 * nothing it let in survives), removed at stop. The kernel side is
 * apply.c.
 */
#include "gate.h"
#include "wg_peers.h"
#include "apply.h"
#include "log.h"
#include "wg.h"
#include "wg_key.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define WG_GO_MAX_PEERS 65536u

int gate_wg_up(struct green_gate *gt, const struct green_conf *c,
	       struct kg_err *e)
{
	enum kg_wg_backend be;
	char pub[48], addr[KG_ADDR_STRLEN + 4], addr6[KG_ADDR_STRLEN + 4];
	int r;

	snprintf(gt->ifname, sizeof(gt->ifname), "%s", c->wg_interface);
	if ((r = kg_key_file_read(c->gate->wg_private_key, gt->wg_priv, e)))
		return r;
	if ((r = kg_x25519_public(gt->wg_priv, gt->wg_pub))) {
		kg_err_set(e, "WireGuard public key: %s", strerror(-r));
		return r;
	}
	kg_addr_str(&c->tunnel_address, addr);
	strcat(addr, "/16");
	r = green_apply_wg_up(gt->ifname, gt->wg_priv, c->wg_port, addr, &be, e);
	if (r)
		return r;
	if (c->tunnel_prefix6.a.family == AF_INET6) {
		struct kg_addr a6;

		green_tunnel_address6(c, &a6);
		kg_addr_str(&a6, addr6);
		snprintf(addr6 + strlen(addr6), sizeof(addr6) - strlen(addr6),
			 "/%u", c->tunnel_prefix6.len);
		if ((r = green_apply_addr_add(gt->ifname, addr6))) {
			kg_err_set(e, "%s: IPv6 tunnel address %s: %s", gt->ifname,
				   addr6, strerror(-r));
			green_apply_wg_down(gt->ifname);
			return r;
		}
		if ((r = green_site_forwarding6())) {
			kg_err_set(e, "IPv6 forwarding: %s", strerror(-r));
			green_apply_wg_down(gt->ifname);
			return r;
		}
	}
	gt->iface_up = true;
	/* wireguard-go refuses a device's 65,537th peer ("too many peers");
	 * the kernel's limit is 2^20. Knocks past it are refused (the peer
	 * cannot be added), so say so now, not at the 65,537th knock. */
	if (be == KG_WG_BACKEND_UAPI &&
	    c->gate->sess.max_clients > WG_GO_MAX_PEERS)
		kg_log_event(KG_LOG_WARNING, "wireguard", "result", "limited",
			     "reason", "wireguard_go_max_peers",
			     "interface", gt->ifname, "max_peers", "65536");
	kg_base64_encode(gt->wg_pub, 32, pub);
	kg_log_event(KG_LOG_NOTICE, "wireguard", "result", "up",
		     "interface", gt->ifname,
		     "backend", be == KG_WG_BACKEND_KERNEL ? "kernel" : "wireguard-go",
		     "public_key", pub);
	return 0;
}

void gate_wg_down(struct green_gate *gt)
{
	if (!gt->iface_up)
		return;
	green_apply_wg_down(gt->ifname);
	gt->iface_up = false;
}
