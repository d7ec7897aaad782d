/* SPDX-License-Identifier: MIT */
#include "conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

/* The kernel's CTA_FILTER_ORIG_FLAGS bits (nf_conntrack_netlink, since
 * Linux 5.8): which fields of the CTA_TUPLE_ORIG sent with a dump the
 * kernel compares. Part of the netlink ABI but not of the uapi headers. */
#define KG_CTA_FILTER_F_IP_SRC (1u << 0)

struct cut {
	const struct kg_ct_pair *v;
	size_t n;
	int family;                /* of this dump */
	unsigned *counts;          /* per pair, may be NULL */
	struct nfct_handle *del;   /* a second handle: no query inside a dump */
};

/* Checked on every entry even where the kernel filtered the dump: an
 * older kernel that ignored CTA_FILTER must not make red cut other
 * clients' flows. The pair it belongs to, or -1. */
static ptrdiff_t match(const struct nf_conntrack *ct, const struct cut *c)
{
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	uint16_t port;
	const void *src;
	uint32_t src4;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	if (c->family == AF_INET) {
		src4 = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
		src = &src4;
	} else {
		if (!nfct_attr_is_set(ct, ATTR_ORIG_IPV6_SRC))
			return -1;
		src = nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC);
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].client.family == c->family && c->v[i].port == port &&
		    memcmp(src, c->v[i].client.b, kg_addr_len(&c->v[i].client)) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static int on_msg(const struct nlmsghdr *nlh, void *data)
{
	struct cut *c = data;
	struct nf_conntrack *ct = nfct_new();
	ptrdiff_t i;

	if (!ct)
		return MNL_CB_ERROR;
	if (nfct_nlmsg_parse(nlh, ct) >= 0 && (i = match(ct, c)) >= 0 &&
	    nfct_query(c->del, NFCT_Q_DESTROY, ct) == 0 && c->counts)
		c->counts[i]++;
	nfct_destroy(ct);
	return MNL_CB_OK;
}

/* The dump request, in one family. A lone IPv4 client gets a kernel
 * filter on the original source (CTA_FILTER), so only its flows come
 * back. Otherwise the family alone: with an IPv6 source in the filter the
 * kernel (seen on Linux 6.18) returns no entry even for a matching flow.
 * Protocol and port are checked here, not by the kernel: filtering on
 * them needs one dump per protocol, and every dump walks the kernel's
 * whole conntrack hash (all namespaces' buckets), which is the cost. */
static void build_dump(struct nlmsghdr *nlh, const struct cut *c,
		       uint32_t seq)
{
	struct nfgenmsg *nfg;
	struct nlattr *tuple, *ip, *filter;
	const struct kg_ct_pair *one = NULL;

	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = (uint8_t)c->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	if (c->family != AF_INET)
		return;
	for (size_t i = 0; i < c->n; i++) {
		if (c->v[i].client.family != AF_INET)
			continue;
		if (one && !kg_addr_eq(&one->client, &c->v[i].client))
			return;     /* several clients: the family alone */
		one = &c->v[i];
	}
	if (!one)
		return;
	tuple = mnl_attr_nest_start(nlh, CTA_TUPLE_ORIG);
	ip = mnl_attr_nest_start(nlh, CTA_TUPLE_IP);
	mnl_attr_put(nlh, CTA_IP_V4_SRC, 4, one->client.b);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_nest_end(nlh, tuple);
	filter = mnl_attr_nest_start(nlh, CTA_FILTER);
	/* host byte order: the kernel reads it with nla_get_u32 */
	mnl_attr_put_u32(nlh, CTA_FILTER_ORIG_FLAGS, KG_CTA_FILTER_F_IP_SRC);
	mnl_attr_nest_end(nlh, filter);
}

/* One dump; deletes the matching entries as it reads. 0 or -errno. */
static int cut_dump(struct cut *c)
{
	char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	struct mnl_socket *nl = NULL;
	uint32_t seq = (uint32_t)time(NULL), portid;
	struct nlmsghdr *nlh;
	int rc = 0;
	ssize_t got;

	if (!buf)
		return -ENOMEM;
	nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	build_dump(nlh, c, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	while ((got = mnl_socket_recvfrom(nl, buf, MNL_SOCKET_BUFFER_SIZE)) > 0) {
		int r = mnl_cb_run(buf, (size_t)got, seq, portid, on_msg, c);

		if (r == MNL_CB_STOP)
			break;
		if (r < 0) {
			rc = errno ? -errno : -EIO;
			break;
		}
	}
	if (got < 0)
		rc = errno ? -errno : -EIO;
out:
	if (nl)
		mnl_socket_close(nl);
	free(buf);
	return rc;
}

int kg_ct_cut_many(const struct kg_ct_pair *v, size_t n, unsigned *n_deleted)
{
	static const int fams[] = { AF_INET, AF_INET6 };
	struct cut c = { .v = v, .n = n, .counts = n_deleted };
	int rc = 0;

	if (n_deleted)
		memset(n_deleted, 0, n * sizeof(*n_deleted));
	c.del = nfct_open(CONNTRACK, 0);
	if (!c.del)
		return errno ? -errno : -EIO;
	for (size_t f = 0; f < 2; f++) {
		bool any = false;
		int r;

		for (size_t i = 0; i < n && !any; i++)
			any = v[i].client.family == fams[f];
		if (!any)
			continue;
		c.family = fams[f];
		if ((r = cut_dump(&c)) && !rc)
			rc = r;
	}
	nfct_close(c.del);
	return rc;
}

int kg_ct_cut_flows(const struct kg_addr *client, uint16_t port,
		    unsigned *n_deleted)
{
	struct kg_ct_pair p = { .client = *client, .port = port };
	unsigned n = 0;
	int rc;

	if (client->family != AF_INET && client->family != AF_INET6)
		return -EAFNOSUPPORT;
	rc = kg_ct_cut_many(&p, 1, &n);
	if (n_deleted)
		*n_deleted = n;
	return rc;
}

struct each {
	void (*cb)(const struct kg_addr *src, uint16_t dport, void *arg);
	void *arg;
};

static int on_each(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		   void *data)
{
	struct each *x = data;
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
	struct kg_addr a = { 0 };

	(void)type;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return NFCT_CB_CONTINUE;
	if (nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO) == AF_INET) {
		uint32_t src = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);

		a.family = AF_INET;
		memcpy(a.b, &src, 4);
	} else {
		a.family = AF_INET6;
		memcpy(a.b, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
	}
	x->cb(&a, ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)), x->arg);
	return NFCT_CB_CONTINUE;
}

int kg_ct_each_flow(void (*cb)(const struct kg_addr *src, uint16_t dport,
			       void *arg), void *arg)
{
	struct each x = { cb, arg };
	uint32_t fams[2] = { AF_INET, AF_INET6 };
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	int rc = 0;

	if (!h)
		return errno ? -errno : -EIO;
	nfct_callback_register(h, NFCT_T_ALL, on_each, &x);
	for (int i = 0; i < 2 && !rc; i++)
		if (nfct_query(h, NFCT_Q_DUMP, &fams[i]) != 0)
			rc = errno ? -errno : -EIO;
	nfct_close(h);
	return rc;
}
