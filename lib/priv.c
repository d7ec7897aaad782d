/* SPDX-License-Identifier: MIT */
/* Frames, the socketpair and the drops of lib/priv.h. */
#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"

/* Address on the wire: u8 4 or 6, then 4 or 16 bytes. */
static int put_addr(struct kg_writer *w, const struct kg_addr *a)
{
	int rc;

	if (a->family != AF_INET && a->family != AF_INET6)
		return -EINVAL;
	if ((rc = kg_put_u8(w, a->family == AF_INET ? 4 : 6)))
		return rc;
	return kg_put_bytes(w, a->b, a->family == AF_INET ? 4 : 16);
}

static int get_addr(struct kg_reader *r, struct kg_addr *a)
{
	uint8_t v;

	memset(a, 0, sizeof(*a));
	if (kg_get_u8(r, &v) || (v != 4 && v != 6))
		return -EBADMSG;
	a->family = v == 4 ? AF_INET : AF_INET6;
	return kg_get_bytes(r, a->b, v == 4 ? 4 : 16) ? -EBADMSG : 0;
}

/* The fields of a KNOCK or a PORT request (k->type), alone or as an
 * entry of KNOCKS: the one encoding of both. */
static int put_knock(struct kg_writer *w, const struct kg_priv_knock *k)
{
	int rc;

	if (k->type == KG_PRIV_REQ_KNOCK) {
		if (k->payload_len > KG_PRIV_PAYLOAD_MAX)
			return -EMSGSIZE;
		if ((rc = put_addr(w, &k->addr)) ||
		    (rc = kg_put_u16(w, k->sport)) ||
		    (rc = kg_put_u16(w, k->dport)) ||
		    (rc = kg_put_u32(w, k->ifindex)) ||
		    (rc = kg_put_u64(w, k->rx_us)))
			return rc;
		return kg_put_lv16(w, k->payload, k->payload_len);
	}
	if (k->type != KG_PRIV_REQ_PORT ||
	    (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP))
		return -EINVAL;
	if ((rc = put_addr(w, &k->addr)) || (rc = kg_put_u8(w, k->proto)))
		return rc;
	return kg_put_u16(w, k->dport);
}

/* k->type set by the caller; the rest read. 0 or -EBADMSG. */
static int get_knock(struct kg_reader *r, struct kg_priv_knock *k)
{
	if (k->type == KG_PRIV_REQ_KNOCK)
		return get_addr(r, &k->addr) || kg_get_u16(r, &k->sport) ||
		       kg_get_u16(r, &k->dport) || kg_get_u32(r, &k->ifindex) ||
		       kg_get_u64(r, &k->rx_us) ||
		       kg_get_lv16(r, &k->payload, &k->payload_len,
				   KG_PRIV_PAYLOAD_MAX) ? -EBADMSG : 0;
	if (k->type != KG_PRIV_REQ_PORT)
		return -EBADMSG;
	return get_addr(r, &k->addr) || kg_get_u8(r, &k->proto) ||
	       (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) ||
	       kg_get_u16(r, &k->dport) ? -EBADMSG : 0;
}

static void knock_of_req(const struct kg_priv_req *q, struct kg_priv_knock *k)
{
	*k = (struct kg_priv_knock){
		.type = q->type, .addr = q->addr, .sport = q->sport,
		.dport = q->dport, .proto = q->proto, .ifindex = q->ifindex,
		.rx_us = q->rx_us, .payload = q->payload,
		.payload_len = q->payload_len,
	};
}

static void req_of_knock(const struct kg_priv_knock *k, struct kg_priv_req *q)
{
	q->addr = k->addr;
	q->sport = k->sport;
	q->dport = k->dport;
	q->proto = k->proto;
	q->ifindex = k->ifindex;
	q->rx_us = k->rx_us;
	q->payload = k->payload;
	q->payload_len = k->payload_len;
}

