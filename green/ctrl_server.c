/* SPDX-License-Identifier: MIT */
#include "ctrl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "time.h"
#include "timer_heap.h"
#include "transcript.h"

enum conn_state { C_HELLO, C_PROOF, C_LIVE, C_CLOSING };

struct conn {
	int fd;
	size_t i;                /* its place in s->c */
	struct conn *id_next;    /* the session-id bucket's chain */
	enum conn_state st;
	struct kg_addr tunnel;
	char src[KG_ADDR_STRLEN];
	char sid[24];
	struct kg_ctrl_peer peer;
	void *cert;
	uint8_t challenge[KG_CTRL_NONCE_LEN];   /* proof or reproof */
	uint8_t nonce[KG_CTRL_NONCE_LEN];       /* next service request */
	bool reproof_out;
	bool svc_pending;        /* a service request waits for red */
	char svc_name[KG_CTRL_MAX_NAME + 1];
	int64_t deadline;        /* state wait (hello, proof, reproof, flush) */
	int64_t frame_deadline;  /* rest of a started frame; 0 = none */
	int64_t reproof_at;
	uint64_t req_ns;         /* proof or service request read: us= */
	size_t in_len, out_off, out_len;
	uint8_t in[KG_CTRL_MAX_FRAME];
	uint8_t out[KG_CTRL_SERVER_OUT_MAX];
};

struct kg_ctrl_server {
	struct kg_ctrl_server_conf conf;
	struct kg_ctrl_ops ops;
	int64_t (*now_ms)(void *ctx);
	void *clock_ctx;
	struct conn **c;
	size_t n;
	/* A connection by its fd and by its session id in O(1), so that an
	 * event or an answer from red costs the same whatever the number of
	 * open connections: fd -> connection (grown to the largest fd), and
	 * session id -> chain of buckets (only connections not closing hold
	 * an id, one each: kg_ctrl_server_add refuses a second). */
	struct conn **by_fd;
	size_t n_by_fd;
	struct conn **by_id;
	size_t id_mask;
	/* Each connection's next wake (its earliest deadline, or the next
	 * tick while output waits), keyed by its place in c: a tick visits
	 * only the connections due, not every one open. */
	struct kg_theap wake;
	struct conn **due;       /* a tick's connections (max_clients) */
};

/* Every control-channel timeout (io, frame, reproof) is a duration. */
static int64_t mono_ms(void *ctx)
{
	(void)ctx;
	return kg_mono_ms();
}

static int64_t now(const struct kg_ctrl_server *s)
{
	return s->now_ms(s->clock_ctx);
}

int kg_ctrl_server_new(struct kg_ctrl_server **out,
		       const struct kg_ctrl_server_conf *conf,
		       const struct kg_ctrl_ops *ops,
		       int64_t (*now_ms)(void *ctx), void *clock_ctx)
{
	struct kg_ctrl_server *s;

	*out = NULL;
	if (!conf->io_timeout_ms || !conf->max_clients || !ops->lookup)
		return -EINVAL;
	if (ops->remote ? !ops->remote->hello || !ops->remote->proof ||
	    !ops->remote->service || !ops->remote->reproof_req ||
	    !ops->remote->reproof || !ops->remote->end :
	    !ops->verify_cert || !ops->verify_sig || !ops->cert_free ||
	    !ops->session_live || !ops->session_end || !ops->open_service)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (s) {
		s->id_mask = 1;
		while (s->id_mask < conf->max_clients)
			s->id_mask <<= 1;
		s->c = calloc(conf->max_clients, sizeof(*s->c));
		s->by_id = calloc(s->id_mask, sizeof(*s->by_id));
		s->due = calloc(conf->max_clients, sizeof(*s->due));
		s->id_mask--;
	}
	if (!s || !s->c || !s->by_id || !s->due ||
	    kg_theap_init(&s->wake, conf->max_clients)) {
		if (s) {
			free(s->c);
			free(s->by_id);
			free(s->due);
		}
		free(s);
		return -ENOMEM;
	}
	s->conf = *conf;
	s->ops = *ops;
	s->now_ms = now_ms ? now_ms : mono_ms;
	s->clock_ctx = clock_ctx;
	*out = s;
	return 0;
}

/* Session ids are green's own (a random base, then counted): no secret
 * is needed against aimed collisions. */
static struct conn **id_bucket(const struct kg_ctrl_server *s, uint64_t id)
{
	return &s->by_id[(size_t)((id * 0x9e3779b97f4a7c15ULL) >> 32) & s->id_mask];
}

