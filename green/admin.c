/* SPDX-License-Identifier: MIT */
/*
 * The admin socket knockgate-ctl talks to (admin.h): the socket itself,
 * the root-only check (SO_PEERCRED) and the request parsing are
 * lib/ctl_admin_server.c's; this file serves green's requests. Every
 * request and every refusal is one log record (event=ctl).
 *
 * Sessions are ended as the client's own close ends them (end_one: the
 * client is told, peer, elements and red grants go); bans are lifted
 * through the IPS (kg_ips_lift) so its books and the kernel agree.
 */
#include "admin_int.h"
#include "ctl_admin_server.h"
#include "evloop.h"
#include "gate.h"
#include "green.h"
#include "ips.h"
#include "ips_report.h"
#include "log.h"
#include "apply.h"
#include "crypto.h"
#include "ctrl_glue.h"
#include "ctrl_server.h"
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

static bool parse_id(const char *s, uint64_t *id)
{
	char *end;

	if (strlen(s) != 16 || strspn(s, "0123456789abcdefABCDEF") != 16)
		return false;
	*id = strtoull(s, &end, 16);
	return !*end;
}

/* Ends session id as the client's own close would: the client is told
 * (CLOSE, code close) and its peer stays GATE_PEER_GRACE_MS so that CLOSE
 * still leaves through the tunnel; openings, elements and red grants go
 * at once (gate_session_gone). gate_session_end(..., true) would drop
 * the peer at once and the client would learn only from its keepalive. */
static void end_one(struct green_gate *gt, uint64_t id)
{
	struct kg_session s;

	if (kg_sess_end(&gt->sess, id, KG_END_CLOSE, &s))
		return;
	gate_ctrl_end_session(gt, id, KG_CODE_CLOSE);
	gate_session_gone(gt, &s, true);
	kg_wipe(&s, sizeof(s));
}

static void do_end(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	struct green_gate *gt = g->gate;
	uint64_t id, *ids;
	size_t n = 0;
	char msg[128];

	if (q->op == KG_CTL_END) {
		if (!parse_id(q->arg, &id)) {
			kg_ctl_admin_log(q, "refused", "bad_session_id");
			kg_ctl_admin_answer_str(fd, KG_CTL_BAD_REQUEST,
				   "a session id is 16 hex digits (see 'knockgate-ctl sessions')\n");
			return;
		}
		if (!kg_sess_by_id(&gt->sess, id)) {
			kg_ctl_admin_log(q, "refused", "no_such_session");
			kg_ctl_admin_answer_str(fd, KG_CTL_NOT_FOUND, "no such session\n");
			return;
		}
		end_one(gt, id);
		kg_ctl_admin_log(q, "ended", "1");
		kg_ctl_admin_answer_str(fd, KG_CTL_OK, "session ended\n");
		return;
	}
	/* A user's sessions: ids first, ending one changes the table. */
	ids = calloc(gt->sess.n ? gt->sess.n : 1, sizeof(*ids));
	if (!ids) {
		kg_ctl_admin_answer_str(fd, KG_CTL_FAILED, "out of memory\n");
		return;
	}
	for (size_t i = 0; i < gt->sess.n; i++)
		if (!strcmp(gt->sess.s[i].user, q->arg))
			ids[n++] = gt->sess.s[i].id;
	for (size_t i = 0; i < n; i++)
		end_one(gt, ids[i]);
	free(ids);
	snprintf(msg, sizeof(msg), "%zu", n);
	kg_ctl_admin_log(q, n ? "ended" : "refused", n ? msg : "no_session_of_user");
	if (!n) {
		kg_ctl_admin_answer_str(fd, KG_CTL_NOT_FOUND, "no session of that user\n");
		return;
	}
	snprintf(msg, sizeof(msg), "%zu session%s ended\n", n, n == 1 ? "" : "s");
	kg_ctl_admin_answer_str(fd, KG_CTL_OK, msg);
}

static void do_unban(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	struct kg_addr a, key;
	char k[KG_ADDR_STRLEN + 4];
	int r;

	if (kg_addr_parse(q->arg, &a)) {
		kg_ctl_admin_log(q, "refused", "bad_address");
		kg_ctl_admin_answer_str(fd, KG_CTL_BAD_REQUEST, "not an IPv4 or IPv6 address\n");
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
		kg_ctl_admin_log(q, "refused", "not_banned");
		kg_ctl_admin_answer_str(fd, KG_CTL_NOT_FOUND, "not banned\n");
	} else if (r) {
		kg_ctl_admin_log(q, "error", strerror(-r));
		kg_ctl_admin_answer_str(fd, KG_CTL_FAILED, "the kernel refused the change\n");
	} else {
		kg_ctl_admin_log(q, "lifted", k);
		kg_ctl_admin_answer_str(fd, KG_CTL_OK, "ban lifted\n");
	}
}

static void do_drain(struct green *g, const struct kg_ctl_admin_req *q, int fd)
{
	bool on = q->op == KG_CTL_DRAIN;

	if (g->admin->draining != on)
		kg_log_event(KG_LOG_NOTICE, "drain", "result",
			     on ? "on" : "off", "reason", "admin");
	g->admin->draining = on;
	kg_ctl_admin_log(q, "ok", NULL);
	kg_ctl_admin_answer_str(fd, KG_CTL_OK, on ?
		   "draining: new knocks are refused, live sessions kept\n" :
		   "not draining: knocks accepted\n");
}

static void serve(void *ctx, const struct kg_ctl_admin_req *q, int fd)
{
	struct green *g = ctx;
	struct kg_sb o = KG_SB_INIT;

	switch (q->op) {
	case KG_CTL_END:
	case KG_CTL_END_USER:
	case KG_CTL_SESSIONS:
		if (!g->gate) {
			kg_ctl_admin_log(q, "refused", "no_gate");
			kg_ctl_admin_answer_str(fd, KG_CTL_NOT_AVAILABLE,
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
		kg_ips_report_bans(g->ips, q->json, &o);
		break;
	case KG_CTL_EXPIRY:
		green_expiry_check(g);
		admin_report_expiry(g, q->json, &o);
		break;
	case KG_CTL_STATUS:
		admin_report_status(g, q->json, &o);
		break;
	case KG_CTL_GRANTS:
		kg_ctl_admin_log(q, "refused", "not_red");
		kg_ctl_admin_answer_str(fd, KG_CTL_NOT_AVAILABLE,
					"grants are red's; on green see 'sessions' (services)\n");
		return;
	}
	kg_ctl_admin_answer_sb(q, fd, &o);
}

static void on_listen(void *ctx, int lfd, uint32_t events)
{
	(void)events;
	kg_ctl_admin_accept(lfd, serve, ctx);
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
	if (path && !kg_ctl_admin_listen(path, &a->fd, &le)) {
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

void green_admin_forget(struct green *g)
{
	struct green_admin *a = g->admin;

	if (!a)
		return;
	/* The worker's copy: its fd closed so a compromised worker cannot
	 * accept admin connections; the socket file is the monitor's. */
	if (a->fd >= 0)
		close(a->fd);
	free(a->path);
	green_expiry_free(a);
	free(a);
	g->admin = NULL;
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
