/* SPDX-License-Identifier: MIT */
/*
 * The admin socket knockgate-ctl talks to (admin.h). One request per
 * connection (lib/ctl_admin.h), answered in the event loop: the peer's
 * uid is checked (SO_PEERCRED) right after accept, before anything is
 * read, so only root waits on a read (at most REQ_WAIT_MS) or is answered.
 * Every request and every refusal is one log record (event=ctl).
 *
 * Sessions are ended as a revocation ends them (gate_session_end: the
 * client is told, peer, elements and red grants go); bans are lifted
 * through the IPS (kg_ips_lift) so its books and the kernel agree.
 */
#include "admin_int.h"
#include "ctl_admin.h"
#include "evloop.h"
#include "gate.h"
#include "green.h"
#include "ips.h"
#include "log.h"
#include "apply.h"
#include "sessions_run.h"
#include "time.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_WAIT_MS 500
#define SEND_TIMEOUT_S 2
#define TICK_MS 1000
#define EXPIRY_EVERY_MS 60000

bool green_admin_draining(const struct green *g)
{
	return g->admin && g->admin->draining;
}

const char *green_admin_status_note(const struct green *g)
{
	struct green_admin *a = g->admin;
	size_t n;

	if (!a)
		return "";
	snprintf(a->note, sizeof(a->note), "%s", a->draining ? "; draining" : "");
	n = strlen(a->note);
	green_expiry_note(g, a->note + n, sizeof(a->note) - n);
	return a->note;
}

/* Sends the status byte and o's text in chunks; the peer reads to EOF. */
static void answer(int fd, enum kg_ctl_admin_status st, const char *text,
		   size_t len)
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

static void answer_str(int fd, enum kg_ctl_admin_status st, const char *s)
{
	answer(fd, st, s, strlen(s));
}

static void log_req(const struct kg_ctl_admin_req *q, const char *result,
		    const char *detail)
{
	kg_log_event(KG_LOG_NOTICE, "ctl", "op", kg_ctl_admin_op_name(q->op),
		     "arg", q->arg_len ? q->arg : NULL, "result", result,
		     "detail", detail);
}

static bool parse_id(const char *s, uint64_t *id)
{
	char *end;

	if (strlen(s) != 16 || strspn(s, "0123456789abcdefABCDEF") != 16)
		return false;
	*id = strtoull(s, &end, 16);
	return !*end;
}

static void do_end(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	struct green_gate *gt = g->gate;
	uint64_t id, *ids;
	size_t n = 0;
	char msg[128];

	if (q->op == KG_CTL_END) {
		if (!parse_id(q->arg, &id)) {
			log_req(q, "refused", "bad_session_id");
			answer_str(fd, KG_CTL_BAD_REQUEST,
				   "a session id is 16 hex digits (see 'knockgate-ctl sessions')\n");
			return;
		}
		if (!kg_sess_by_id(&gt->sess, id)) {
			log_req(q, "refused", "no_such_session");
			answer_str(fd, KG_CTL_NOT_FOUND, "no such session\n");
			return;
		}
		gate_session_end(gt, id, KG_END_CLOSE, true);
		log_req(q, "ended", "1");
		answer_str(fd, KG_CTL_OK, "session ended\n");
		return;
	}
	/* A user's sessions: ids first, ending one changes the table. */
	ids = calloc(gt->sess.n ? gt->sess.n : 1, sizeof(*ids));
	if (!ids) {
		answer_str(fd, KG_CTL_FAILED, "out of memory\n");
		return;
	}
	for (size_t i = 0; i < gt->sess.n; i++)
		if (!strcmp(gt->sess.s[i].user, q->arg))
			ids[n++] = gt->sess.s[i].id;
	for (size_t i = 0; i < n; i++)
		gate_session_end(gt, ids[i], KG_END_CLOSE, true);
	free(ids);
	snprintf(msg, sizeof(msg), "%zu", n);
	log_req(q, n ? "ended" : "refused", n ? msg : "no_session_of_user");
	if (!n) {
		answer_str(fd, KG_CTL_NOT_FOUND, "no session of that user\n");
		return;
	}
	snprintf(msg, sizeof(msg), "%zu session%s ended\n", n, n == 1 ? "" : "s");
	answer_str(fd, KG_CTL_OK, msg);
}