int kg_priv_req_encode(const struct kg_priv_req *q, uint8_t *buf, size_t cap,
		       size_t *len)
{
	struct kg_writer w;
	int rc;

	kg_writer_init(&w, buf, cap < KG_PRIV_FRAME_MAX ? cap : KG_PRIV_FRAME_MAX);
	if ((rc = kg_put_u8(&w, q->type)))
		return rc;
	switch (q->type) {
	case KG_PRIV_REQ_KNOCK:
	case KG_PRIV_REQ_PORT: {
		struct kg_priv_knock k;

		knock_of_req(q, &k);
		if ((rc = put_knock(&w, &k)))
			return rc;
		break;
	}
	case KG_PRIV_REQ_KNOCKS:
		if (!q->n_knocks || q->n_knocks > KG_PRIV_BATCH_MAX)
			return -EINVAL;
		if ((rc = kg_put_u8(&w, (uint8_t)q->n_knocks)))
			return rc;
		for (size_t i = 0; i < q->n_knocks; i++)
			if ((rc = kg_put_u8(&w, q->knocks[i].type)) ||
			    (rc = put_knock(&w, &q->knocks[i])))
				return rc;
		break;
	case KG_PRIV_REQ_BAN:
		if ((rc = put_addr(&w, &q->addr)) ||
		    (rc = kg_put_u32(&w, q->seconds)))
			return rc;
		break;
	case KG_PRIV_REQ_UNBAN:
	case KG_PRIV_REQ_PROTECTED:
		if ((rc = put_addr(&w, &q->addr)))
			return rc;
		break;
	case KG_PRIV_REQ_CTRL_OPEN:
	case KG_PRIV_REQ_CTRL_REPROOF_REQ:
		if ((rc = put_addr(&w, &q->addr)))
			return rc;
		break;
	case KG_PRIV_REQ_CTRL_HELLO:
	case KG_PRIV_REQ_CTRL_PROOF:
	case KG_PRIV_REQ_CTRL_REPROOF:
		if (q->data_len > (q->type == KG_PRIV_REQ_CTRL_HELLO ?
				   KG_PRIV_CERT_MAX : KG_PRIV_SIG_MAX))
			return -EMSGSIZE;
		if ((rc = put_addr(&w, &q->addr)) ||
		    (rc = kg_put_lv16(&w, q->data, q->data_len)))
			return rc;
		break;
	case KG_PRIV_REQ_CTRL_SERVICE:
		if (q->data_len > KG_PRIV_SIG_MAX ||
		    q->name_len > KG_PRIV_NAME_MAX)
			return -EMSGSIZE;
		if ((rc = put_addr(&w, &q->addr)) ||
		    (rc = kg_put_bytes(&w, q->nonce, KG_PRIV_NONCE_LEN)) ||
		    (rc = kg_put_lv16(&w, q->name, q->name_len)) ||
		    (rc = kg_put_lv16(&w, q->data, q->data_len)))
			return rc;
		break;
	case KG_PRIV_REQ_CTRL_END:
		if ((rc = put_addr(&w, &q->addr)) || (rc = kg_put_u8(&w, q->why)))
			return rc;
		break;
	default:
		return -EINVAL;
	}
	*len = w.pos;
	return 0;
}