static void id_set(struct kg_ctrl_server *s, struct conn *c, uint64_t id)
{
	struct conn **b;

	c->peer.session_id = id;
	if (!id)
		return;
	b = id_bucket(s, id);
	c->id_next = *b;
	*b = c;
}

/* c's session id goes (closing, or the card refused): out of the index. */
static void id_unset(struct kg_ctrl_server *s, struct conn *c)
{
	struct conn **p;

	if (!c->peer.session_id)
		return;
	for (p = id_bucket(s, c->peer.session_id); *p && *p != c; p = &(*p)->id_next)
		;
	if (*p)
		*p = c->id_next;
	c->id_next = NULL;
	c->peer.session_id = 0;
}

/* The connection of session id that is not closing, or NULL. */
static struct conn *by_session(const struct kg_ctrl_server *s, uint64_t id)
{
	for (struct conn *c = id ? *id_bucket(s, id) : NULL; c; c = c->id_next)
		if (c->peer.session_id == id && c->st != C_CLOSING)
			return c;
	return NULL;
}

static void conn_drop(struct kg_ctrl_server *s, size_t i)
{
	struct conn *c = s->c[i];

	id_unset(s, c);
	if ((size_t)c->fd < s->n_by_fd)
		s->by_fd[c->fd] = NULL;
	if (c->cert)
		s->ops.cert_free(s->ops.ctx, c->cert);
	if (s->ops.watch)
		s->ops.watch(s->ops.ctx, c->fd, false);
	close(c->fd);
	kg_wipe(c, sizeof(*c));
	free(c);
	s->c[i] = s->c[--s->n];
	kg_theap_del(&s->wake, (uint32_t)i);
	if (i < s->n) {
		int64_t at;

		s->c[i]->i = i;
		if (kg_theap_at(&s->wake, (uint32_t)s->n, &at)) {
			kg_theap_del(&s->wake, (uint32_t)s->n);
			kg_theap_set(&s->wake, (uint32_t)i, at);
		}
	}
	s->c[s->n] = NULL;
}

/* When the tick must look at c next: its earliest deadline (the state
 * wait, the rest of a frame, a live session's reproof), or the next tick
 * (due now) while output waits or while it closes. */
static void resync(struct kg_ctrl_server *s, struct conn *c)
{
	int64_t t = now(s), w = INT64_MAX;
	int64_t d[3] = { c->deadline, c->frame_deadline,
			 c->st == C_LIVE && !c->reproof_out ? c->reproof_at : 0 };

	if (c->st == C_CLOSING || c->out_off < c->out_len)
		w = t;
	for (int k = 0; c->st != C_CLOSING && k < 3; k++)
		if (d[k] && d[k] < w)
			w = d[k];
	if (w == INT64_MAX) {
		kg_theap_del(&s->wake, (uint32_t)c->i);
		return;
	}
	kg_theap_set(&s->wake, (uint32_t)c->i, w);
}

void kg_ctrl_server_free(struct kg_ctrl_server *s)
{
	if (!s)
		return;
	while (s->n)
		conn_drop(s, s->n - 1);
	free(s->c);
	free(s->by_fd);
	free(s->by_id);
	kg_theap_free(&s->wake);
	free(s->due);
	free(s);
}

size_t kg_ctrl_server_count(const struct kg_ctrl_server *s)
{
	return s->n;
}

static size_t conn_index(const struct kg_ctrl_server *s, const struct conn *c)
{
	return c->i < s->n && s->c[c->i] == c ? c->i : s->n;
}

/* ---- output ---- */

static void flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, MSG_NOSIGNAL);

		if (w <= 0)
			return;   /* EAGAIN: poll for POLLOUT; errors: read sees them */
		c->out_off += (size_t)w;
	}
	c->out_off = c->out_len = 0;
}

/* Queues one message; -ENOBUFS when a client that does not read has let
 * its backlog fill (the caller drops it). */
