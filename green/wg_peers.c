/* SPDX-License-Identifier: MIT */
/*
 * Green's own WireGuard interface: made at start (an interface of the same
 * name an earlier instance left is removed first, with all its peers, so
 * nothing it let in survives), removed at stop. The kernel side is
 * apply.c.
 *
 * With wg_shards = N > 1 there are N devices with the same key: shard 0
 * is wg_interface on wg_port and holds green's tunnel addresses (and so
 * the connected routes of the whole prefixes); shard k is
 * wg_interface + "s" + k on wg_port + k with one route for its block of
 * each prefix, more specific than shard 0's, so no route per peer. Why:
 * wireguard-go takes at most 65,536 peers a device.
 */
#include "gate.h"
#include "wg_peers.h"
#include "apply.h"
#include "log.h"
#include "wg.h"
#include "wg_key.h"
#include "site.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WG_GO_MAX_PEERS 65536u

unsigned gate_n_shards(const struct green_gate *gt)
{
	return gt->n_shards > 1 ? gt->n_shards : 1;
}

unsigned gate_shard(const struct green_gate *gt, const struct kg_addr *tunnel)
{
	if (gt->n_shards <= 1 || tunnel->family != AF_INET)
		return 0;
	return green_shard_of(&gt->shard_prefix, gt->n_shards, tunnel);
}

uint16_t gate_shard_port(const struct green_gate *gt, unsigned k)
{
	return (uint16_t)(gt->wg_port + (k < gate_n_shards(gt) ? k : 0));
}

unsigned gate_shard_hook(void *ctx, const struct kg_addr *tunnel)
{
	return gate_shard(ctx, tunnel);
}

const char *gate_shard_if(const struct green_gate *gt, unsigned k)
{
	return k && k < gate_n_shards(gt) ? gt->shard_if[k] : gt->ifname;
}

int gate_peers_del(struct green_gate *gt, const uint8_t (*keys)[32],
		   const unsigned *shard, size_t n)
{
	unsigned ns = gate_n_shards(gt);
	uint8_t (*v)[32];
	int first = 0;

	if (ns == 1 || !n)
		return n ? green_apply_peers_del(gt->ifname, keys, n) : 0;
	if (!(v = calloc(n, 32)))
		return -ENOMEM;
	for (unsigned k = 0; k < ns; k++) {
		size_t m = 0;
		int r;

		for (size_t i = 0; i < n; i++)
			if (shard[i] == k)
				memcpy(v[m++], keys[i], 32);
		if (m && (r = green_apply_peers_del(gate_shard_if(gt, k), v, m)) &&
		    !first)
			first = r;
	}
	free(v);
	return first;
}

int gate_shards_check_users(const struct green_conf *c,
			    const struct kg_users *u, struct kg_err *e)
{
	struct kg_prefix tun;
	char a[KG_ADDR_STRLEN], b[KG_ADDR_STRLEN];

	if (c->wg_shards <= 1)
		return 0;
	green_tunnel_prefix(c, &tun);
	for (size_t i = 0; i < u->n; i++) {
		const struct kg_user *x = &u->v[i];
		unsigned k4, k6;

		if (x->tunnel.family != AF_INET || !kg_prefix_contains(&tun, &x->tunnel)) {
			kg_err_set(e, "user %s: tunnel_address %s is not in green's tunnel prefix %s/%u "
				   "(wg_shards = %u picks the shard from it)", x->name,
				   kg_addr_str(&x->tunnel, a), kg_addr_str(&tun.a, b),
				   tun.len, c->wg_shards);
			return -EINVAL;
		}
		if (x->tunnel6.family != AF_INET6 || c->tunnel_prefix6.a.family != AF_INET6 ||
		    !kg_prefix_contains(&c->tunnel_prefix6, &x->tunnel6))
			continue;
		k4 = green_shard_of(&tun, c->wg_shards, &x->tunnel);
		k6 = green_shard_of(&c->tunnel_prefix6, c->wg_shards, &x->tunnel6);
		if (k4 != k6) {
			kg_err_set(e, "user %s: tunnel_address6 %s is in shard %u's block of "
				   "tunnel_prefix6 but tunnel_address %s is in shard %u's "
				   "(wg_shards = %u: both must be in the same shard)",
				   x->name, kg_addr_str(&x->tunnel6, a), k6,
				   kg_addr_str(&x->tunnel, b), k4, c->wg_shards);
			return -EINVAL;
		}
	}
	return 0;
}

static void prefix_text(const struct kg_prefix *p, char *out, size_t cap)
{
	char a[KG_ADDR_STRLEN];

	snprintf(out, cap, "%s/%u", kg_addr_str(&p->a, a), p->len);
}

/* Shards 1..N-1, after shard 0 is up. On an error the ones made are
 * removed again (the caller removes shard 0). */
static int shards_up(struct green_gate *gt, const struct green_conf *c,
		     struct kg_err *e)
{
	enum kg_wg_backend be;
	unsigned k;
	int r = 0;