int kg_priv_req_decode(const uint8_t *buf, size_t len, struct kg_priv_req *q)
{
	struct kg_reader r;

	memset(q, 0, sizeof(*q));
	if (len > KG_PRIV_FRAME_MAX)
		return -EBADMSG;
	kg_reader_init(&r, buf, len);
	if (kg_get_u8(&r, &q->type))
		return -EBADMSG;
	switch (q->type) {
	case KG_PRIV_REQ_KNOCK:
	case KG_PRIV_REQ_PORT: {
		struct kg_priv_knock k = { .type = q->type };

		if (get_knock(&r, &k))
			return -EBADMSG;
		req_of_knock(&k, q);
		break;
	}
	case KG_PRIV_REQ_KNOCKS: {
		uint8_t n;

		if (kg_get_u8(&r, &n) || !n || n > KG_PRIV_BATCH_MAX)
			return -EBADMSG;
		for (size_t j = 0; j < n; j++)
			if (kg_get_u8(&r, &q->knocks[j].type) ||
			    get_knock(&r, &q->knocks[j]))
				return -EBADMSG;
		q->n_knocks = n;
		break;
	}
	case KG_PRIV_REQ_BAN:
		if (get_addr(&r, &q->addr) || kg_get_u32(&r, &q->seconds))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_UNBAN:
	case KG_PRIV_REQ_PROTECTED:
		if (get_addr(&r, &q->addr))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_CTRL_OPEN:
	case KG_PRIV_REQ_CTRL_REPROOF_REQ:
		if (get_addr(&r, &q->addr))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_CTRL_HELLO:
	case KG_PRIV_REQ_CTRL_PROOF:
	case KG_PRIV_REQ_CTRL_REPROOF:
		if (get_addr(&r, &q->addr) ||
		    kg_get_lv16(&r, &q->data, &q->data_len,
				q->type == KG_PRIV_REQ_CTRL_HELLO ?
				KG_PRIV_CERT_MAX : KG_PRIV_SIG_MAX))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_CTRL_SERVICE:
		if (get_addr(&r, &q->addr) ||
		    kg_get_bytes(&r, q->nonce, KG_PRIV_NONCE_LEN) ||
		    kg_get_lv16(&r, &q->name, &q->name_len, KG_PRIV_NAME_MAX) ||
		    kg_get_lv16(&r, &q->data, &q->data_len, KG_PRIV_SIG_MAX))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_CTRL_END:
		if (get_addr(&r, &q->addr) || kg_get_u8(&r, &q->why))
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	return kg_reader_done(&r) ? 0 : -EBADMSG;
}

/* Fields that follow an answer's status (lib/priv.h, struct kg_priv_ans):
 * which ones depends on what it answers or on the async type. */
enum ans_body { B_NONE, B_OPEN, B_NONCE, B_PROOF, B_SERVICE, B_DONE, B_MOVED,
		B_END, B_KNOCKS };

static enum ans_body body_of(const struct kg_priv_ans *a)
{
	switch (a->async) {
	case KG_PRIV_ASYNC_SERVICE_DONE: return B_DONE;
	case KG_PRIV_ASYNC_MOVED: return B_MOVED;
	case KG_PRIV_ASYNC_END: return B_END;
	default: break;
	}
	if (a->status)
		return B_NONE;
	switch (a->for_type) {
	case KG_PRIV_REQ_CTRL_OPEN: return B_OPEN;
	case KG_PRIV_REQ_CTRL_HELLO:
	case KG_PRIV_REQ_CTRL_REPROOF_REQ: return B_NONCE;
	case KG_PRIV_REQ_CTRL_PROOF: return B_PROOF;
	case KG_PRIV_REQ_CTRL_SERVICE: return B_SERVICE;
	case KG_PRIV_REQ_KNOCKS: return B_KNOCKS;
	default: return B_NONE;
	}
}

static int put_grant(struct kg_writer *w, const struct kg_priv_grant *g)
{
	int rc;

	if ((rc = put_addr(w, &g->addr)) || (rc = kg_put_u16(w, g->port)))
		return rc;
	return kg_put_u32(w, g->lease);
}

static int get_grant(struct kg_reader *r, struct kg_priv_grant *g)
{
	if (get_addr(r, &g->addr) || kg_get_u16(r, &g->port) ||
	    kg_get_u32(r, &g->lease))
		return -EBADMSG;
	return 0;
}

static int put_name(struct kg_writer *w, const struct kg_priv_view *v)
{
	if (v->len > KG_PRIV_NAME_MAX)
		return -EMSGSIZE;
	return kg_put_lv16(w, v->p, v->len);
}

static int get_name(struct kg_reader *r, struct kg_priv_view *v)
{
	return kg_get_lv16(r, &v->p, &v->len, KG_PRIV_NAME_MAX) ? -EBADMSG : 0;
}

static int put_body(struct kg_writer *w, const struct kg_priv_ans *a,
		    enum ans_body b)
{
	int rc = 0;

	switch (b) {
	case B_NONE:
		break;
	case B_OPEN:
		if ((rc = kg_put_u64(w, a->session_id)))
			return rc;
		return put_name(w, &a->name);
	case B_NONCE:
		return kg_put_bytes(w, a->nonce, KG_PRIV_NONCE_LEN);
	case B_PROOF:
		if (a->n_services > KG_PRIV_MAX_SERVICES)
			return -EMSGSIZE;
		if ((rc = kg_put_u64(w, a->session_id)) ||
		    (rc = kg_put_u32(w, a->idle_timeout)) ||
		    (rc = kg_put_u32(w, a->expires)) ||
		    (rc = kg_put_u32(w, a->reproof_interval)) ||
		    (rc = kg_put_bytes(w, a->nonce, KG_PRIV_NONCE_LEN)) ||
		    (rc = kg_put_u8(w, (uint8_t)a->n_services)))
			return rc;
		for (size_t i = 0; !rc && i < a->n_services; i++)
			rc = put_name(w, &a->services[i]);
		return rc;
	case B_DONE:
	case B_MOVED:
	case B_SERVICE:
		if (b != B_SERVICE && ((rc = kg_put_u64(w, a->session_id)) ||
				       (rc = put_name(w, &a->name))))
			return rc;
		if (b != B_MOVED && (rc = kg_put_u16(w, a->code)))
			return rc;
		if ((b == B_MOVED || !a->code) && (rc = put_grant(w, &a->grant)))
			return rc;
		if (b != B_MOVED)
			rc = kg_put_bytes(w, a->nonce, KG_PRIV_NONCE_LEN);
		return rc;
	case B_END:
		if ((rc = kg_put_u64(w, a->session_id)))
			return rc;
		return kg_put_u16(w, a->code);
	case B_KNOCKS:
		if (!a->n_statuses || a->n_statuses > KG_PRIV_BATCH_MAX)
			return -EMSGSIZE;
		rc = kg_put_u8(w, (uint8_t)a->n_statuses);
		for (size_t i = 0; !rc && i < a->n_statuses; i++)
			rc = kg_put_u32(w, a->statuses[i]);
		return rc;
	}
	return rc;
}

static int get_body(struct kg_reader *r, struct kg_priv_ans *a,
		    enum ans_body b)
{
	uint8_t n;

	switch (b) {
	case B_NONE:
		return 0;
	case B_OPEN:
		return kg_get_u64(r, &a->session_id) || get_name(r, &a->name) ?
		       -EBADMSG : 0;
	case B_NONCE:
		return kg_get_bytes(r, a->nonce, KG_PRIV_NONCE_LEN) ? -EBADMSG : 0;
	case B_PROOF:
		if (kg_get_u64(r, &a->session_id) ||
		    kg_get_u32(r, &a->idle_timeout) ||
		    kg_get_u32(r, &a->expires) ||
		    kg_get_u32(r, &a->reproof_interval) ||
		    kg_get_bytes(r, a->nonce, KG_PRIV_NONCE_LEN) ||
		    kg_get_u8(r, &n) || n > KG_PRIV_MAX_SERVICES)
			return -EBADMSG;
		a->n_services = n;
		for (size_t i = 0; i < n; i++)
			if (get_name(r, &a->services[i]))
				return -EBADMSG;
		return 0;
	case B_DONE:
	case B_MOVED:
	case B_SERVICE:
		if (b != B_SERVICE && (kg_get_u64(r, &a->session_id) ||
				       get_name(r, &a->name)))
			return -EBADMSG;
		if (b != B_MOVED && kg_get_u16(r, &a->code))
			return -EBADMSG;
		if ((b == B_MOVED || !a->code) && get_grant(r, &a->grant))
			return -EBADMSG;
		if (b != B_MOVED && kg_get_bytes(r, a->nonce, KG_PRIV_NONCE_LEN))
			return -EBADMSG;
		return 0;
	case B_END:
		return kg_get_u64(r, &a->session_id) || kg_get_u16(r, &a->code) ?
		       -EBADMSG : 0;
	case B_KNOCKS:
		if (kg_get_u8(r, &n) || !n || n > KG_PRIV_BATCH_MAX)
			return -EBADMSG;
		for (size_t i = 0; i < n; i++)
			if (kg_get_u32(r, &a->statuses[i]))
				return -EBADMSG;
		a->n_statuses = n;
		return 0;
	}
	return -EBADMSG;
}

int kg_priv_ans_encode(const struct kg_priv_ans *a, uint8_t *buf, size_t cap,
		       size_t *len)
{
	struct kg_writer w;
	int rc;

	kg_writer_init(&w, buf, cap < KG_PRIV_FRAME_MAX ? cap : KG_PRIV_FRAME_MAX);
	if (a->async) {
		if (a->async < KG_PRIV_ASYNC_SERVICE_DONE ||
		    a->async > KG_PRIV_ASYNC_END)
			return -EINVAL;
		rc = kg_put_u8(&w, a->async);
	} else {
		if ((rc = kg_put_u8(&w, KG_PRIV_ANS)) ||
		    (rc = kg_put_u8(&w, a->for_type)) ||
		    (rc = kg_put_u32(&w, a->status)))
			return rc;
	}
	if (rc || (rc = put_body(&w, a, body_of(a))))
		return rc;
	*len = w.pos;
	return 0;
}

int kg_priv_ans_decode(const uint8_t *buf, size_t len, struct kg_priv_ans *a)
{
	struct kg_reader r;
	uint8_t t;

	memset(a, 0, sizeof(*a));
	if (len > KG_PRIV_FRAME_MAX)
		return -EBADMSG;
	kg_reader_init(&r, buf, len);
	if (kg_get_u8(&r, &t))
		return -EBADMSG;
	if (t == KG_PRIV_ANS) {
		if (kg_get_u8(&r, &a->for_type) || kg_get_u32(&r, &a->status))
			return -EBADMSG;
	} else if (t >= KG_PRIV_ASYNC_SERVICE_DONE && t <= KG_PRIV_ASYNC_END) {
		a->async = t;
	} else {
		return -EBADMSG;
	}
	if (get_body(&r, a, body_of(a)) || !kg_reader_done(&r))
		return -EBADMSG;
	return 0;
}

int kg_priv_pair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ? -errno : 0;
}