static int send_msg(struct conn *c, const struct kg_ctrl_msg *m)
{
	size_t len;
	int rc;

	if (c->out_off) {   /* keep the backlog at the buffer's start */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	rc = kg_ctrl_build(m, c->out + c->out_len,
			   sizeof(c->out) - c->out_len, &len);
	if (rc)
		return rc == -EMSGSIZE ? -ENOBUFS : rc;
	c->out_len += len;
	flush_out(c);
	return 0;
}

/* ---- ending ---- */

static void log_ctrl(const struct conn *c, const char *result,
		     const char *reason)
{
	kg_log_event(KG_LOG_NOTICE, "ctrl", "result", result, "reason", reason,
		     "user", c->peer.user[0] ? c->peer.user : NULL, "src", c->src,
		     "session", c->sid[0] ? c->sid : NULL);
}

/* Sends a last message (ERROR or CLOSE), then flushes and closes. When
 * why is not NONE the session ends too: before live that removes the
 * pending peer, so nothing stays open. */
static void conn_finish(struct kg_ctrl_server *s, struct conn *c, uint8_t type,
			uint16_t code, enum kg_sess_end why)
{
	struct kg_ctrl_msg m = { .type = type, .code = code };
	uint64_t id = c->peer.session_id;

	/* Closing first: the hook may call kg_ctrl_server_end_session. */
	id_unset(s, c);
	c->st = C_CLOSING;
	c->deadline = now(s) + s->conf.io_timeout_ms;
	c->frame_deadline = 0;
	/* FIN now only if all is out; otherwise close() after the flush. */
	if (send_msg(c, &m) == 0 && c->out_len == 0)
		shutdown(c->fd, SHUT_WR);
	if (why != KG_END_NONE && id) {
		if (s->ops.remote)
			s->ops.remote->end(s->ops.ctx, &c->tunnel, why);
		else
			s->ops.session_end(s->ops.ctx, id, why);
	}
}

static enum kg_sess_end fail_end(const struct conn *c, enum kg_sess_end live)
{
	return c->st == C_LIVE ? live : KG_END_AUTH_FAILED;
}

/* ---- accepting ---- */

static int refuse_new(int fd, const char *src, uint16_t code,
		      const char *reason)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_ERROR, .code = code };
	uint8_t buf[64];
	size_t len;

	kg_log_event(KG_LOG_NOTICE, "ctrl", "result", "refused", "reason",
		     reason, "src", src);
	if (kg_ctrl_build(&m, buf, sizeof(buf), &len) == 0)
		(void)!send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
	return code == KG_CODE_BUSY ? -EBUSY : -EPERM;
}

static bool session_connected(const struct kg_ctrl_server *s, uint64_t id)
{
	return by_session(s, id) != NULL;
}

/* Room in by_fd for fd (doubling). */
static int fd_room(struct kg_ctrl_server *s, int fd)
{
	size_t n = s->n_by_fd ? s->n_by_fd : 64;
	struct conn **v;

	if ((size_t)fd < s->n_by_fd)
		return 0;
	while (n <= (size_t)fd)
		n *= 2;
	if (!(v = realloc(s->by_fd, n * sizeof(*v))))
		return -ENOMEM;
	memset(v + s->n_by_fd, 0, (n - s->n_by_fd) * sizeof(*v));
	s->by_fd = v;
	s->n_by_fd = n;
	return 0;
}

int kg_ctrl_server_add(struct kg_ctrl_server *s, int fd,
		       const struct kg_addr *tunnel)
{
	struct kg_ctrl_peer peer = { 0 };
	char src[KG_ADDR_STRLEN];
	struct conn *c;
	int fl = fcntl(fd, F_GETFL);

	kg_addr_str(tunnel, src);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		close(fd);
		return -errno;
	}
	if (s->n >= s->conf.max_clients)
		return refuse_new(fd, src, KG_CODE_BUSY, "max_clients");
	if (s->ops.lookup(s->ops.ctx, tunnel, &peer) || !peer.session_id)
		return refuse_new(fd, src, KG_CODE_NO_SESSION, "no_session");
	if (peer.live || session_connected(s, peer.session_id))
		return refuse_new(fd, src, KG_CODE_BUSY, "already_connected");
	if (fd < 0 || fd_room(s, fd) || !(c = calloc(1, sizeof(*c)))) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	c->st = C_HELLO;
	c->tunnel = *tunnel;
	c->peer = peer;
	c->peer.session_id = 0;
	id_set(s, c, peer.session_id);
	memcpy(c->src, src, sizeof(src));
	snprintf(c->sid, sizeof(c->sid), "%016" PRIx64, peer.session_id);
	c->deadline = now(s) + s->conf.io_timeout_ms;
	c->i = s->n;
	s->c[s->n++] = c;
	s->by_fd[fd] = c;
	resync(s, c);
	if (s->ops.watch)
		s->ops.watch(s->ops.ctx, fd, true);
	return 0;
}

void kg_ctrl_server_accept(struct kg_ctrl_server *s, int listen_fd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct kg_addr a;
		int fd = accept4(listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;   /* EAGAIN, or a transient error: poll again */
		kg_addr_from_sockaddr((struct sockaddr *)&ss, &a);
		(void)kg_ctrl_server_add(s, fd, &a);
	}
}

