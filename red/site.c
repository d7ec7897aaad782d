/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard site link with green: client traffic reaches red only
 * through it. Made once at start on lib/wg, as green's side is
 * (green/site.c): lib/wg_iface.c makes the interface (kernel WireGuard, or
 * one wireguard-go where the kernel has none), kg_wg_set gives it red's
 * key and one peer per green, and the interface gets its address and
 * a route to the tunnel range. Nothing here runs in the knock path. An
 * interface of the configured name found at start is an earlier red's
 * (killed outside systemd, its wireguard-go orphaned) and is removed
 * first.
 */
#include "red.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "crypto.h"
#include "log.h"
#include "wg.h"
#include "wg_key.h"

static void put_allowed(struct kg_wg_peer *p, const struct kg_addr *a)
{
	p->allowed[p->n_allowed].a = *a;
	p->allowed[p->n_allowed++].len = a->family == AF_INET ? 32 : 128;
}

/* One green's peer: its key (base64, its own [green] site_public_key or
 * [site]'s for the one green that uses it), its endpoint when configured
 * (else green dials), keepalive 25 s, and as allowed-ips its own tunnel
 * range and its site-link address (where its knocks come from); the
 * green on [site]'s peer also gets [site] peer_address. */
static int fill_peer(const struct kg_red_config *c, const struct kg_red_green *g,
		     struct kg_wg_peer *p, struct kg_err *e)
{
	bool own = g->site_public_key[0] != '\0';
	const struct kg_addr *ep = own ? &g->site_endpoint : &c->site.peer_endpoint;
	uint16_t port = own ? g->site_port : c->site.peer_port;

	memset(p, 0, sizeof(*p));
	if (kg_base64_decode(own ? g->site_public_key : c->site.peer_public_key,
			     p->public_key, KG_KEY_LEN)) {
		kg_err_set(e, own ? "[green %s] site_public_key: not a base64 key"
				  : "[site] peer_public_key: not a base64 key (green %s)",
			   g->id);
		return -EINVAL;
	}
	p->replace_allowed_ips = true;
	p->has_keepalive = true;
	p->keepalive_s = 25;
	if (port) {
		p->has_endpoint = true;
		if (ep->family == AF_INET6) {
			p->endpoint.in6.sin6_family = AF_INET6;
			p->endpoint.in6.sin6_port = htons(port);
			memcpy(&p->endpoint.in6.sin6_addr, ep->b, 16);
		} else {
			p->endpoint.in.sin_family = AF_INET;
			p->endpoint.in.sin_port = htons(port);
			memcpy(&p->endpoint.in.sin_addr, ep->b, 4);
		}
	}
	p->allowed[0] = g->tunnel_range;
	p->n_allowed = 1;
	put_allowed(p, &g->link);
	if (!own && !kg_addr_eq(&g->link, &c->site.peer_address))
		put_allowed(p, &c->site.peer_address);
	/* IPv6 tunnel addresses: red has one tunnel_range6, routed to the
	 * first green (an allowed-ip belongs to one peer only) */
	if (g == &c->greens[0] && c->tunnel_range6.a.family == AF_INET6)
		p->allowed[p->n_allowed++] = c->tunnel_range6;
	return 0;
}

/* The configured name is red's alone: an interface that has it now was
 * left by an earlier red whose wireguard-go outlived it. Removing the
 * interface makes that wireguard-go exit, which removes its UAPI socket
 * (lib/wg_iface.c waits for that), so the new one cannot lose its socket
 * to the old one's exit. A socket file with no interface is stale (its
 * wireguard-go is gone; the new one replaces it). */
static int remove_orphan(const char *ifn, struct kg_err *e)
{
	int rc;

	if (!if_nametoindex(ifn))
		return 0;
	rc = kg_wg_iface_remove(ifn);
	if (rc) {
		kg_err_set(e, "removing the earlier interface %s: %s", ifn,
			   strerror(-rc));
		kg_log_event(KG_LOG_ERR, "site", "result", "error", "reason",
			     "orphan_interface", "interface", ifn, "error", e->msg);
		return rc;
	}
	kg_log_event(KG_LOG_NOTICE, "site", "result", "orphan_removed",
		     "interface", ifn);
	return 0;
}