int kg_priv_send_fd(int sock, const uint8_t *buf, size_t len, int fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} c;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		memset(&c, 0, sizeof(c));
		m.msg_control = c.b;
		m.msg_controllen = sizeof(c.b);
		c.h.cmsg_level = SOL_SOCKET;
		c.h.cmsg_type = SCM_RIGHTS;
		c.h.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&c.h), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int kg_priv_send(int sock, const uint8_t *buf, size_t len)
{
	return kg_priv_send_fd(sock, buf, len, -1);
}

/* Keeps the first fd of the first SCM_RIGHTS message, closes the rest. */
static void take_fds(struct msghdr *m, int *fd)
{
	for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
		size_t n;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (fd && *fd < 0)
				*fd = f;
			else
				close(f);
		}
	}
}

ssize_t kg_priv_recv_fd(int sock, uint8_t *buf, size_t cap, int *fd)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(4 * sizeof(int))];
	} c;
	struct iovec iov = { buf, cap };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = c.b, .msg_controllen = sizeof(c.b) };
	ssize_t n;

	if (fd)
		*fd = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(&m, fd);
	if (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		if (fd && *fd >= 0) {
			close(*fd);
			*fd = -1;
		}
		return -EMSGSIZE;
	}
	return n;
}

ssize_t kg_priv_recv(int sock, uint8_t *buf, size_t cap)
{
	return kg_priv_recv_fd(sock, buf, cap, NULL);
}

