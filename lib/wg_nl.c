/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard over generic netlink (libmnl). The message layout
 * follows <linux/wireguard.h>. On machines whose kernel has no WireGuard
 * (the test machines) kg_wg_nl_family() reports -ENOENT and lib/wg.c uses
 * the UAPI backend; the encoder is unit-tested byte for byte.
 */
#include "wg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#define NL_BUF 8192   /* MNL_SOCKET_BUFFER_SIZE is not a constant */
#include <linux/genetlink.h>
#include <linux/wireguard.h>

static int put_allowed(struct nlmsghdr *nlh, size_t cap,
		       const struct kg_wg_peer *p)
{
	struct nlattr *all, *one;

	if (!p->n_allowed)
		return 0;
	all = mnl_attr_nest_start_check(nlh, cap, WGPEER_A_ALLOWEDIPS);
	if (!all)
		return -EMSGSIZE;
	for (size_t i = 0; i < p->n_allowed && i < KG_WG_MAX_ALLOWED; i++) {
		const struct kg_prefix *a = &p->allowed[i];
		uint16_t fam = a->a.family;

		one = mnl_attr_nest_start_check(nlh, cap, 0);
		if (!one || !mnl_attr_put_u16_check(nlh, cap, WGALLOWEDIP_A_FAMILY, fam) ||
		    !mnl_attr_put_check(nlh, cap, WGALLOWEDIP_A_IPADDR,
					kg_addr_len(&a->a), a->a.b) ||
		    !mnl_attr_put_u8_check(nlh, cap, WGALLOWEDIP_A_CIDR_MASK, a->len))
			return -EMSGSIZE;
		mnl_attr_nest_end(nlh, one);
	}
	mnl_attr_nest_end(nlh, all);
	return 0;
}

static int put_peer(struct nlmsghdr *nlh, size_t cap, const struct kg_wg_peer *p)
{
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, 0);
	uint32_t flags = 0;

	if (!nest ||
	    !mnl_attr_put_check(nlh, cap, WGPEER_A_PUBLIC_KEY, KG_KEY_LEN, p->public_key))
		return -EMSGSIZE;
	if (p->remove)
		flags |= WGPEER_F_REMOVE_ME;
	else if (p->replace_allowed_ips)
		flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
	if (flags && !mnl_attr_put_u32_check(nlh, cap, WGPEER_A_FLAGS, flags))
		return -EMSGSIZE;
	if (!p->remove) {
		size_t elen = p->endpoint.sa.sa_family == AF_INET6 ?
			sizeof(p->endpoint.in6) : sizeof(p->endpoint.in);

		if (p->has_endpoint &&
		    !mnl_attr_put_check(nlh, cap, WGPEER_A_ENDPOINT, elen, &p->endpoint))
			return -EMSGSIZE;
		if (p->has_keepalive &&
		    !mnl_attr_put_u16_check(nlh, cap, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
					    p->keepalive_s))
			return -EMSGSIZE;
		if (put_allowed(nlh, cap, p))
			return -EMSGSIZE;
	}
	mnl_attr_nest_end(nlh, nest);
	return 0;
}

int kg_wg_nl_encode_set(const char *ifname, uint16_t family, uint32_t seq,
			const struct kg_wg_device *dev, void *buf, size_t cap,
			size_t *len)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct nlattr *peers;

	if (!ifname[0] || strlen(ifname) >= KG_WG_IFNAMSIZ)
		return -EINVAL;
	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(*g)))
		return -EMSGSIZE;
	/* libmnl 1.0.4 leaves attribute padding as it finds it: zero it all
	 * so no stale bytes (key material) go to the kernel. */
	memset(buf, 0, cap);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	if (!mnl_attr_put_strz_check(nlh, cap, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	if (dev->has_private_key &&
	    !mnl_attr_put_check(nlh, cap, WGDEVICE_A_PRIVATE_KEY, KG_KEY_LEN,
				dev->private_key))
		return -EMSGSIZE;
	if (dev->has_listen_port &&
	    !mnl_attr_put_u16_check(nlh, cap, WGDEVICE_A_LISTEN_PORT, dev->listen_port))
		return -EMSGSIZE;
	if (dev->replace_peers &&
	    !mnl_attr_put_u32_check(nlh, cap, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
		return -EMSGSIZE;
	if (dev->n_peers) {
		peers = mnl_attr_nest_start_check(nlh, cap, WGDEVICE_A_PEERS);
		if (!peers)
			return -EMSGSIZE;
		for (size_t i = 0; i < dev->n_peers; i++)
			if (put_peer(nlh, cap, &dev->peers[i]))
				return -EMSGSIZE;
		mnl_attr_nest_end(nlh, peers);
	}
	*len = nlh->nlmsg_len;
	return 0;
}

static int family_attr_cb(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
	    mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), family_attr_cb, data);
	return MNL_CB_OK;
}

/* Sends one request and runs cb over the answers until the ack. */
static int nl_roundtrip(struct mnl_socket *nl, struct nlmsghdr *nlh,
			mnl_cb_t cb, void *data)
{
	char buf[NL_BUF];
	unsigned portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, cb, data);
	} while (rc > 0);
	return rc < 0 ? -errno : 0;
}

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

