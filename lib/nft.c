/* SPDX-License-Identifier: MIT */
#include "nft.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>

#define ACK_TIMEOUT_S 2
#define MSG_ROOM 512      /* one element message, with room to spare */
#define SOCK_BUF (4 << 20)

struct kg_nft {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	struct nft_ctx *ctx;
	char table[64];
};

struct elem {
	bool add;
	char set[64];
	uint8_t key[KG_NFT_KEY_MAX], data[KG_NFT_KEY_MAX];
	size_t klen, dlen;
	uint64_t timeout_ms;
};

struct kg_nft_batch {
	struct kg_nft *n;
	struct elem *v;
	size_t len, cap;
};

int kg_nft_open(struct kg_nft **out, const char *table, struct kg_err *e)
{
	struct timeval tv = { .tv_sec = ACK_TIMEOUT_S };
	int one = 1, bufsz = SOCK_BUF, fd;
	struct kg_nft *n;
	int r;

	*out = NULL;
	if (!table || !*table || strlen(table) >= sizeof(n->table))
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	strcpy(n->table, table);
	n->seq = (uint32_t)time(NULL);
	n->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!n->nl || mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		kg_err_set(e, "netlink socket: %s", strerror(errno));
		goto fail;
	}
	n->portid = mnl_socket_get_portid(n->nl);
	fd = mnl_socket_get_fd(n->nl);
	/* A lost ack must not hang the daemon. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	/* One ack per element: acks without the echoed request, and room
	 * for thousands of them (FORCE needs CAP_NET_ADMIN, which we have). */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	n->ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!n->ctx) {
		r = -ENOMEM;
		kg_err_set(e, "libnftables context: out of memory");
		goto fail;
	}
	nft_ctx_buffer_output(n->ctx);
	nft_ctx_buffer_error(n->ctx);
	*out = n;
	return 0;
fail:
	kg_nft_close(n);
	return r;
}

void kg_nft_close(struct kg_nft *n)
{
	if (!n)
		return;
	if (n->nl)
		mnl_socket_close(n->nl);
	if (n->ctx)
		nft_ctx_free(n->ctx);
	free(n);
}

static void copy_nft_error(struct kg_nft *n, struct kg_err *e)
{
	const char *msg = nft_ctx_get_error_buffer(n->ctx);
	char one[400];
	size_t len;

	if (!msg || !*msg)
		msg = "nft: rejected";
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		len--;
	if (len >= sizeof(one))
		len = sizeof(one) - 1;
	memcpy(one, msg, len);
	one[len] = 0;
	kg_err_set(e, "nftables: %s", one);
}

int kg_nft_table_replace(struct kg_nft *n, const char *text, bool check,
			 struct kg_err *e)
{
	size_t len = strlen(text) + 2 * strlen(n->table) + 64;
	char *buf = malloc(len);
	int r;

	if (!buf)
		return -ENOMEM;
	/* "table" makes sure the delete finds something; all three lines are
	 * one transaction, so the old table is never missing for a moment. */
	snprintf(buf, len, "table inet %s\ndelete table inet %s\n%s",
		 n->table, n->table, text);
	nft_ctx_set_dry_run(n->ctx, check);
	r = nft_run_cmd_from_buffer(n->ctx, buf) ? -EINVAL : 0;
	nft_ctx_set_dry_run(n->ctx, false);
	if (r)
		copy_nft_error(n, e);
	free(buf);
	return r;
}

/* Reads acks for the count messages with seq first..first+count-1. Returns
 * 0 or the error of the lowest failing seq; *bad gets that seq's index. */
static int read_acks(struct kg_nft *n, uint32_t first, size_t count, size_t *bad)
{
	uint8_t buf[8192];
	size_t acked = 0, err_idx = count;
	uint8_t *seen = calloc(count ? count : 1, 1);
	int err = 0;

	if (!seen)
		return -ENOMEM;
	while (acked < count) {
		ssize_t ret = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		int len = (int)ret;
		struct nlmsghdr *nlh = (struct nlmsghdr *)buf;

		if (ret < 0) {
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			const struct nlmsgerr *ne;
			uint32_t i = nlh->nlmsg_seq - first;

			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != n->portid)
				continue;
			/* Acks of an earlier batch that timed out: skip. */
			if (i >= count || seen[i])
				continue;
			if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ne))) {
				err = -EPROTO;
				goto out;
			}
			ne = mnl_nlmsg_get_payload(nlh);
			seen[i] = 1;
			acked++;
			if (ne->error && i < err_idx) {
				err_idx = i;
				err = ne->error;
			}
		}
	}
out:
	*bad = err_idx;
	free(seen);
	return err;
}