int kg_ctrl_listen(const struct kg_addr *addr, uint16_t port, int backlog,
		   int *fd)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int one = 1, rc;
	int f = socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (f < 0)
		return -errno;
	sl = kg_addr_to_sockaddr(addr, port, &ss);
	if (setsockopt(f, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    setsockopt(f, SOL_IP, IP_FREEBIND, &one, sizeof(one)) ||
	    bind(f, (struct sockaddr *)&ss, sl) || listen(f, backlog)) {
		rc = -errno;
		close(f);
		return rc;
	}
	*fd = f;
	return 0;
}

/* ---- messages ---- */

static void binding_of(const struct kg_ctrl_server *s, const struct conn *c,
		       struct kg_proof_binding *b)
{
	memcpy(b->challenge, c->challenge, 32);
	memcpy(b->client_wg_pub, c->peer.client_wg_pub, 32);
	memcpy(b->green_wg_pub, s->conf.green_wg_pub, 32);
	b->tunnel = c->tunnel;
}

static void auth_refused(struct kg_ctrl_server *s, struct conn *c,
			 const char *reason)
{
	kg_log_event(KG_LOG_NOTICE, "auth", "result", "rejected", "reason",
		     reason, "user", c->peer.user, "src", c->src, "session",
		     c->sid);
	conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_AUTH_FAILED, KG_END_AUTH_FAILED);
}

/* Remote mode: the monitor refused the card, logged event=auth with its
 * reason and ended the session; the client gets the same error. */
static void remote_refused(struct kg_ctrl_server *s, struct conn *c)
{
	id_unset(s, c);
	log_ctrl(c, "dropped", "auth_refused");
	conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_AUTH_FAILED, KG_END_NONE);
}

static int on_hello(struct kg_ctrl_server *s, struct conn *c,
		    const struct kg_ctrl_msg *m)
{
	const char *reason = "bad_certificate";
	struct kg_ctrl_msg ch = { .type = KG_CTRL_CHALLENGE };
	uint8_t spki[32];
	int rc;

	if (s->ops.remote) {
		rc = s->ops.remote->hello(s->ops.ctx, &c->tunnel, m->cert.p,
					  m->cert.len, c->challenge);
		if (rc == -EACCES) {
			remote_refused(s, c);
			return 0;
		}
		if (rc)
			return rc;
		goto challenge;
	}
	rc = s->ops.verify_cert(s->ops.ctx, m->cert.p, m->cert.len, &c->cert,
				spki, &reason);
	if (rc) {
		c->cert = NULL;
		auth_refused(s, c, reason ? reason : "bad_certificate");
		return 0;
	}
	/* The card must belong to the user whose knock key opened this
	 * tunnel: a knock key and a card of two users get nothing. */
	if (!kg_memeq(spki, c->peer.spki_pin, 32)) {
		auth_refused(s, c, "wrong_user");
		return 0;
	}
	if ((rc = kg_random(c->challenge, sizeof(c->challenge))))
		return rc;
challenge:
	memcpy(ch.nonce, c->challenge, sizeof(ch.nonce));
	c->st = C_PROOF;
	c->deadline = now(s) + s->conf.io_timeout_ms;
	return send_msg(c, &ch);
}

static int send_session(struct conn *c, const struct kg_ctrl_live *lv,
			const uint8_t *nonce)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_SESSION };
	int rc;

	m.session_id = c->peer.session_id;
	m.idle_timeout = lv->idle_timeout;
	m.expires = lv->expires;
	m.reproof_interval = lv->reproof_interval;
	for (size_t i = 0; i < lv->n_services && i < KG_CTRL_MAX_SERVICES; i++) {
		m.services[i].p = (const uint8_t *)lv->services[i];
		m.services[i].len = strlen(lv->services[i]);
		m.n_services++;
	}
	if (nonce)
		memcpy(c->nonce, nonce, sizeof(c->nonce));
	else if ((rc = kg_random(c->nonce, sizeof(c->nonce))))
		return rc;
	memcpy(m.nonce, c->nonce, sizeof(m.nonce));
	return send_msg(c, &m);
}