static int resolve_family(struct mnl_socket *nl, uint16_t *family)
{
	char buf[256] = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	int rc;

	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	*family = 0;
	rc = nl_roundtrip(nl, nlh, family_cb, family);
	if (rc == -ENOENT || (!rc && !*family))
		return -ENOENT;
	return rc;
}

int kg_wg_nl_family(uint16_t *family)
{
	struct mnl_socket *nl = nl_open();
	int rc;

	if (!nl)
		return -errno;
	rc = resolve_family(nl, family);
	mnl_socket_close(nl);
	return rc;
}

int kg_wg_nl_set(const char *ifname, const struct kg_wg_device *dev)
{
	char buf[NL_BUF];
	struct mnl_socket *nl = nl_open();
	uint16_t family;
	size_t len;
	int rc;

	if (!nl)
		return -errno;
	rc = resolve_family(nl, &family);
	if (!rc)
		rc = kg_wg_nl_encode_set(ifname, family, (uint32_t)time(NULL) + 1,
					 dev, buf, sizeof(buf), &len);
	if (!rc)
		rc = nl_roundtrip(nl, (struct nlmsghdr *)buf, NULL, NULL);
	kg_wipe(buf, sizeof(buf));
	mnl_socket_close(nl);
	return rc;
}

/* --- reading a kernel device back (WG_CMD_GET_DEVICE dump) --- */

static int parse_allowed(const struct nlattr *all, struct kg_wg_peer *p)
{
	const struct nlattr *one, *a;

	mnl_attr_for_each_nested(one, all) {
		struct kg_prefix pre = { 0 };
		bool fam = false, ip = false, mask = false;

		mnl_attr_for_each_nested(a, one) {
			uint16_t t = mnl_attr_get_type(a), len = mnl_attr_get_payload_len(a);

			if (t == WGALLOWEDIP_A_FAMILY && len == 2) {
				pre.a.family = (uint8_t)mnl_attr_get_u16(a);
				fam = true;
			} else if (t == WGALLOWEDIP_A_IPADDR && (len == 4 || len == 16)) {
				memcpy(pre.a.b, mnl_attr_get_payload(a), len);
				ip = true;
			} else if (t == WGALLOWEDIP_A_CIDR_MASK && len == 1) {
				pre.len = mnl_attr_get_u8(a);
				mask = true;
			}
		}
		if (!fam || !ip || !mask ||
		    (pre.a.family != AF_INET && pre.a.family != AF_INET6) ||
		    pre.len > kg_addr_len(&pre.a) * 8)
			return -EPROTO;
		if (pre.a.family == AF_INET)
			memset(pre.a.b + 4, 0, 12);   /* a 16-byte IPv4 value */
		if (p->n_allowed < KG_WG_MAX_ALLOWED)
			p->allowed[p->n_allowed++] = pre;
	}
	return 0;
}