static void do_unban(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	struct kg_addr a, key;
	char k[KG_ADDR_STRLEN + 4];
	int r;

	if (kg_addr_parse(q->arg, &a)) {
		log_req(q, "refused", "bad_address");
		answer_str(fd, KG_CTL_BAD_REQUEST, "not an IPv4 or IPv6 address\n");
		return;
	}
	r = g->ips ? kg_ips_lift(g->ips, &a, "admin") : -ENOENT;
	if (r == -ENOENT) {
		/* Not in the IPS's books (a reload made a new IPS): the kernel
		 * may still hold it. */
		kg_addr_ban_key(&a, &key);
		r = green_apply_unban(g->nft, &key);
		if (!r)
			kg_log_event(KG_LOG_NOTICE, "unban", "result", "lifted",
				     "src", q->arg, "reason", "admin");
	}
	kg_addr_ban_key(&a, &key);
	kg_addr_str(&key, k);
	if (r == -ENOENT) {
		log_req(q, "refused", "not_banned");
		answer_str(fd, KG_CTL_NOT_FOUND, "not banned\n");
	} else if (r) {
		log_req(q, "error", strerror(-r));
		answer_str(fd, KG_CTL_FAILED, "the kernel refused the change\n");
	} else {
		log_req(q, "lifted", k);
		answer_str(fd, KG_CTL_OK, "ban lifted\n");
	}
}

static void do_drain(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	bool on = q->op == KG_CTL_DRAIN;

	if (g->admin->draining != on)
		kg_log_event(KG_LOG_NOTICE, "drain", "result",
			     on ? "on" : "off", "reason", "admin");
	g->admin->draining = on;
	log_req(q, "ok", NULL);
	answer_str(fd, KG_CTL_OK, on ?
		   "draining: new knocks are refused, live sessions kept\n" :
		   "not draining: knocks accepted\n");
}

static void serve(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	struct admin_out o = { 0 };

	switch (q->op) {
	case KG_CTL_END:
	case KG_CTL_END_USER:
	case KG_CTL_SESSIONS:
		if (!g->gate) {
			log_req(q, "refused", "no_gate");
			answer_str(fd, KG_CTL_NOT_AVAILABLE,
				   "no sessions: [knock] is not configured or the gate failed to start\n");
			return;
		}
		if (q->op != KG_CTL_SESSIONS) {
			do_end(g, q, fd);
			return;
		}
		admin_report_sessions(g, q->json, &o);
		break;
	case KG_CTL_UNBAN:
		do_unban(g, q, fd);
		return;
	case KG_CTL_DRAIN:
	case KG_CTL_UNDRAIN:
		do_drain(g, q, fd);
		return;
	case KG_CTL_BANS:
		admin_report_bans(g, q->json, &o);
		break;
	case KG_CTL_EXPIRY:
		green_expiry_check(g);
		admin_report_expiry(g, q->json, &o);
		break;
	case KG_CTL_STATUS:
		admin_report_status(g, q->json, &o);
		break;
	}
	if (o.oom) {
		log_req(q, "error", "out_of_memory");
		answer_str(fd, KG_CTL_FAILED, "out of memory\n");
	} else {
		log_req(q, "ok", NULL);
		answer(fd, KG_CTL_OK, o.p ? o.p : "", o.n);
	}
	admin_out_free(&o);
}