static int on_proof(struct kg_ctrl_server *s, struct conn *c,
		    const struct kg_ctrl_msg *m)
{
	struct kg_ctrl_live lv = { 0 };
	struct kg_proof_binding b;
	uint8_t digest[32], nonce[32];
	char us[24];
	int rc;

	if (s->ops.remote) {
		rc = s->ops.remote->proof(s->ops.ctx, &c->tunnel, m->sig.p,
					  m->sig.len, &lv, nonce);
		if (rc == -EACCES) {
			remote_refused(s, c);
			return 0;
		}
		if (rc)
			return rc;
		goto live;
	}
	binding_of(s, c, &b);
	if ((rc = kg_transcript_card_proof_digest(&b, digest)))
		return rc;
	/* A challenge is good for one try: a replay of an older session's
	 * signature fails because that session had another challenge. */
	kg_wipe(c->challenge, sizeof(c->challenge));
	if (s->ops.verify_sig(s->ops.ctx, c->cert, digest, m->sig.p, m->sig.len)) {
		auth_refused(s, c, "bad_signature");
		return 0;
	}
	if ((rc = s->ops.session_live(s->ops.ctx, c->peer.session_id, &lv))) {
		auth_refused(s, c, "session_gone");
		return 0;
	}
live:
	c->st = C_LIVE;
	c->peer.live = true;
	c->deadline = 0;
	if (s->conf.reproof_interval_ms)
		c->reproof_at = now(s) + s->conf.reproof_interval_ms;
	/* us=: the proof frame read to the session granted (both checks,
	 * and under -P the hop to the monitor). */
	snprintf(us, sizeof(us), "%" PRIu64, (kg_mono_ns() - c->req_ns) / 1000);
	kg_log_event(KG_LOG_NOTICE, "auth", "result", "accepted", "user",
		     c->peer.user, "src", c->src, "session", c->sid, "us", us);
	return send_session(c, &lv, s->ops.remote ? nonce : NULL);
}

/* Logs the decision and answers; code KG_CODE_NONE = granted (g). */
static int answer_service(struct conn *c, const char *name,
			  const struct kg_ctrl_grant *g, uint16_t code,
			  const uint8_t *nonce)
{
	struct kg_ctrl_msg m = { .type = code ? KG_CTRL_REFUSED : KG_CTRL_GRANT };
	char port[8], us[24];
	int rc;

	snprintf(port, sizeof(port), "%u", g ? g->port : 0);
	/* us=: the request read to its answer (red's round trip included) */
	snprintf(us, sizeof(us), "%" PRIu64, (kg_mono_ns() - c->req_ns) / 1000);
	kg_log_event(KG_LOG_NOTICE, "service", "result",
		     code ? "refused" : "granted", "reason",
		     code ? kg_ctrl_code_name(code) : NULL, "service", name,
		     "user", c->peer.user, "src", c->src, "session", c->sid,
		     "port", code ? NULL : port, "us", us);
	m.service = (struct kg_ctrl_view){ (const uint8_t *)name, strlen(name) };
	m.code = code;
	if (g && !code)
		m.grant = *g;
	/* Every answer carries the nonce for the next request: each
	 * signature is good for one request only. */
	if (nonce)
		memcpy(c->nonce, nonce, sizeof(c->nonce));
	else if ((rc = kg_random(c->nonce, sizeof(c->nonce))))
		return rc;
	memcpy(m.nonce, c->nonce, sizeof(m.nonce));
	return send_msg(c, &m);
}

static uint16_t check_service_req(struct kg_ctrl_server *s, struct conn *c,
				  const struct kg_ctrl_msg *m, const char *name)
{
	uint8_t digest[32];

	if (!kg_memeq(m->nonce, c->nonce, sizeof(c->nonce)))
		return KG_CODE_STALE_NONCE;
	if (kg_transcript_service_digest(c->peer.session_id, c->nonce, name,
					 digest))
		return KG_CODE_PROTOCOL;
	if (s->ops.verify_sig(s->ops.ctx, c->cert, digest, m->sig.p, m->sig.len))
		return KG_CODE_BAD_SIGNATURE;
	return KG_CODE_NONE;
}