static int parse_peer_attr(const struct nlattr *a, struct kg_wg_peer *p)
{
	uint16_t len = mnl_attr_get_payload_len(a);
	const void *v = mnl_attr_get_payload(a);

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_ENDPOINT:
		if (len != sizeof(p->endpoint.in) && len != sizeof(p->endpoint.in6))
			return -EPROTO;
		memcpy(&p->endpoint, v, len);
		p->has_endpoint = true;
		return 0;
	case WGPEER_A_LAST_HANDSHAKE_TIME: {
		struct { int64_t sec, nsec; } ts;

		if (len != sizeof(ts))
			return -EPROTO;
		memcpy(&ts, v, sizeof(ts));
		p->last_handshake_sec = ts.sec > 0 ? (uint64_t)ts.sec : 0;
		p->last_handshake_nsec = ts.nsec > 0 ? (uint64_t)ts.nsec : 0;
		return 0;
	}
	case WGPEER_A_RX_BYTES:
		return len == 8 ? (p->rx_bytes = mnl_attr_get_u64(a), 0) : -EPROTO;
	case WGPEER_A_TX_BYTES:
		return len == 8 ? (p->tx_bytes = mnl_attr_get_u64(a), 0) : -EPROTO;
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (len != 2)
			return -EPROTO;
		p->has_keepalive = true;
		p->keepalive_s = mnl_attr_get_u16(a);
		return 0;
	case WGPEER_A_ALLOWEDIPS:
		return parse_allowed(a, p);
	default:
		return 0;
	}
}

/* One peer nest; a peer split over two messages continues the last one. */
static int parse_peer(const struct nlattr *nest, struct kg_wg_device *d)
{
	const struct nlattr *a;
	struct kg_wg_peer *p = NULL;
	int rc;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != WGPEER_A_PUBLIC_KEY)
			continue;
		if (mnl_attr_get_payload_len(a) != KG_KEY_LEN)
			return -EPROTO;
		if (d->n_peers && !memcmp(d->peers[d->n_peers - 1].public_key,
					  mnl_attr_get_payload(a), KG_KEY_LEN)) {
			p = &d->peers[d->n_peers - 1];
		} else {
			/* doubling at each power of two: O(n) for n peers */
			if ((d->n_peers & (d->n_peers - 1)) == 0) {
				p = realloc(d->peers, (d->n_peers ? 2 * d->n_peers : 1) *
					    sizeof(*p));
				if (!p)
					return -ENOMEM;
				d->peers = p;
			}
			p = &d->peers[d->n_peers++];
			memset(p, 0, sizeof(*p));
			memcpy(p->public_key, mnl_attr_get_payload(a), KG_KEY_LEN);
		}
	}
	if (!p)
		return -EPROTO;
	mnl_attr_for_each_nested(a, nest) {
		rc = parse_peer_attr(a, p);
		if (rc)
			return rc;
	}
	return 0;
}

int kg_wg_nl_parse_get(const void *msg, size_t len, struct kg_wg_device *d)
{
	const struct nlmsghdr *nlh = msg;
	const struct nlattr *a, *peer;
	int rc;

	if (len < MNL_NLMSG_HDRLEN + sizeof(struct genlmsghdr) ||
	    !mnl_nlmsg_ok(nlh, (int)len))
		return -EPROTO;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case WGDEVICE_A_LISTEN_PORT:
			if (mnl_attr_get_payload_len(a) != 2)
				return -EPROTO;
			d->has_listen_port = true;
			d->listen_port = mnl_attr_get_u16(a);
			break;
		case WGDEVICE_A_PEERS:
			mnl_attr_for_each_nested(peer, a) {
				rc = parse_peer(peer, d);
				if (rc)
					return rc;
			}
			break;
		default:
			break;   /* the private key is never read back */
		}
	}
	return 0;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	return kg_wg_nl_parse_get(nlh, nlh->nlmsg_len, data) ? MNL_CB_ERROR : MNL_CB_OK;
}

int kg_wg_nl_get(const char *ifname, struct kg_wg_device *out)
{
	char buf[NL_BUF] = { 0 };
	struct mnl_socket *nl = nl_open();
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	uint16_t family;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!nl)
		return -errno;
	rc = resolve_family(nl, &family);
	if (!rc) {
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = family;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP;
		nlh->nlmsg_seq = (uint32_t)time(NULL) + 2;
		g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
		g->cmd = WG_CMD_GET_DEVICE;
		g->version = WG_GENL_VERSION;
		mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
		rc = nl_roundtrip(nl, nlh, get_cb, out);
	}
	mnl_socket_close(nl);
	if (rc)
		kg_wg_device_free(out);
	return rc;
}
