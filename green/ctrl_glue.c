/* SPDX-License-Identifier: MIT */
/*
 * The control server (ctrl_server.c) inside the daemon: its ops over the
 * session table, the user records, pki/ and the policy; its sockets in
 * the event loop. Connections go into one epoll set of their own (the
 * loop watches that one fd), so max_clients is not bounded by the loop's
 * watch table; a ~100 ms timer drives timeouts, reproofs and output.
 */
#include "gate.h"
#include "grants.h"
#include "ctrl_glue.h"
#include "sessions_run.h"
#include "revoke.h"
#include "ctrl_server.h"
#include "ctrl_monitor.h"
#include "evloop.h"
#include "log.h"
#include "pki.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/x509.h>

static int op_lookup(void *ctx, const struct kg_addr *tunnel,
		     struct kg_ctrl_peer *out)
{
	struct green_gate *gt = ctx;
	struct kg_session *s = kg_sess_by_tunnel(&gt->sess, tunnel);
	struct kg_user *u;

	memset(out, 0, sizeof(*out));
	if (!s || !(u = kg_users_find(&gt->users, s->user)))
		return -ENOENT;
	out->session_id = s->id;
	snprintf(out->user, sizeof(out->user), "%s", s->user);
	memcpy(out->client_wg_pub, s->peer_key, 32);
	memcpy(out->spki_pin, u->spki_sha256, 32);
	out->live = s->state == KG_SESS_LIVE;
	return 0;
}

int gate_ctrl_verify_cert(void *ctx, const uint8_t *der, size_t len,
			  void **cert, uint8_t spki[32], const char **reason)
{
	struct green_gate *gt = ctx;
	enum kg_pki_status st;
	X509 *x = NULL;

	st = kg_pki_verify_der(gt->pki, der, len, KG_ROLE_USER, 0, &x);
	if (st != KG_PKI_OK) {
		*reason = kg_pki_status_name(st);
		return -EACCES;
	}
	if (kg_pki_spki_sha256(x, spki)) {
		X509_free(x);
		*reason = "internal";
		return -EACCES;
	}
	/* Kept so a reloaded CRL can be checked against live sessions. */
	gate_cert_remember(gt, x, spki);
	*cert = x;
	return 0;
}

static int op_verify_sig(void *ctx, void *cert, const uint8_t digest[32],
			 const uint8_t *sig, size_t len)
{
	(void)ctx;
	return kg_pki_verify_sig(cert, digest, sig, len) == KG_PKI_OK ? 0 : -EBADMSG;
}

static void op_cert_free(void *ctx, void *cert)
{
	(void)ctx;
	X509_free(cert);
}

int gate_ctrl_session_live(void *ctx, uint64_t id, struct kg_ctrl_live *out)
{
	struct green_gate *gt = ctx;
	struct kg_session *s;
	int r = kg_sess_prove(&gt->sess, id);

	if (r)
		return r;
	s = kg_sess_by_id(&gt->sess, id);
	if (!s)
		return -ENOENT;
	if ((r = gate_make_live(gt, s)))
		return r;
	out->idle_timeout = gt->sess.lim.idle_timeout;
	out->expires = gt->sess.lim.max_lifetime;
	out->reproof_interval = gt->sess.lim.reproof_interval;
	kg_policy_user_services(&gt->policy, s->user, out->services,
				KG_CTRL_MAX_SERVICES, &out->n_services);
	return 0;
}

static void op_session_end(void *ctx, uint64_t id, enum kg_sess_end why)
{
	gate_session_end(ctx, id, why, false);
}

static void op_reproved(void *ctx, uint64_t id)
{
	struct green_gate *gt = ctx;

	kg_sess_reproved(&gt->sess, id);
}

static void op_activity(void *ctx, uint64_t id)
{
	struct green_gate *gt = ctx;

	kg_sess_touch(&gt->sess, id);
}

/* The service request, from the control server straight to the grants:
 * the policy is checked here, once; the grant goes to the session's
 * tunnel address, never one the request names. */
int gate_ctrl_open_service(void *ctx, uint64_t id, const char *user,
			   const char *service, struct kg_ctrl_grant *out,
			   uint16_t *code)
{
	struct green_gate *gt = ctx;
	const struct kg_service *svc = kg_policy_service(&gt->policy, service);
	struct kg_session *s;
	int r;

	if (!svc) {
		*code = KG_CODE_UNKNOWN_SERVICE;
		return -EACCES;
	}
	if (!kg_policy_allows(&gt->policy, user, service)) {
		*code = KG_CODE_NOT_ALLOWED;
		return -EACCES;
	}
	if (!gt->g->grants) {
		*code = KG_CODE_UNAVAILABLE;   /* no site link configured */
		return -EACCES;
	}
	if (!(s = kg_sess_by_id(&gt->sess, id))) {
		*code = KG_CODE_NO_SESSION;
		return -EACCES;
	}
	r = green_grants_open(gt->g->grants, id, s->user,
			      gate_grant_client(gt, s, svc->red_id), service,
			      svc->red_id, out);
	if (r == 0 || r == -EINPROGRESS)
		return r;
	*code = r == -ENOSPC ? KG_CODE_BUSY :
		r == -ENOENT ? KG_CODE_UNAVAILABLE : KG_CODE_INTERNAL;
	return -EACCES;
}