	/* A leftover shard of an earlier instance with more shards: its
	 * peers must not survive either. */
	for (k = gt->n_shards; k < GREEN_WG_SHARDS_MAX; k++) {
		char name[40];

		if ((size_t)snprintf(name, sizeof(name), "%ss%u", gt->ifname, k) < 16 &&
		    green_apply_iface_exists(name))
			green_apply_wg_down(name);
	}
	for (k = 1; k < gt->n_shards; k++) {
		struct kg_prefix b4, b6;
		char r4[KG_ADDR_STRLEN + 8], r6[KG_ADDR_STRLEN + 8], ks[16];
		bool v6 = c->tunnel_prefix6.a.family == AF_INET6;

		green_shard_ifname(gt->ifname, k, gt->shard_if[k]);
		green_shard_block(&gt->shard_prefix, gt->n_shards, k, &b4);
		prefix_text(&b4, r4, sizeof(r4));
		if (v6) {
			green_shard_block(&c->tunnel_prefix6, gt->n_shards, k, &b6);
			prefix_text(&b6, r6, sizeof(r6));
		}
		r = green_apply_shard_up(gt->shard_if[k], gt->wg_priv,
					 (uint16_t)(c->wg_port + k), r4,
					 v6 ? r6 : NULL, &be, e);
		if (r)
			break;
		/* Granted traffic through red leaves from every shard. */
		if (c->site.enabled && (r = green_site_forwarding(gt->shard_if[k]))) {
			kg_err_set(e, "%s: forwarding: %s", gt->shard_if[k], strerror(-r));
			green_apply_wg_down(gt->shard_if[k]);
			break;
		}
		snprintf(ks, sizeof(ks), "%u", k);
		kg_log_event(KG_LOG_INFO, "wireguard", "result", "up",
			     "interface", gt->shard_if[k], "shard", ks,
			     "route", r4, "route6", v6 ? r6 : "-");
	}
	if (r)
		while (--k >= 1)
			green_apply_wg_down(gt->shard_if[k]);
	return r;
}

int gate_wg_up(struct green_gate *gt, const struct green_conf *c,
	       struct kg_err *e)
{
	enum kg_wg_backend be;
	char pub[48], addr[KG_ADDR_STRLEN + 8], addr6[KG_ADDR_STRLEN + 8];
	char shards[8];
	struct kg_prefix tun;
	int r;

	snprintf(gt->ifname, sizeof(gt->ifname), "%s", c->wg_interface);
	gt->n_shards = c->wg_shards > 1 ? c->wg_shards : 1;
	gt->wg_port = c->wg_port;
	green_tunnel_prefix(c, &gt->shard_prefix);
	if ((r = kg_key_file_read(c->gate->wg_private_key, gt->wg_priv, e)))
		return r;
	if ((r = kg_x25519_public(gt->wg_priv, gt->wg_pub))) {
		kg_err_set(e, "WireGuard public key: %s", strerror(-r));
		return r;
	}
	green_tunnel_prefix(c, &tun);
	kg_addr_str(&c->tunnel_address, addr);
	snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr), "/%u", tun.len);
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
	if ((r = shards_up(gt, c, e))) {
		green_apply_wg_down(gt->ifname);
		return r;
	}
	gt->iface_up = true;
	/* wireguard-go refuses a device's 65,537th peer ("too many peers");
	 * the kernel's limit is 2^20. Knocks past it are refused (the peer
	 * cannot be added), so say so now, not at the 65,537th knock. The
	 * shards split the sessions by tunnel address, so each one's block
	 * counts, not their sum. */
	if (be == KG_WG_BACKEND_UAPI &&
	    c->gate->sess.max_clients > (size_t)WG_GO_MAX_PEERS * gt->n_shards) {
		char mc[24];

		snprintf(mc, sizeof(mc), "%zu", (size_t)c->gate->sess.max_clients);
		kg_log_event(KG_LOG_WARNING, "wireguard", "result", "limited",
			     "reason", "wireguard_go_max_peers",
			     "interface", gt->ifname, "max_peers", "65536",
			     "max_clients", mc,
			     "effect", "knocks_past_65536_sessions_a_shard_refused",
			     "remedy", "wg_shards_or_kernel_wireguard_module");
	}
	kg_base64_encode(gt->wg_pub, 32, pub);
	snprintf(shards, sizeof(shards), "%u", gt->n_shards);
	kg_log_event(KG_LOG_NOTICE, "wireguard", "result", "up",
		     "interface", gt->ifname,
		     "backend", be == KG_WG_BACKEND_KERNEL ? "kernel" : "wireguard-go",
		     "shards", shards, "public_key", pub);
	return 0;
}

void gate_wg_down(struct green_gate *gt)
{
	if (!gt->iface_up)
		return;
	for (unsigned k = gate_n_shards(gt); k-- > 1;)
		green_apply_wg_down(gt->shard_if[k]);
	green_apply_wg_down(gt->ifname);
	gt->iface_up = false;
}