static int on_service(struct kg_ctrl_server *s, struct conn *c,
		      const struct kg_ctrl_msg *m)
{
	struct kg_ctrl_grant g = { 0 };
	char name[KG_CTRL_MAX_NAME + 1];
	uint16_t code;
	int rc;

	memcpy(name, m->service.p, m->service.len);
	name[m->service.len] = 0;
	if (s->ops.remote) {
		uint8_t next[32];

		code = KG_CODE_NONE;
		rc = s->ops.remote->service(s->ops.ctx, &c->tunnel, m->nonce,
					    name, m->sig.p, m->sig.len, &g,
					    &code, next);
		if (rc == -EINPROGRESS) {
			c->svc_pending = true;
			memcpy(c->svc_name, name, sizeof(name));
			return 0;
		}
		if (rc)
			return rc;
		return answer_service(c, name, &g, code, next);
	}
	code = check_service_req(s, c, m, name);
	if (code == KG_CODE_NONE) {
		if (s->ops.activity)
			s->ops.activity(s->ops.ctx, c->peer.session_id);
		rc = s->ops.open_service(s->ops.ctx, c->peer.session_id,
					 c->peer.user, name, &g, &code);
		if (rc == -EINPROGRESS) {
			/* red answers later: kg_ctrl_server_service_done */
			c->svc_pending = true;
			memcpy(c->svc_name, name, sizeof(name));
			return 0;
		}
		if (rc)
			code = code ? code : KG_CODE_UNAVAILABLE;
	}
	return answer_service(c, name, &g, code, NULL);
}

static int on_reproof(struct kg_ctrl_server *s, struct conn *c,
		      const struct kg_ctrl_msg *m)
{
	struct kg_proof_binding b;
	uint8_t digest[32];
	int rc;

	if (!c->reproof_out)
		return -EPROTO;
	binding_of(s, c, &b);
	kg_wipe(c->challenge, sizeof(c->challenge));
	c->reproof_out = false;
	c->deadline = 0;
	if (s->ops.remote) {
		rc = s->ops.remote->reproof(s->ops.ctx, &c->tunnel, m->sig.p,
					    m->sig.len);
		if (rc && rc != -EACCES)
			return rc;
	} else {
		if ((rc = kg_transcript_reproof_digest(&b, c->peer.session_id,
						       digest)))
			return rc;
		rc = s->ops.verify_sig(s->ops.ctx, c->cert, digest, m->sig.p,
				       m->sig.len);
	}
	if (rc) {
		kg_log_event(KG_LOG_NOTICE, "reproof", "result", "rejected",
			     "reason", "bad_signature", "user", c->peer.user,
			     "src", c->src, "session", c->sid);
		conn_finish(s, c, KG_CTRL_CLOSE, KG_CODE_REPROOF_MISSED,
			    KG_END_REPROOF_MISSED);
		return 0;
	}
	kg_log_event(KG_LOG_INFO, "reproof", "result", "accepted", "user",
		     c->peer.user, "src", c->src, "session", c->sid);
	if (!s->ops.remote && s->ops.reproved)
		s->ops.reproved(s->ops.ctx, c->peer.session_id);
	c->reproof_at = now(s) + s->conf.reproof_interval_ms;
	return 0;
}

/* Which message each state accepts: anything else is a protocol error. */
static int dispatch(struct kg_ctrl_server *s, struct conn *c,
		    const struct kg_ctrl_msg *m)
{
	c->req_ns = kg_mono_ns();
	if (c->st == C_HELLO && m->type == KG_CTRL_HELLO)
		return on_hello(s, c, m);
	if (c->st == C_PROOF && m->type == KG_CTRL_PROOF)
		return on_proof(s, c, m);
	if (c->st != C_LIVE)
		return -EPROTO;
	switch (m->type) {
	case KG_CTRL_SERVICE_REQ:
		return on_service(s, c, m);
	case KG_CTRL_REPROOF:
		return on_reproof(s, c, m);
	case KG_CTRL_CLOSE:
		log_ctrl(c, "closed", "client_close");
		conn_finish(s, c, KG_CTRL_CLOSE, KG_CODE_CLOSE, KG_END_CLOSE);
		return 0;
	default:
		return -EPROTO;
	}
}

/* ---- input ---- */

static void protocol_error(struct kg_ctrl_server *s, struct conn *c,
			   const char *reason)
{
	log_ctrl(c, "dropped", reason);
	conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_PROTOCOL,
		    fail_end(c, KG_END_CLOSE));
}

/* Handles every complete frame in the input buffer. */
static void consume(struct kg_ctrl_server *s, struct conn *c)
{
	/* While red is asked, later requests wait in the buffer. */
	while (c->st != C_CLOSING && !c->svc_pending) {
		struct kg_ctrl_msg m;
		const char *why = NULL;
		size_t body, total;
		int rc = kg_ctrl_frame_len(c->in, c->in_len, KG_CTRL_MAX_BODY,
					   &body);

		if (rc == -EMSGSIZE) {
			protocol_error(s, c, "oversize");
			return;
		}
		total = KG_CTRL_HDR_LEN + body;
		if (rc || c->in_len < total)
			break;
		if (kg_ctrl_parse(c->in + KG_CTRL_HDR_LEN, body, &m, &why)) {
			protocol_error(s, c, why);
			return;
		}
		rc = dispatch(s, c, &m);
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
		if (rc == -EPROTO) {
			protocol_error(s, c, "unexpected_message");
			return;
		}
		if (rc) {
			log_ctrl(c, "dropped", rc == -ENOBUFS ? "output_full"
							       : "internal");
			conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_INTERNAL,
				    fail_end(c, KG_END_CLOSE));
			return;
		}
	}
	/* A started frame must be finished within io_timeout (slowloris). */
	if (c->in_len == 0)
		c->frame_deadline = 0;
	else if (!c->frame_deadline)
		c->frame_deadline = now(s) + s->conf.io_timeout_ms;
}

