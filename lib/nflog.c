/* SPDX-License-Identifier: MIT */
#include "nflog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#define RCVBUF (4 << 20)
#define COPY_RANGE 0xffff

struct kg_nflog {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint64_t malformed;
	uint8_t buf[65536];
};

static struct nlmsghdr *config_hdr(char *buf, uint16_t group, uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *g;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(group);
	return nlh;
}

/* Sends one config request and waits for its ack. */
static int config_send(struct kg_nflog *l, struct nlmsghdr *nlh)
{
	uint8_t buf[8192];
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t ret;

	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ret = mnl_socket_recvfrom(l->nl, buf, sizeof(buf));
		if (ret < 0 && errno == EAGAIN) {
			/* Non-blocking socket: wait for the ack, briefly. */
			struct pollfd p = { mnl_socket_get_fd(l->nl), POLLIN, 0 };

			if (poll(&p, 1, 1000) == 1)
				continue;
			return -ETIMEDOUT;
		}
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)ret, seq, l->portid, NULL, NULL);
		if (ret <= MNL_CB_STOP)
			return ret < 0 ? -errno : 0;
	}
}

static int bind_group(struct kg_nflog *l, uint16_t group)
{
	char buf[8192];
	struct nfulnl_msg_config_cmd cmd = { .command = NFULNL_CFG_CMD_BIND };
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(COPY_RANGE),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	struct nlmsghdr *nlh;
	int r;

	nlh = config_hdr(buf, group, ++l->seq);
	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	r = config_send(l, nlh);
	if (r)
		return r;
	nlh = config_hdr(buf, group, ++l->seq);
	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	return config_send(l, nlh);
}

int kg_nflog_open(struct kg_nflog **out, const uint16_t *groups, size_t n,
		  struct kg_err *e)
{
	struct kg_nflog *l = calloc(1, sizeof(*l));
	int rcvbuf = RCVBUF, r;
	int fd;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	l->seq = (uint32_t)time(NULL);
	l->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!l->nl || mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		kg_err_set(e, "nflog netlink socket: %s", strerror(errno));
		goto fail;
	}
	l->portid = mnl_socket_get_portid(l->nl);
	fd = mnl_socket_get_fd(l->nl);
	/* A scan burst must not overrun us; FORCE needs CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	for (size_t i = 0; i < n; i++) {
		r = bind_group(l, groups[i]);
		if (r) {
			kg_err_set(e, "nflog group %u: %s%s", groups[i], strerror(-r),
				   r == -EBUSY || r == -EPERM ?
				   " (is another process bound to it?)" : "");
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	kg_nflog_close(l);
	return r;
}

void kg_nflog_close(struct kg_nflog *l)
{
	if (!l)
		return;
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l);
}

int kg_nflog_fd(const struct kg_nflog *l)
{
	return mnl_socket_get_fd(l->nl);
}

uint64_t kg_nflog_n_malformed(const struct kg_nflog *l)
{
	return l->malformed;
}

struct attrs {
	const struct nlattr *a[NFULA_MAX + 1];
};

static int attr_cb(const struct nlattr *attr, void *data)
{
	struct attrs *t = data;
	uint16_t type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFULA_MAX) <= 0)
		return MNL_CB_OK;
	/* A u32 of another length is ignored, as if absent. */
	if (type == NFULA_IFINDEX_INDEV && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
		return MNL_CB_OK;
	t->a[type] = attr;
	return MNL_CB_OK;
}

/* One NFULNL_MSG_PACKET message: the netlink framing is the kernel's,
 * the packet bytes inside are the sender's and go to kg_pkt_parse. */
static int handle_msg(struct kg_nflog *l, const struct nlmsghdr *nlh,
		      kg_nflog_cb cb, void *ctx)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	struct attrs t = { 0 };
	struct kg_nflog_pkt p = { 0 };
	const struct nlattr *pl, *pfx;
	char prefix[128] = "";

	if (nlh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET) ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*g)))
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*g), attr_cb, &t) < 0)
		return 0;
	pl = t.a[NFULA_PAYLOAD];
	pfx = t.a[NFULA_PREFIX];
	if (pfx) {
		size_t n = mnl_attr_get_payload_len(pfx);

		n = n >= sizeof(prefix) ? sizeof(prefix) - 1 : n;
		memcpy(prefix, mnl_attr_get_payload(pfx), n);
		prefix[n] = 0;
	}
	if (!pl || kg_pkt_parse(mnl_attr_get_payload(pl),
				mnl_attr_get_payload_len(pl), &p.pkt)) {
		l->malformed++;
		return 0;
	}
	if (t.a[NFULA_IFINDEX_INDEV])
		p.indev = ntohl(mnl_attr_get_u32(t.a[NFULA_IFINDEX_INDEV]));
	p.group = ntohs(g->res_id);
	p.prefix = prefix;
	p.family = p.pkt.src.family;
	cb(ctx, &p);
	return 1;
}

int kg_nflog_dispatch(struct kg_nflog *l, kg_nflog_cb cb, void *ctx)
{
	int count = 0;

	/* Bounded, so a flood cannot starve the loop's other sources. */
	for (int reads = 0; reads < 64; reads++) {
		ssize_t ret = mnl_socket_recvfrom(l->nl, l->buf, sizeof(l->buf));
		int len = (int)ret;
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)l->buf;

		if (ret < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return count;
			return -errno;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
			count += handle_msg(l, nlh, cb, ctx);
	}
	return count;
}
