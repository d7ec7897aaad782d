/* SPDX-License-Identifier: MIT */
/*
 * The worker's control port (ctrl_worker.h): the control server in remote
 * mode, each of its checks a request to the monitor. What the monitor
 * answers is taken as it is (it decided); what the client sends is parsed
 * here by lib/ctrl and forwarded as certificate, signature, nonce and
 * name only: nothing here names a session, a key or a user.
 */
#include "green.h"
#include "gate.h"
#include "ctrl_server.h"
#include "ctrl_worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"

#define CTRL_TICK_MS 100

struct green_ctrl_worker {
	struct kg_ctrl_server *srv;
	int listen_fd, epfd;
	struct kg_evloop *loop;
	green_ask_fn ask;
	void *ask_ctx;
	/* The SESSION message's service names, valid until it is sent. */
	char svc[KG_PRIV_MAX_SERVICES][KG_CTRL_MAX_NAME + 1];
	const char *svc_p[KG_PRIV_MAX_SERVICES];
};

static int ask(struct green_ctrl_worker *cw, struct kg_priv_req *q,
	       struct kg_priv_ans *a, uint8_t *buf)
{
	return cw->ask(cw->ask_ctx, q, a, buf);
}

static void view_str(const struct kg_priv_view *v, char *out, size_t cap)
{
	size_t n = v->len < cap - 1 ? v->len : cap - 1;

	if (n)
		memcpy(out, v->p, n);
	out[n] = 0;
}

static int op_lookup(void *ctx, const struct kg_addr *tunnel,
		     struct kg_ctrl_peer *out)
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_OPEN, .addr = *tunnel };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc = ask(ctx, &q, &a, buf);

	memset(out, 0, sizeof(*out));
	if (rc == EBUSY) {   /* live already: the server says busy */
		out->session_id = 1;
		out->live = true;
		return 0;
	}
	if (rc)
		return -ENOENT;
	out->session_id = a.session_id;
	view_str(&a.name, out->user, sizeof(out->user));
	return 0;
}

static int r_hello(void *ctx, const struct kg_addr *tunnel, const uint8_t *der,
		   size_t len, uint8_t challenge[32])
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_HELLO, .addr = *tunnel,
				 .data = der, .data_len = len };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc = ask(ctx, &q, &a, buf);

	if (rc < 0)
		return rc;
	if (rc)
		return -EACCES;
	memcpy(challenge, a.nonce, 32);
	return 0;
}

static int r_proof(void *ctx, const struct kg_addr *tunnel, const uint8_t *sig,
		   size_t len, struct kg_ctrl_live *out, uint8_t nonce[32])
{
	struct green_ctrl_worker *cw = ctx;
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_PROOF, .addr = *tunnel,
				 .data = sig, .data_len = len };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc = ask(cw, &q, &a, buf);

	if (rc < 0)
		return rc;
	if (rc)
		return -EACCES;
	out->idle_timeout = a.idle_timeout;
	out->expires = a.expires;
	out->reproof_interval = a.reproof_interval;
	out->n_services = 0;
	for (size_t i = 0; i < a.n_services; i++) {
		view_str(&a.services[i], cw->svc[i], sizeof(cw->svc[i]));
		cw->svc_p[i] = cw->svc[i];
		out->services[out->n_services++] = cw->svc_p[i];
	}
	memcpy(nonce, a.nonce, 32);
	return 0;
}

static void grant_of(const struct kg_priv_grant *p, struct kg_ctrl_grant *g)
{
	g->addr = p->addr;
	g->port = p->port;
	g->lease = p->lease;
}

static int r_service(void *ctx, const struct kg_addr *tunnel,
		     const uint8_t nonce[32], const char *name,
		     const uint8_t *sig, size_t len, struct kg_ctrl_grant *g,
		     uint16_t *code, uint8_t next[32])
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_SERVICE,
				 .addr = *tunnel, .data = sig, .data_len = len,
				 .name = (const uint8_t *)name,
				 .name_len = strlen(name) };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc;

	memcpy(q.nonce, nonce, 32);
	rc = ask(ctx, &q, &a, buf);
	if (rc < 0)
		return rc;
	if (rc == EINPROGRESS)
		return -EINPROGRESS;
	if (rc)
		return -EIO;
	*code = a.code;
	if (!a.code)
		grant_of(&a.grant, g);
	memcpy(next, a.nonce, 32);
	return 0;
}

static int r_reproof_req(void *ctx, const struct kg_addr *tunnel,
			 uint8_t challenge[32])
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_REPROOF_REQ,
				 .addr = *tunnel };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc = ask(ctx, &q, &a, buf);

	if (rc)
		return rc < 0 ? rc : -EIO;
	memcpy(challenge, a.nonce, 32);
	return 0;
}

static int r_reproof(void *ctx, const struct kg_addr *tunnel,
		     const uint8_t *sig, size_t len)
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_REPROOF,
				 .addr = *tunnel, .data = sig, .data_len = len };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;
	int rc = ask(ctx, &q, &a, buf);

	return rc < 0 ? rc : rc ? -EACCES : 0;
}

