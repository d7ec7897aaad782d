/* SPDX-License-Identifier: MIT */
/*
 * Kernel WireGuard over generic netlink (libmnl). The message layout
 * follows <linux/wireguard.h>. On machines whose kernel has no WireGuard
 * (the test machines) kg_wg_nl_family() reports -ENOENT and lib/wg.c uses
 * the UAPI backend; the encoder is unit-tested byte for byte.
 */
#include "wg.h"

#include <errno.h>
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
