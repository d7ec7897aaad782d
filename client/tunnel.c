/* SPDX-License-Identifier: MIT */
#include "tunnel.h"
#include "time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NUDGE_PORT 9   /* discard: any packet into the tunnel starts a handshake */

int kg_tunnel_keys(struct kg_tunnel *t)
{
	return kg_x25519_generate(t->priv, t->pub);
}

static void green_endpoint(const struct kg_profile *p, struct kg_wg_peer *peer)
{
	if (p->green_address.family == AF_INET) {
		peer->endpoint.in.sin_family = AF_INET;
		peer->endpoint.in.sin_port = htons(p->green_wg_port);
		memcpy(&peer->endpoint.in.sin_addr, p->green_address.b, 4);
	} else {
		peer->endpoint.in6.sin6_family = AF_INET6;
		peer->endpoint.in6.sin6_port = htons(p->green_wg_port);
		memcpy(&peer->endpoint.in6.sin6_addr, p->green_address.b, 16);
	}
	peer->has_endpoint = true;
}

static int put_green(const struct kg_tunnel *t, const struct kg_profile *p,
		     bool with_key)
{
	struct kg_wg_peer peer;
	struct kg_wg_device d = { .peers = &peer, .n_peers = 1,
				  .replace_peers = true };
	int rc;

	memset(&peer, 0, sizeof(peer));
	memcpy(peer.public_key, p->green_wg_pub, KG_KEY_LEN);
	peer.replace_allowed_ips = true;
	peer.allowed[0].a = p->green_tunnel;
	peer.allowed[0].len = (uint8_t)(kg_addr_len(&p->green_tunnel) * 8);
	peer.n_allowed = 1;
	green_endpoint(p, &peer);
	if (with_key) {
		d.has_private_key = true;
		memcpy(d.private_key, t->priv, KG_KEY_LEN);
	}
	rc = kg_wg_set(t->ifname, &d);
	kg_wipe(&d, sizeof(d));
	return rc;
}

int kg_tunnel_up(struct kg_tunnel *t, const struct kg_profile *p)
{
	char addr[KG_ADDR_STRLEN], peer[KG_ADDR_STRLEN];
	int rc = kg_wg_iface_create(t->ifname, &t->backend);

	if (rc)
		return rc;
	rc = put_green(t, p, true);
	if (!rc)
		rc = kg_wg_iface_addr_up(t->ifname, kg_addr_str(&p->tunnel_address, addr),
					 kg_addr_str(&p->green_tunnel, peer));
	/* Both families: the IPv6 tunnel address beside the IPv4 one, so a
	 * service green grants over IPv6 is reached from it (its route,
	 * kg_service_route, picks this interface and so this source). */
	if (!rc && p->tunnel_address6.family == AF_INET6) {
		char a6[KG_ADDR_STRLEN + 5];

		snprintf(a6, sizeof(a6), "%s/128",
			 kg_addr_str(&p->tunnel_address6, addr));
		rc = kg_wg_iface_addr_add(t->ifname, a6);
	}
	if (rc)
		kg_wg_iface_remove(t->ifname);
	return rc;
}

void kg_tunnel_nudge(const struct kg_profile *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	len = kg_addr_to_sockaddr(&p->green_tunnel, NUDGE_PORT, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, "", 0, 0, (struct sockaddr *)&ss, len);
	close(fd);
}

int kg_tunnel_wait_handshake(const struct kg_tunnel *t,
			     const struct kg_profile *p, unsigned timeout_ms,
			     unsigned nudge_ms, unsigned reknock_ms,
			     kg_tunnel_reknock_fn reknock, void *ctx)
{
	uint64_t start = (uint64_t)kg_mono_ms(), last_nudge = start, last_knock = start;
	uint64_t hs = 0, interval = 100;
	int rc;

	kg_tunnel_nudge(p);
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		uint64_t now;

		rc = kg_wg_peer_handshake(t->ifname, p->green_wg_pub, &hs);
		if (rc)
			return rc;
		if (hs)
			return 0;
		now = (uint64_t)kg_mono_ms();
		if (now - start >= timeout_ms)
			return -ETIMEDOUT;
		if (reknock && now - last_knock >= reknock_ms) {
			rc = reknock(ctx);
			if (rc)
				return rc;
			last_knock = now;
			last_nudge = 0;   /* and nudge right away */
		}
		/* Green opens within milliseconds of the knock: retry soon,
		 * then back off to nudge_ms so a slow path is not flooded. */
		if (now - last_nudge >= interval) {
			rc = put_green(t, p, false);
			if (rc)
				return rc;
			kg_tunnel_nudge(p);
			last_nudge = now;
			interval = interval * 2 < nudge_ms ? interval * 2 : nudge_ms;
		}
		nanosleep(&ts, NULL);
	}
}

int kg_tunnel_down(const char *ifname)
{
	return kg_wg_iface_remove(ifname);
}

void kg_tunnel_forget(struct kg_tunnel *t)
{
	kg_wipe(t, sizeof(*t));
}