/* One read per event, so a flooding client cannot starve the others. */
static void on_readable(struct kg_ctrl_server *s, struct conn *c)
{
	ssize_t r;

	if (c->st == C_CLOSING) {
		uint8_t sink[512];

		r = recv(c->fd, sink, sizeof(sink), 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			c->deadline = now(s);   /* peer done: close now */
		return;
	}
	if (c->in_len == sizeof(c->in))
		return;   /* full of requests queued behind a pending one */
	r = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		log_ctrl(c, "closed", r == 0 ? "eof" : "io_error");
		conn_finish(s, c, KG_CTRL_CLOSE, KG_CODE_CLOSE,
			    fail_end(c, KG_END_CLOSE));
		c->deadline = now(s);
		return;
	}
	c->in_len += (size_t)r;
	consume(s, c);
}

static struct conn *by_fd(const struct kg_ctrl_server *s, int fd)
{
	return fd >= 0 && (size_t)fd < s->n_by_fd ? s->by_fd[fd] : NULL;
}

void kg_ctrl_server_handle(struct kg_ctrl_server *s, int fd, short revents)
{
	struct conn *c = by_fd(s, fd);

	if (!c)
		return;
	if (revents & POLLOUT)
		flush_out(c);
	if (revents & (POLLIN | POLLHUP | POLLERR))
		on_readable(s, c);
	if (c->st == C_CLOSING && c->out_off == c->out_len &&
	    c->deadline <= now(s))
		conn_drop(s, conn_index(s, c));
	else
		resync(s, c);
}

size_t kg_ctrl_server_pollfds(const struct kg_ctrl_server *s,
			      struct pollfd *p, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < s->n && k < cap; i++, k++) {
		const struct conn *c = s->c[i];

		p[k].fd = c->fd;
		/* no reading while a request waits for red */
		p[k].events = c->svc_pending ? 0 : POLLIN;
		if (c->out_off < c->out_len)
			p[k].events |= POLLOUT;
		p[k].revents = 0;
	}
	return k;
}

static void send_reproof_req(struct kg_ctrl_server *s, struct conn *c)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_REPROOF_REQ };
	int rc = s->ops.remote ?
		 s->ops.remote->reproof_req(s->ops.ctx, &c->tunnel, c->challenge) :
		 kg_random(c->challenge, sizeof(c->challenge));

	memcpy(m.nonce, c->challenge, sizeof(m.nonce));
	if (rc || send_msg(c, &m)) {
		log_ctrl(c, "dropped", "output_full");
		conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_INTERNAL, KG_END_CLOSE);
		return;
	}
	c->reproof_out = true;
	c->deadline = now(s) + s->conf.io_timeout_ms;
}

/* Returns true if c was dropped. */
static bool tick_one(struct kg_ctrl_server *s, struct conn *c, int64_t t)
{
	flush_out(c);
	if (c->st == C_CLOSING) {
		if (c->out_off < c->out_len && c->deadline > t)
			return false;
		conn_drop(s, conn_index(s, c));
		return true;
	}
	if ((c->deadline && t >= c->deadline) ||
	    (c->frame_deadline && t >= c->frame_deadline)) {
		bool reproof = c->st == C_LIVE && c->reproof_out;
		enum kg_sess_end why = reproof ? KG_END_REPROOF_MISSED
				       : c->st == C_LIVE ? KG_END_CLOSE
				       : KG_END_AUTH_TIMEOUT;

		log_ctrl(c, "dropped", reproof ? "reproof_timeout" : "timeout");
		conn_finish(s, c, KG_CTRL_CLOSE,
			    reproof ? KG_CODE_REPROOF_MISSED : KG_CODE_TIMEOUT,
			    why);
		return false;
	}
	if (c->st == C_LIVE && !c->reproof_out && c->reproof_at &&
	    t >= c->reproof_at)
		send_reproof_req(s, c);
	return false;
}

