/* SPDX-License-Identifier: MIT */
#include "ctl_admin_server.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define SEND_TIMEOUT_S 2

/* The status byte and the text in chunks; the peer reads to EOF. */
void kg_ctl_admin_answer(int fd, enum kg_ctl_admin_status st,
			 const char *text, size_t len)
{
	uint8_t buf[KG_CTL_ADMIN_CHUNK];
	size_t off = 0, n;

	buf[0] = (uint8_t)st;
	n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
	memcpy(buf + 1, text, n);
	if (send(fd, buf, n + 1, MSG_NOSIGNAL) < 0)
		return;
	for (off = n; off < len; off += n) {
		n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		if (send(fd, text + off, n, MSG_NOSIGNAL) < 0)
			return;
	}
}

void kg_ctl_admin_answer_str(int fd, enum kg_ctl_admin_status st,
			     const char *s)
{
	kg_ctl_admin_answer(fd, st, s, strlen(s));
}

void kg_ctl_admin_answer_sb(const struct kg_ctl_admin_req *q, int fd,
			    struct kg_sb *o)
{
	if (kg_sb_error(o)) {
		kg_ctl_admin_log(q, "error", "out_of_memory");
		kg_ctl_admin_answer_str(fd, KG_CTL_FAILED, "out of memory\n");
	} else {
		kg_ctl_admin_log(q, "ok", NULL);
		kg_ctl_admin_answer(fd, KG_CTL_OK, kg_sb_str(o), o->len);
	}
	kg_sb_free(o);
}

void kg_ctl_admin_log(const struct kg_ctl_admin_req *q, const char *result,
		      const char *detail)
{
	kg_log_event(KG_LOG_NOTICE, "ctl", "op", kg_ctl_admin_op_name(q->op),
		     "arg", q->arg_len ? q->arg : NULL, "result", result,
		     "detail", detail);
}

static void on_conn(int fd, kg_ctl_admin_serve_fn serve, void *ctx)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_S };
	uint8_t msg[KG_CTL_ADMIN_MAX_REQ + 1];
	struct kg_ctl_admin_req q;
	const char *why;
	char uid[16], pid[16];
	ssize_t n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		kg_log_event(KG_LOG_WARNING, "ctl", "result", "refused",
			     "reason", "no_peer_credentials");
		return;
	}
	if (cred.uid != 0) {
		snprintf(uid, sizeof(uid), "%u", (unsigned)cred.uid);
		snprintf(pid, sizeof(pid), "%d", (int)cred.pid);
		kg_log_event(KG_LOG_WARNING, "ctl", "result", "refused",
			     "reason", "not_root", "uid", uid, "pid", pid);
		return;
	}
	if (poll(&p, 1, KG_CTL_ADMIN_WAIT_MS) != 1) {
		kg_log_event(KG_LOG_NOTICE, "ctl", "result", "refused",
			     "reason", "no_request");
		return;
	}
	n = recv(fd, msg, sizeof(msg), MSG_DONTWAIT | MSG_TRUNC);
	if (n <= 0) {
		kg_log_event(KG_LOG_NOTICE, "ctl", "result", "refused",
			     "reason", "no_request");
		return;
	}
	if ((size_t)n > KG_CTL_ADMIN_MAX_REQ) {
		kg_log_event(KG_LOG_NOTICE, "ctl", "result", "refused",
			     "reason", "malformed", "detail", "too_long");
		kg_ctl_admin_answer_str(fd, KG_CTL_BAD_REQUEST, "request too long\n");
		return;
	}
	if (kg_ctl_admin_parse(msg, (size_t)n, &q, &why)) {
		kg_log_event(KG_LOG_NOTICE, "ctl", "result", "refused",
			     "reason", "malformed", "detail", why);
		kg_ctl_admin_answer_str(fd, KG_CTL_BAD_REQUEST, "malformed request (version mismatch?)\n");
		return;
	}
	/* The answer may be long: a blocking send, bounded in time. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	serve(ctx, &q, fd);
}

void kg_ctl_admin_accept(int lfd, kg_ctl_admin_serve_fn serve, void *ctx)
{
	int fd;

	/* A burst is served a few at a time; the rest wait in the backlog. */
	for (int i = 0; i < 8; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		on_conn(fd, serve, ctx);
		close(fd);
	}
}

/* The socket at path, mode 0600; a stale one (no listener) is replaced,
 * a live one (another daemon) is not. */
int kg_ctl_admin_listen(const char *path, int *out, struct kg_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)], *slash;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		kg_err_set(e, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST) {
			r = -errno;
			kg_err_set(e, "%s: %s", dir, strerror(errno));
			return r;
		}
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		kg_err_set(e, "socket: %s", strerror(errno));
		return r;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		kg_err_set(e, "%s: another daemon listens there", path);
		return -EADDRINUSE;
	}
	unlink(path);
	old = umask(0077);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || chmod(path, 0600) || listen(fd, 16)) {
		r = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}