static int capset_sets(uint64_t prm, uint64_t eff)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

/* Drops every capability not in mask from the bounding set. Capabilities
 * this kernel does not know end the loop (EINVAL). */
static int drop_bounding(uint64_t mask)
{
	for (int c = 0; c < 64; c++) {
		int in;

		if (mask & (1ULL << c))
			continue;
		if ((in = prctl(PR_CAPBSET_READ, c, 0, 0, 0)) < 0)
			break;
		/* Already out (a unit's CapabilityBoundingSet): no CAP_SETPCAP
		 * needed for it. */
		if (in && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -errno;
	}
	return 0;
}

int kg_priv_drop_worker(const char *user, struct kg_err *e)
{
	struct passwd *pw = getpwnam(user);
	uid_t uid;
	gid_t gid;
	int rc;

	if (!pw) {
		kg_err_set(e, "no user %s", user);
		return -ENOENT;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0 || gid == 0) {
		kg_err_set(e, "user %s is root", user);
		return -EINVAL;
	}
	/* The bounding set needs CAP_SETPCAP: before the uid changes. */
	if ((rc = drop_bounding(0))) {
		kg_err_set(e, "bounding set: %s", strerror(-rc));
		return rc;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		rc = -errno;
		kg_err_set(e, "switching to %s: %s", user, strerror(-rc));
		return rc;
	}
	if (setresuid(0, 0, 0) == 0) {
		kg_err_set(e, "uid 0 came back");
		return -EPERM;
	}
	/* The monitor cannot signal a process of another uid without
	 * CAP_KILL; the kernel ends the worker with it instead. Set after
	 * the uid change, which clears it; a parent already gone is init. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() == 1) {
		rc = -errno;
		kg_err_set(e, "parent death signal: %s", rc ? strerror(-rc) : "parent gone");
		return rc ? rc : -ESRCH;
	}
	if ((rc = capset_sets(0, 0))) {
		kg_err_set(e, "capset: %s", strerror(-rc));
		return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		rc = -errno;
		kg_err_set(e, "prctl: %s", strerror(-rc));
		return rc;
	}
	return kg_priv_seccomp(e);
}

/* What an event loop over already open sockets needs, and what the C
 * runtime (malloc, stdio to stderr, abort, sanitizers' reports) uses. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(close), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday),
	SCMP_SYS(getrandom), SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap),
	SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(exit),
	SCMP_SYS(exit_group), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(getppid), SCMP_SYS(tgkill), SCMP_SYS(restart_syscall),
	SCMP_SYS(sched_yield), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime), SCMP_SYS(lseek),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	/* green's control port: connections on a listener it was handed */
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(fcntl),
	SCMP_SYS(shutdown), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
};

int kg_priv_seccomp(struct kg_err *e)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = 0;

	if (!f) {
		kg_err_set(e, "seccomp_init failed");
		return -ENOMEM;
	}
	for (size_t i = 0; !rc && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i] >= 0)   /* negative: not on this architecture */
			rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0);
	if (!rc)
		rc = seccomp_load(f);
	seccomp_release(f);
	if (rc)
		kg_err_set(e, "seccomp: %s", strerror(-rc));
	return rc;
}

int kg_priv_keep_caps(const int *keep, size_t n, struct kg_err *e)
{
	uint64_t mask = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		if (keep[i] >= 0 && keep[i] < 64)
			mask |= 1ULL << keep[i];
	if ((rc = drop_bounding(mask)) ||
	    (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	     (rc = -errno)) ||
	    (rc = capset_sets(mask, mask)))
		kg_err_set(e, "keeping capabilities: %s", strerror(-rc));
	return rc;
}