static void on_conn(struct green *g, int fd)
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
	if (poll(&p, 1, REQ_WAIT_MS) != 1) {
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
		answer_str(fd, KG_CTL_BAD_REQUEST, "request too long\n");
		return;
	}
	if (kg_ctl_admin_parse(msg, (size_t)n, &q, &why)) {
		kg_log_event(KG_LOG_NOTICE, "ctl", "result", "refused",
			     "reason", "malformed", "detail", why);
		answer_str(fd, KG_CTL_BAD_REQUEST, "malformed request (version mismatch?)\n");
		return;
	}
	/* The answer may be long: a blocking send, bounded in time. */
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	serve(g, &q, fd);
}

static void on_listen(void *ctx, int lfd, uint32_t events)
{
	struct green *g = ctx;
	int fd;

	(void)events;
	/* A burst is served a few at a time; the rest wait in the backlog. */
	for (int i = 0; i < 8; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		on_conn(g, fd);
		close(fd);
	}
}

static void tick(void *ctx)
{
	struct green *g = ctx;
	struct green_admin *a = g->admin;
	const char *path = g->conf.admin.metrics_file;
	int64_t now = kg_mono_ms();
	struct kg_err e = { "" };
	int r;

	if (now >= a->next_expiry_ms) {
		a->next_expiry_ms = now + EXPIRY_EVERY_MS;
		green_expiry_check(g);
	}
	if (!path || now < a->next_metrics_ms)
		return;
	a->next_metrics_ms = now + (int64_t)g->conf.admin.metrics_interval * 1000;
	if ((r = green_metrics_write(g, path, &e))) {
		/* No textfile directory: node_exporter is not installed (the
		 * default path is its package's); not an error. */
		if (!a->metrics_failed && r == -ENOENT)
			kg_log_event(KG_LOG_NOTICE, "metrics", "result", "skipped",
				     "reason", "no_directory", "path", path);
		else if (!a->metrics_failed)
			kg_log_event(KG_LOG_WARNING, "metrics", "result", "error",
				     "error", e.msg);
		a->metrics_failed = true;
	} else if (a->metrics_failed) {
		kg_log_event(KG_LOG_NOTICE, "metrics", "result", "ok",
			     "path", path);
		a->metrics_failed = false;
	}
}

/* The socket at path, mode 0600; a stale one (no listener) is replaced,
 * a live one (another green) is not. */
static int listen_at(const char *path, int *out, struct kg_err *e)
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

int green_admin_start(struct green *g, struct kg_err *e)
{
	struct green_admin *a = calloc(1, sizeof(*a));
	const char *path = g->conf.admin.socket;
	struct kg_err le = { "" };
	int r;

	if (!a) {
		kg_err_set(e, "admin: out of memory");
		return -ENOMEM;
	}
	a->fd = -1;
	g->admin = a;
	green_expiry_setup(g);
	green_expiry_check(g);
	a->next_expiry_ms = kg_mono_ms() + EXPIRY_EVERY_MS;
	if (path && !listen_at(path, &a->fd, &le)) {
		a->path = strdup(path);
		if ((r = kg_evloop_add_fd(g->loop, a->fd, on_listen, g))) {
			kg_log_event(KG_LOG_ERR, "ctl", "result", "error",
				     "error", strerror(-r));
		} else {
			kg_log_event(KG_LOG_NOTICE, "ctl", "result", "listening",
				     "path", path);
		}
	} else if (path) {
		kg_log_event(KG_LOG_ERR, "ctl", "result", "error",
			     "reason", "no_admin_socket", "error", le.msg);
	}
	r = kg_evloop_add_timer(g->loop, TICK_MS, tick, g);
	if (r)
		kg_err_set(e, "admin timer: %s", strerror(-r));
	return r;
}

void green_admin_reload(struct green *g)
{
	if (!g->admin)
		return;
	green_expiry_setup(g);
	green_expiry_check(g);
}

void green_admin_stop(struct green *g)
{
	struct green_admin *a = g->admin;

	if (!a)
		return;
	if (a->fd >= 0) {
		if (g->loop)
			kg_evloop_del_fd(g->loop, a->fd);
		close(a->fd);
		if (a->path)
			unlink(a->path);
	}
	free(a->path);
	green_expiry_free(a);
	free(a);
	g->admin = NULL;
}