/* Wraps the count messages already in b between batch begin/end (their
 * slots were reserved by the caller), sends with one sendto, reads acks. */
static int send_batch(struct kg_nft *n, struct mnl_nlmsg_batch *b,
		      uint32_t first, size_t count, size_t *bad)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(b), n->seq++);
	if (!mnl_nlmsg_batch_next(b))
		return -EMSGSIZE;
	if (mnl_socket_sendto(n->nl, mnl_nlmsg_batch_head(b),
			      mnl_nlmsg_batch_size(b)) < 0)
		return -errno;
	return read_acks(n, first, count, bad);
}

int kg_nft_table_delete(struct kg_nft *n, struct kg_err *e)
{
	char buf[4096];
	struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, sizeof(buf));
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	uint32_t first;
	size_t bad;
	int r = -ENOMEM;

	if (!b || !t)
		goto out;
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, n->table);
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_batch_begin(mnl_nlmsg_batch_current(b), n->seq++);
	mnl_nlmsg_batch_next(b);
	first = n->seq;
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_DELTABLE,
				    NFPROTO_INET, NLM_F_ACK, n->seq++);
	nftnl_table_nlmsg_build_payload(nlh, t);
	mnl_nlmsg_batch_next(b);
	r = send_batch(n, b, first, 1, &bad);
	if (r == -ENOENT)
		r = 0;
	if (r)
		kg_err_set(e, "delete table inet %s: %s", n->table, strerror(-r));
out:
	if (t)
		nftnl_table_free(t);
	if (b)
		mnl_nlmsg_batch_stop(b);
	return r;
}

struct kg_nft_batch *kg_nft_batch_new(struct kg_nft *n)
{
	struct kg_nft_batch *b = calloc(1, sizeof(*b));

	if (b)
		b->n = n;
	return b;
}

void kg_nft_batch_free(struct kg_nft_batch *b)
{
	if (!b)
		return;
	free(b->v);
	free(b);
}

int kg_nft_batch_elem(struct kg_nft_batch *b, bool add, const char *set,
		      const void *key, size_t key_len,
		      const void *data, size_t data_len, uint64_t timeout_ms)
{
	struct elem *el;

	if (!set || strlen(set) >= sizeof(el->set) || !key_len ||
	    key_len > KG_NFT_KEY_MAX || data_len > KG_NFT_KEY_MAX ||
	    (data_len && !data))
		return -EINVAL;
	if (b->len == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct elem *v = reallocarray(b->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	el = &b->v[b->len++];
	memset(el, 0, sizeof(*el));
	el->add = add;
	strcpy(el->set, set);
	memcpy(el->key, key, key_len);
	el->klen = key_len;
	if (data_len)
		memcpy(el->data, data, data_len);
	el->dlen = data_len;
	el->timeout_ms = timeout_ms;
	return 0;
}

int kg_nft_batch_refresh(struct kg_nft_batch *b, const char *set,
			 const void *key, size_t key_len,
			 const void *data, size_t data_len, uint64_t timeout_ms)
{
	int r = kg_nft_batch_elem(b, true, set, key, key_len, data, data_len,
				  timeout_ms);

	if (!r)
		r = kg_nft_batch_elem(b, false, set, key, key_len, NULL, 0, 0);
	if (!r)
		r = kg_nft_batch_elem(b, true, set, key, key_len, data, data_len,
				      timeout_ms);
	return r;
}

static int put_elem(struct kg_nft *n, struct mnl_nlmsg_batch *b,
		    const struct elem *el)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elem *se = nftnl_set_elem_alloc();
	struct nlmsghdr *nlh;

	if (!s || !se) {
		if (s)
			nftnl_set_free(s);
		if (se)
			nftnl_set_elem_free(se);
		return -ENOMEM;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, el->set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, el->key, (uint32_t)el->klen);
	if (el->dlen)
		nftnl_set_elem_set(se, NFTNL_SET_ELEM_DATA, el->data, (uint32_t)el->dlen);
	if (el->add && el->timeout_ms)
		nftnl_set_elem_set_u64(se, NFTNL_SET_ELEM_TIMEOUT, el->timeout_ms);
	nftnl_set_elem_add(s, se);   /* s owns se now */
	nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b),
				    el->add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM,
				    NFPROTO_INET,
				    (el->add ? NLM_F_CREATE : 0) | NLM_F_ACK, n->seq++);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	return mnl_nlmsg_batch_next(b) ? 0 : -EMSGSIZE;
}