static void r_end(void *ctx, const struct kg_addr *tunnel,
		  enum kg_sess_end why)
{
	struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_END, .addr = *tunnel,
				 .why = (uint8_t)why };
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_ans a;

	(void)ask(ctx, &q, &a, buf);
}

static void op_watch(void *ctx, int fd, bool on)
{
	struct green_ctrl_worker *cw = ctx;
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (on) {
		if (epoll_ctl(cw->epfd, EPOLL_CTL_ADD, fd, &ev))
			kg_log(KG_LOG_ERR, "control: epoll: %s", strerror(errno));
	} else {
		epoll_ctl(cw->epfd, EPOLL_CTL_DEL, fd, NULL);
	}
}

static void on_conn(void *ctx, int fd, uint32_t events)
{
	struct green_ctrl_worker *cw = ctx;
	struct epoll_event ev[64];
	int n;

	(void)fd;
	(void)events;
	n = epoll_wait(cw->epfd, ev, 64, 0);
	for (int i = 0; i < n; i++)
		kg_ctrl_server_handle(cw->srv, ev[i].data.fd, POLLIN);
}

static void on_listen(void *ctx, int fd, uint32_t events)
{
	struct green_ctrl_worker *cw = ctx;

	(void)events;
	kg_ctrl_server_accept(cw->srv, fd);
}

static void on_tick(void *ctx)
{
	struct green_ctrl_worker *cw = ctx;

	kg_ctrl_server_tick(cw->srv);
}

static const struct kg_ctrl_remote remote = {
	.hello = r_hello, .proof = r_proof, .service = r_service,
	.reproof_req = r_reproof_req, .reproof = r_reproof, .end = r_end,
};

int green_ctrl_worker_start(struct green_ctrl_worker **out,
			    const struct green *g, int listen_fd,
			    struct kg_evloop *loop, green_ask_fn askf,
			    void *ask_ctx, struct kg_err *e)
{
	const struct green_gate_conf *gc = g->conf.gate;
	struct green_ctrl_worker *cw = calloc(1, sizeof(*cw));
	struct kg_ctrl_ops ops = { .lookup = op_lookup, .watch = op_watch,
				   .remote = &remote };
	struct kg_ctrl_server_conf sc = { 0 };
	int rc;

	*out = NULL;
	if (!cw) {
		close(listen_fd);
		kg_err_set(e, "control: out of memory");
		return -ENOMEM;
	}
	cw->listen_fd = listen_fd;
	cw->loop = loop;
	cw->ask = askf;
	cw->ask_ctx = ask_ctx;
	ops.ctx = cw;
	sc.io_timeout_ms = gc->sess.io_timeout * 1000;
	sc.reproof_interval_ms = gc->sess.lim.reproof_interval * 1000;
	sc.max_clients = gc->sess.max_clients;
	cw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (cw->epfd < 0) {
		rc = -errno;
		kg_err_set(e, "control: epoll: %s", strerror(-rc));
	} else if ((rc = kg_ctrl_server_new(&cw->srv, &sc, &ops, NULL, NULL))) {
		kg_err_set(e, "control server: %s", strerror(-rc));
	} else if ((rc = kg_evloop_add_fd(loop, listen_fd, on_listen, cw)) ||
		   (rc = kg_evloop_add_fd(loop, cw->epfd, on_conn, cw)) ||
		   (rc = kg_evloop_add_timer(loop, CTRL_TICK_MS, on_tick, cw))) {
		kg_err_set(e, "control: event loop: %s", strerror(-rc));
	}
	if (rc) {
		green_ctrl_worker_free(cw);
		return rc;
	}
	*out = cw;
	return 0;
}

void green_ctrl_worker_async(struct green_ctrl_worker *cw,
			     const struct kg_priv_ans *a)
{
	char name[KG_CTRL_MAX_NAME + 1];
	struct kg_ctrl_grant g = { 0 };

	view_str(&a->name, name, sizeof(name));
	grant_of(&a->grant, &g);
	switch (a->async) {
	case KG_PRIV_ASYNC_SERVICE_DONE:
		(void)kg_ctrl_server_service_done_nonce(cw->srv, a->session_id,
							name, a->code ? NULL : &g,
							a->code, a->nonce);
		break;
	case KG_PRIV_ASYNC_MOVED:
		(void)kg_ctrl_server_push_moved(cw->srv, a->session_id, name, &g);
		break;
	case KG_PRIV_ASYNC_END:
		(void)kg_ctrl_server_end_session(cw->srv, a->session_id, a->code);
		break;
	default:
		break;
	}
}

void green_ctrl_worker_free(struct green_ctrl_worker *cw)
{
	if (!cw)
		return;
	kg_ctrl_server_free(cw->srv);
	if (cw->epfd >= 0)
		close(cw->epfd);
	if (cw->listen_fd >= 0)
		close(cw->listen_fd);
	free(cw);
}
