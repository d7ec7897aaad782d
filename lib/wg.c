/* SPDX-License-Identifier: MIT */
/* Backend choice and the few peer operations daemons and the client use. */
#include "wg.h"

#include <errno.h>
#include <string.h>

int kg_wg_set(const char *ifname, const struct kg_wg_device *dev)
{
	/* A UAPI socket means a userspace implementation serves the name;
	 * anything else can only be the kernel's. */
	if (kg_wg_uapi_exists(ifname))
		return kg_wg_uapi_set(ifname, dev);
	return kg_wg_nl_set(ifname, dev);
}

int kg_wg_get(const char *ifname, struct kg_wg_device *out)
{
	memset(out, 0, sizeof(*out));
	if (kg_wg_uapi_exists(ifname))
		return kg_wg_uapi_get(ifname, out);
	return kg_wg_nl_get(ifname, out);
}

int kg_wg_peer_put(const char *ifname, const uint8_t pub[KG_KEY_LEN],
		   const struct kg_prefix *allowed, size_t n_allowed,
		   const struct sockaddr *endpoint, uint16_t keepalive_s)
{
	struct kg_wg_peer p;
	struct kg_wg_device d = { .peers = &p, .n_peers = 1 };

	if (n_allowed > KG_WG_MAX_ALLOWED)
		return -EINVAL;
	memset(&p, 0, sizeof(p));
	memcpy(p.public_key, pub, KG_KEY_LEN);
	p.replace_allowed_ips = n_allowed > 0;
	if (n_allowed)
		memcpy(p.allowed, allowed, n_allowed * sizeof(*allowed));
	p.n_allowed = n_allowed;
	if (endpoint) {
		size_t n = endpoint->sa_family == AF_INET6 ? sizeof(p.endpoint.in6)
							   : sizeof(p.endpoint.in);

		if (endpoint->sa_family != AF_INET && endpoint->sa_family != AF_INET6)
			return -EAFNOSUPPORT;
		memcpy(&p.endpoint, endpoint, n);
		p.has_endpoint = true;
	}
	p.has_keepalive = true;
	p.keepalive_s = keepalive_s;
	return kg_wg_set(ifname, &d);
}

int kg_wg_peer_remove(const char *ifname, const uint8_t pub[KG_KEY_LEN])
{
	struct kg_wg_peer p;
	struct kg_wg_device d = { .peers = &p, .n_peers = 1 };

	memset(&p, 0, sizeof(p));
	memcpy(p.public_key, pub, KG_KEY_LEN);
	p.remove = true;
	return kg_wg_set(ifname, &d);
}

int kg_wg_peer_handshake(const char *ifname, const uint8_t pub[KG_KEY_LEN],
			 uint64_t *sec)
{
	struct kg_wg_device d;
	int rc = kg_wg_get(ifname, &d);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < d.n_peers; i++) {
		if (kg_memeq(d.peers[i].public_key, pub, KG_KEY_LEN)) {
			*sec = d.peers[i].last_handshake_sec;
			rc = 0;
		}
	}
	kg_wg_device_free(&d);
	return rc;
}
