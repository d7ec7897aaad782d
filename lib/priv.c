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
		if (q->payload_len > KG_PRIV_PAYLOAD_MAX)
			return -EMSGSIZE;
		if ((rc = put_addr(&w, &q->addr)) ||
		    (rc = kg_put_u16(&w, q->sport)) ||
		    (rc = kg_put_u16(&w, q->dport)) ||
		    (rc = kg_put_u32(&w, q->ifindex)) ||
		    (rc = kg_put_u64(&w, q->rx_us)) ||
		    (rc = kg_put_lv16(&w, q->payload, q->payload_len)))
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
	case KG_PRIV_REQ_PORT:
		if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP)
			return -EINVAL;
		if ((rc = put_addr(&w, &q->addr)) ||
		    (rc = kg_put_u8(&w, q->proto)) ||
		    (rc = kg_put_u16(&w, q->dport)))
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
		if (get_addr(&r, &q->addr) || kg_get_u16(&r, &q->sport) ||
		    kg_get_u16(&r, &q->dport) || kg_get_u32(&r, &q->ifindex) ||
		    kg_get_u64(&r, &q->rx_us) ||
		    kg_get_lv16(&r, &q->payload, &q->payload_len,
				KG_PRIV_PAYLOAD_MAX))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_BAN:
		if (get_addr(&r, &q->addr) || kg_get_u32(&r, &q->seconds))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_UNBAN:
	case KG_PRIV_REQ_PROTECTED:
		if (get_addr(&r, &q->addr))
			return -EBADMSG;
		break;
	case KG_PRIV_REQ_PORT:
		if (get_addr(&r, &q->addr) || kg_get_u8(&r, &q->proto) ||
		    (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP) ||
		    kg_get_u16(&r, &q->dport))
			return -EBADMSG;
		break;
	default:
		return -EBADMSG;
	}
	return kg_reader_done(&r) ? 0 : -EBADMSG;
}

int kg_priv_ans_encode(const struct kg_priv_ans *a, uint8_t *buf, size_t cap,
		       size_t *len)
{
	struct kg_writer w;
	int rc;

	kg_writer_init(&w, buf, cap);
	if ((rc = kg_put_u8(&w, KG_PRIV_ANS)) ||
	    (rc = kg_put_u8(&w, a->for_type)) ||
	    (rc = kg_put_u32(&w, a->status)))
		return rc;
	*len = w.pos;
	return 0;
}

int kg_priv_ans_decode(const uint8_t *buf, size_t len, struct kg_priv_ans *a)
{
	struct kg_reader r;
	uint8_t t;

	memset(a, 0, sizeof(*a));
	kg_reader_init(&r, buf, len);
	if (kg_get_u8(&r, &t) || t != KG_PRIV_ANS ||
	    kg_get_u8(&r, &a->for_type) || kg_get_u32(&r, &a->status) ||
	    !kg_reader_done(&r))
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