/* Address and route on the interface just made and keyed. */
static int address_and_route(const struct kg_red_config *c, struct kg_err *e)
{
	const char *ifn = c->site.interface;
	char addr[KG_ADDR_STRLEN + 8], rng[KG_ADDR_STRLEN + 8], s[KG_ADDR_STRLEN];
	int rc;

	snprintf(addr, sizeof(addr), "%s/%u", kg_addr_str(&c->site.address.a, s),
		 c->site.address.len);
	snprintf(rng, sizeof(rng), "%s/%u", kg_addr_str(&c->tunnel_range.a, s),
		 c->tunnel_range.len);
	if ((rc = kg_wg_iface_addr_up(ifn, addr, NULL)))
		kg_err_set(e, "site link %s: address %s: %s", ifn, addr,
			   strerror(-rc));
	else if ((rc = kg_wg_iface_route(ifn, rng)))
		kg_err_set(e, "site link %s: route to %s: %s", ifn, rng,
			   strerror(-rc));
	if (!rc && c->site.address6.a.family == AF_INET6) {
		/* nodad (kg_wg_iface_addr_add): the link has one other end,
		 * and a tentative address would refuse the first grants'
		 * replies for a second */
		snprintf(addr, sizeof(addr), "%s/%u",
			 kg_addr_str(&c->site.address6.a, s), c->site.address6.len);
		if ((rc = kg_wg_iface_addr_add(ifn, addr)))
			kg_err_set(e, "site link %s: address %s: %s", ifn, addr,
				   strerror(-rc));
	}
	if (!rc && c->tunnel_range6.a.family == AF_INET6) {
		snprintf(rng, sizeof(rng), "%s/%u",
			 kg_addr_str(&c->tunnel_range6.a, s), c->tunnel_range6.len);
		if ((rc = kg_wg_iface_route(ifn, rng)))
			kg_err_set(e, "site link %s: route to %s: %s", ifn, rng,
				   strerror(-rc));
	}
	return rc;
}

/* The key file and the greens' peers are checked before anything is made:
 * a bad key leaves no interface behind. */
int red_site_up(struct red *r, struct kg_err *e)
{
	const struct kg_red_config *c = &r->cfg;
	const char *ifn = c->site.interface;
	struct kg_wg_peer peers[KG_RED_MAX_GREENS];
	struct kg_wg_device d = {
		.has_private_key = true, .has_listen_port = true,
		.listen_port = c->site.listen_port, .replace_peers = true,
		.peers = peers, .n_peers = c->n_greens,
	};
	enum kg_wg_backend be;
	int rc;

	if ((rc = kg_key_file_read(c->site.private_key, d.private_key, e)))
		goto out;
	for (size_t i = 0; i < c->n_greens && !rc; i++)
		rc = fill_peer(c, &c->greens[i], &peers[i], e);
	if (rc || (rc = remove_orphan(ifn, e)))
		goto out;
	if ((rc = kg_wg_iface_create(ifn, &be))) {
		kg_err_set(e, "site link %s: %s", ifn, strerror(-rc));
		goto out;
	}
	if ((rc = kg_wg_set(ifn, &d)))
		kg_err_set(e, "site link %s: configuring WireGuard: %s", ifn,
			   strerror(-rc));
	else
		rc = address_and_route(c, e);
	if (rc) {
		kg_wg_iface_remove(ifn);
		goto out;
	}
	r->site_up = true;
	kg_log_event(KG_LOG_INFO, "site", "result", "up", "interface", ifn,
		     "backend", be == KG_WG_BACKEND_KERNEL ? "kernel" : "wireguard-go");
out:
	kg_wipe(d.private_key, sizeof(d.private_key));
	return rc;
}

void red_site_down(struct red *r)
{
	int rc;

	if (!r->site_up)
		return;
	r->site_up = false;
	/* Removing the interface ends its wireguard-go, if it has one. */
	if ((rc = kg_wg_iface_remove(r->cfg.site.interface)))
		kg_log_event(KG_LOG_ERR, "site", "result", "error", "interface",
			     r->cfg.site.interface, "error", strerror(-rc));
}