void kg_ctrl_server_tick(struct kg_ctrl_server *s)
{
	int64_t t = now(s), at;
	size_t n = 0;
	uint32_t i;

	/* The due ones first, off the heap, so that one due again at once
	 * (output still waiting) waits for the next tick. A connection is
	 * dropped only by its own tick_one: the others stay valid. */
	while (kg_theap_top(&s->wake, &i, &at) && at <= t) {
		kg_theap_del(&s->wake, i);
		s->due[n++] = s->c[i];
	}
	for (size_t k = 0; k < n; k++)
		if (!tick_one(s, s->due[k], t))
			resync(s, s->due[k]);
}

int kg_ctrl_server_next_timeout_ms(const struct kg_ctrl_server *s)
{
	int64_t t = now(s), best = -1;

	for (size_t i = 0; i < s->n; i++) {
		const struct conn *c = s->c[i];
		int64_t d[3] = { c->deadline, c->frame_deadline,
				 c->st == C_LIVE && !c->reproof_out
				 ? c->reproof_at : 0 };

		for (int k = 0; k < 3; k++) {
			int64_t left;

			if (!d[k])
				continue;
			left = d[k] > t ? d[k] - t : 0;
			if (best < 0 || left < best)
				best = left;
		}
	}
	return best > INT32_MAX ? INT32_MAX : (int)best;
}

int kg_ctrl_server_run_once(struct kg_ctrl_server *s, int listen_fd,
			    int timeout_ms)
{
	struct pollfd *p = calloc(s->conf.max_clients + 1, sizeof(*p));
	int next = kg_ctrl_server_next_timeout_ms(s), rc = 0;
	size_t n = 0;

	if (!p)
		return -ENOMEM;
	if (listen_fd >= 0)
		p[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
	n += kg_ctrl_server_pollfds(s, p + n, s->conf.max_clients);
	if (next >= 0 && (timeout_ms < 0 || next < timeout_ms))
		timeout_ms = next;
	if (poll(p, n, timeout_ms) < 0 && errno != EINTR)
		rc = -errno;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].fd == listen_fd)
			kg_ctrl_server_accept(s, listen_fd);
		else
			kg_ctrl_server_handle(s, p[i].fd, p[i].revents);
	}
	kg_ctrl_server_tick(s);
	free(p);
	return rc;
}

int kg_ctrl_server_end_session(struct kg_ctrl_server *s, uint64_t id,
			       uint16_t code)
{
	struct conn *c = by_session(s, id);

	if (!c)
		return -ENOENT;
	log_ctrl(c, "closed", kg_ctrl_code_name(code));
	conn_finish(s, c, KG_CTRL_CLOSE, code, KG_END_NONE);
	resync(s, c);
	return 0;
}

int kg_ctrl_server_service_done(struct kg_ctrl_server *s, uint64_t id,
				const char *service,
				const struct kg_ctrl_grant *g, uint16_t code)
{
	return kg_ctrl_server_service_done_nonce(s, id, service, g, code, NULL);
}

int kg_ctrl_server_service_done_nonce(struct kg_ctrl_server *s, uint64_t id,
				      const char *service,
				      const struct kg_ctrl_grant *g,
				      uint16_t code, const uint8_t *nonce)
{
	struct conn *c = by_session(s, id);
	int rc;

	if (!c || c->st != C_LIVE || !c->svc_pending || strcmp(c->svc_name, service))
		return -ENOENT;
	c->svc_pending = false;
	if (!g && !code)
		code = KG_CODE_UNAVAILABLE;
	rc = answer_service(c, service, g, code, nonce);
	if (rc) {
		log_ctrl(c, "dropped", "output_full");
		conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_INTERNAL,
			    KG_END_CLOSE);
	} else {
		consume(s, c);
	}
	resync(s, c);
	return 0;
}

int kg_ctrl_server_push_moved(struct kg_ctrl_server *s, uint64_t id,
			      const char *service,
			      const struct kg_ctrl_grant *g)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_MOVED, .grant = *g };

	m.service.p = (const uint8_t *)service;
	m.service.len = strlen(service);
	struct conn *c = by_session(s, id);

	if (!c || c->st != C_LIVE)
		return -ENOENT;
	if (send_msg(c, &m)) {
		log_ctrl(c, "dropped", "output_full");
		conn_finish(s, c, KG_CTRL_ERROR, KG_CODE_INTERNAL,
			    KG_END_CLOSE);
	}
	resync(s, c);
	return 0;
}