static void op_watch(void *ctx, int fd, bool on)
{
	struct green_gate *gt = ctx;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (on) {
		if (epoll_ctl(gt->conn_epfd, EPOLL_CTL_ADD, fd, &ev))
			kg_log(KG_LOG_ERR, "control: epoll: %s", strerror(errno));
	} else {
		epoll_ctl(gt->conn_epfd, EPOLL_CTL_DEL, fd, NULL);
	}
}

static void on_conn(void *ctx, int fd, uint32_t events)
{
	struct green_gate *gt = ctx;
	struct epoll_event ev[64];
	int n;

	(void)fd;
	(void)events;
	n = epoll_wait(gt->conn_epfd, ev, 64, 0);
	for (int i = 0; i < n; i++)
		kg_ctrl_server_handle(gt->ctrl, ev[i].data.fd, POLLIN);
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	struct green_gate *gt = ctx;

	(void)events;
	kg_ctrl_server_accept(gt->ctrl, fd);
}

int gate_ctrl_start(struct green_gate *gt, struct kg_err *e)
{
	const struct green_gate_conf *gc = gt->g->conf.gate;
	struct kg_ctrl_ops ops = {
		.ctx = gt, .lookup = op_lookup, .verify_cert = gate_ctrl_verify_cert,
		.verify_sig = op_verify_sig, .cert_free = op_cert_free,
		.session_live = gate_ctrl_session_live, .session_end = op_session_end,
		.reproved = op_reproved, .activity = op_activity,
		.open_service = gate_ctrl_open_service, .watch = op_watch,
	};
	struct kg_ctrl_server_conf sc = {
		.io_timeout_ms = gc->sess.io_timeout * 1000,
		.reproof_interval_ms = gc->sess.lim.reproof_interval * 1000,
		.max_clients = gc->sess.max_clients,
	};
	int r;

	memcpy(sc.green_wg_pub, gt->wg_pub, 32);
	gt->conn_epfd = epoll_create1(EPOLL_CLOEXEC);
	if (gt->conn_epfd < 0) {
		r = -errno;
		kg_err_set(e, "control: epoll: %s", strerror(errno));
		return r;
	}
	if ((r = kg_ctrl_server_new(&gt->ctrl, &sc, &ops, NULL, NULL))) {
		kg_err_set(e, "control server: %s", strerror(-r));
		return r;
	}
	r = kg_ctrl_listen(&gt->g->conf.tunnel_address, gc->sess.control_port,
			   64, &gt->listen_fd);
	if (r) {
		kg_err_set(e, "control port %u: %s", gc->sess.control_port, strerror(-r));
		return r;
	}
	if ((r = kg_evloop_add_fd(gt->g->loop, gt->listen_fd, on_listen, gt)) ||
	    (r = kg_evloop_add_fd(gt->g->loop, gt->conn_epfd, on_conn, gt)))
		kg_err_set(e, "control: event loop: %s", strerror(-r));
	return r;
}

void gate_ctrl_tick(struct green_gate *gt)
{
	if (gt->ctrl)
		kg_ctrl_server_tick(gt->ctrl);
}

void gate_ctrl_stop(struct green_gate *gt)
{
	/* Frees connections without callbacks: the sessions go with the
	 * interface and the table. */
	kg_ctrl_server_free(gt->ctrl);
	gt->ctrl = NULL;
	if (gt->listen_fd >= 0) {
		if (gt->g->loop)
			kg_evloop_del_fd(gt->g->loop, gt->listen_fd);
		close(gt->listen_fd);
	}
	if (gt->conn_epfd >= 0) {
		if (gt->g->loop)
			kg_evloop_del_fd(gt->g->loop, gt->conn_epfd);
		close(gt->conn_epfd);
	}
	gt->listen_fd = gt->conn_epfd = -1;
}

/* Under -P the monitor has no control server (the worker holds the
 * connections): these go to the worker as unasked messages. */
int gate_ctrl_end_session(struct green_gate *gt, uint64_t id, uint16_t code)
{
	if (gt->ctrl)
		return kg_ctrl_server_end_session(gt->ctrl, id, code);
	if (gt->g->privsep)
		return green_ctrl_monitor_end(gt->g, id, code);
	return -ENOENT;
}

int gate_ctrl_service_done(struct green_gate *gt, uint64_t id,
			   const char *service, const struct kg_ctrl_grant *g,
			   uint16_t code)
{
	if (gt->ctrl)
		return kg_ctrl_server_service_done(gt->ctrl, id, service, g, code);
	if (gt->g->privsep)
		return green_ctrl_monitor_service_done(gt->g, id, service, g, code);
	return -ENOENT;
}

int gate_ctrl_push_moved(struct green_gate *gt, uint64_t id,
			 const char *service, const struct kg_ctrl_grant *g)
{
	if (gt->ctrl)
		return kg_ctrl_server_push_moved(gt->ctrl, id, service, g);
	if (gt->g->privsep)
		return green_ctrl_monitor_moved(gt->g, id, service, g);
	return -ENOENT;
}
