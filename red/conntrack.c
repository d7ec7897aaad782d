/* SPDX-License-Identifier: MIT */
#include "conntrack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <string.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>

struct cut {
	const struct kg_addr *client;
	const uint16_t *ports;          /* host order */
	size_t n_ports;
	struct nfct_handle *del;   /* a second handle: no query inside a dump */
	unsigned n;
};

static bool matches(const struct nf_conntrack *ct, const struct cut *c)
{
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	uint16_t dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	bool hit = false;

	for (size_t i = 0; i < c->n_ports && !hit; i++)
		hit = dport == c->ports[i];
	if (!hit)
		return false;
	if (c->client->family == AF_INET) {
		uint32_t src = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);

		return memcmp(&src, c->client->b, 4) == 0;
	}
	return memcmp(nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), c->client->b,
		      16) == 0;
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		    void *data)
{
	struct cut *c = data;

	(void)type;
	if (matches(ct, c) && nfct_query(c->del, NFCT_Q_DESTROY, ct) == 0)
		c->n++;
	return NFCT_CB_CONTINUE;
}

int kg_ct_cut_flows(const struct kg_addr *client, uint16_t port,
		    unsigned *n_deleted)
{
	return kg_ct_cut_ports(client, &port, 1, n_deleted);
}

int kg_ct_cut_ports(const struct kg_addr *client, const uint16_t *ports,
		    size_t n_ports, unsigned *n_deleted)
{
	struct cut c = { .client = client, .ports = ports, .n_ports = n_ports };
	struct nfct_handle *h = NULL;
	uint32_t family = client->family;
	int rc = 0;

	h = nfct_open(CONNTRACK, 0);
	c.del = nfct_open(CONNTRACK, 0);
	if (!h || !c.del) {
		rc = errno ? -errno : -EIO;
		goto out;
	}
	nfct_callback_register(h, NFCT_T_ALL, on_entry, &c);
	if (nfct_query(h, NFCT_Q_DUMP, &family) != 0)
		rc = errno ? -errno : -EIO;
out:
	if (n_deleted)
		*n_deleted = c.n;
	if (c.del)
		nfct_close(c.del);
	if (h)
		nfct_close(h);
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