int kg_nft_batch_send(struct kg_nft_batch *b, struct kg_err *e)
{
	struct kg_nft *n = b->n;
	size_t size = (b->len + 2) * MSG_ROOM, bad = 0;
	char *buf;
	struct mnl_nlmsg_batch *mb;
	uint32_t first;
	int r = -ENOMEM;

	if (!b->len)
		return 0;
	buf = malloc(size);
	mb = buf ? mnl_nlmsg_batch_start(buf, size) : NULL;
	if (!mb)
		goto out;
	nftnl_batch_begin(mnl_nlmsg_batch_current(mb), n->seq++);
	mnl_nlmsg_batch_next(mb);
	first = n->seq;
	for (size_t i = 0; i < b->len; i++) {
		r = put_elem(n, mb, &b->v[i]);
		if (r)
			goto out;
	}
	r = send_batch(n, mb, first, b->len, &bad);
	if (r && bad < b->len)
		kg_err_set(e, "%s element of set %s: %s",
			   b->v[bad].add ? "add" : "delete", b->v[bad].set,
			   strerror(-r));
	else if (r)
		kg_err_set(e, "set element batch: %s", strerror(-r));
out:
	if (mb)
		mnl_nlmsg_batch_stop(mb);
	free(buf);
	b->len = 0;
	return r;
}

int kg_nft_elem(struct kg_nft *n, bool add, const char *set, const void *key,
		size_t key_len, uint64_t timeout_ms, struct kg_err *e)
{
	struct kg_nft_batch *b = kg_nft_batch_new(n);
	int r;

	if (!b)
		return -ENOMEM;
	r = kg_nft_batch_elem(b, add, set, key, key_len, NULL, 0, timeout_ms);
	if (!r)
		r = kg_nft_batch_send(b, e);
	kg_nft_batch_free(b);
	return r;
}

void kg_nft_key_init(struct kg_nft_key *k)
{
	memset(k, 0, sizeof(*k));
}

int kg_nft_key_put(struct kg_nft_key *k, const void *bytes, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;

	if (!n || padded > KG_NFT_KEY_MAX - k->len)
		return -EMSGSIZE;
	memcpy(k->b + k->len, bytes, n);
	/* The padding is already zero from kg_nft_key_init. */
	k->len += padded;
	return 0;
}

int kg_nft_key_put_port(struct kg_nft_key *k, uint16_t port)
{
	uint8_t be[2] = { (uint8_t)(port >> 8), (uint8_t)port };

	return kg_nft_key_put(k, be, 2);
}

/* ---- Reading one element (kg_nft_elem_get) ---- */

struct get_ctx {
	bool found;
	uint64_t expires_ms;
};

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	struct get_ctx *g = data;
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *se;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(s);
	se = it ? nftnl_set_elems_iter_next(it) : NULL;
	if (se) {
		g->found = true;
		if (nftnl_set_elem_is_set(se, NFTNL_SET_ELEM_EXPIRATION))
			g->expires_ms = nftnl_set_elem_get_u64(se,
						NFTNL_SET_ELEM_EXPIRATION);
	}
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

int kg_nft_elem_get(struct kg_nft *n, const char *set, const void *key,
		    size_t key_len, uint64_t *expires_ms, struct kg_err *e)
{
	char buf[8192];   /* MNL_SOCKET_BUFFER_SIZE is not a constant */
	struct nftnl_set *s = NULL;
	struct nftnl_set_elem *se = NULL;
	struct get_ctx g = { false, 0 };
	struct nlmsghdr *nlh;
	uint32_t seq;
	ssize_t len;
	int r;

	if (!set || !*set || strlen(set) >= 64 || !key_len ||
	    key_len > KG_NFT_KEY_MAX)
		return -EINVAL;
	s = nftnl_set_alloc();
	se = nftnl_set_elem_alloc();
	if (!s || !se) {
		if (s)
			nftnl_set_free(s);
		if (se)
			nftnl_set_elem_free(se);
		return -ENOMEM;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, n->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, key, (uint32_t)key_len);
	nftnl_set_elem_add(s, se);   /* s owns se now */
	seq = n->seq++;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET,
				    NLM_F_ACK, seq);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	/* The element (if any), then the ack or the error. */
	do {
		len = mnl_socket_recvfrom(n->nl, buf, sizeof(buf));
		if (len < 0) {
			r = -errno;
			goto out;
		}
		r = mnl_cb_run(buf, (size_t)len, seq, n->portid, get_cb, &g);
	} while (r > 0);
	r = r < 0 ? -errno : 0;
	if (!r && !g.found)
		r = -ENOENT;
	if (!r && expires_ms)
		*expires_ms = g.expires_ms;
out:
	if (r && r != -ENOENT)
		kg_err_set(e, "get element of set %s: %s", set, strerror(-r));
	return r;
}
