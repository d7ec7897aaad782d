/* SPDX-License-Identifier: MIT */
#include "ctrl_client.h"
#include "time.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "crypto.h"

void kg_ctrl_client_init(struct kg_ctrl_client *c, int fd, int io_timeout_ms,
			 const uint8_t client_wg_pub[32],
			 const uint8_t green_wg_pub[32],
			 const struct kg_addr *tunnel, kg_ctrl_signer_fn sign,
			 void *sign_ctx)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->io_timeout_ms = io_timeout_ms;
	c->sign = sign;
	c->sign_ctx = sign_ctx;
	memcpy(c->b.client_wg_pub, client_wg_pub, 32);
	memcpy(c->b.green_wg_pub, green_wg_pub, 32);
	c->b.tunnel = *tunnel;
}

static int send_msg(struct kg_ctrl_client *c, const struct kg_ctrl_msg *m)
{
	uint8_t buf[KG_CTRL_MAX_FRAME];
	size_t len, off = 0;
	int rc = kg_ctrl_build(m, buf, sizeof(buf), &len);

	while (rc == 0 && off < len) {
		ssize_t w = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EPIPE;
		off += (size_t)w;
	}
	return rc;
}

/* Reads exactly n bytes before deadline (ms, monotonic). */
static int read_full(struct kg_ctrl_client *c, uint8_t *p, size_t n,
		     int64_t deadline)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - kg_mono_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (!pfd.revents)
			continue;
		r = recv(c->fd, p + got, n - got, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/* One message from green; views in *m point into c->in. */
static int read_msg(struct kg_ctrl_client *c, struct kg_ctrl_msg *m,
		    int64_t deadline, struct kg_err *e)
{
	const char *why;
	size_t body;
	int rc;

	if ((rc = read_full(c, c->in, KG_CTRL_HDR_LEN, deadline)))
		goto io;
	if (kg_ctrl_frame_len(c->in, KG_CTRL_HDR_LEN, KG_CTRL_MAX_BODY, &body)) {
		kg_err_set(e, "green sent an oversize control message");
		return -EPROTO;
	}
	if ((rc = read_full(c, c->in + KG_CTRL_HDR_LEN, body, deadline)))
		goto io;
	if (kg_ctrl_parse(c->in + KG_CTRL_HDR_LEN, body, m, &why)) {
		kg_err_set(e, "green sent a malformed control message (%s)", why);
		return -EPROTO;
	}
	return 0;
io:
	kg_err_set(e, "control connection: %s", rc == -ETIMEDOUT
		   ? "green did not answer in time" : strerror(-rc));
	return rc;
}

static int sign_and_send(struct kg_ctrl_client *c, uint8_t type,
			 const uint8_t digest[32], struct kg_ctrl_msg *m,
			 struct kg_err *e)
{
	uint8_t sig[KG_CTRL_MAX_SIG];
	size_t sig_len = 0;
	int rc = c->sign(c->sign_ctx, digest, sig, &sig_len);

	if (rc) {
		kg_err_set(e, "the card did not sign: %s", strerror(-rc));
		return rc;
	}
	if (sig_len < KG_CTRL_MIN_SIG || sig_len > KG_CTRL_MAX_SIG) {
		kg_err_set(e, "the card returned a %zu-byte signature", sig_len);
		return -EPROTO;
	}
	m->type = type;
	m->sig = (struct kg_ctrl_view){ sig, sig_len };
	return send_msg(c, m);
}

static int answer_reproof(struct kg_ctrl_client *c,
			  const struct kg_ctrl_msg *req, struct kg_err *e)
{
	struct kg_ctrl_msg m = { 0 };
	uint8_t digest[32];
	int rc;

	memcpy(c->b.challenge, req->nonce, 32);
	if ((rc = kg_transcript_reproof_digest(&c->b, c->session_id, digest)))
		return rc;
	rc = sign_and_send(c, KG_CTRL_REPROOF, digest, &m, e);
	if (rc == 0)
		c->reproofs++;
	return rc;
}

/* A MOVED push: tell the owner (the connect command re-routes). */
static void moved(struct kg_ctrl_client *c, const struct kg_ctrl_msg *m)
{
	char name[KG_CTRL_MAX_NAME + 1];

	if (!c->on_moved)
		return;
	memcpy(name, m->service.p, m->service.len);
	name[m->service.len] = 0;
	c->on_moved(c->moved_ctx, name, &m->grant);
}

/* Reads until a message of type want (or, when want2 != 0, want2) comes,
 * answering reproof requests and MOVED pushes on the way and turning
 * CLOSE/ERROR into errors. */
static int expect(struct kg_ctrl_client *c, uint8_t want, uint8_t want2,
		  struct kg_ctrl_msg *m, int64_t deadline, struct kg_err *e)
{
	for (;;) {
		int rc = read_msg(c, m, deadline, e);

		if (rc)
			return rc;
		if (m->type == want || (want2 && m->type == want2))
			return 0;
		if (m->type == KG_CTRL_REPROOF_REQ && c->session_id) {
			if ((rc = answer_reproof(c, m, e)))
				return rc;
			continue;
		}
		if (m->type == KG_CTRL_MOVED && c->session_id) {
			moved(c, m);
			continue;
		}
		if (m->type == KG_CTRL_CLOSE || m->type == KG_CTRL_ERROR) {
			c->code = m->code;
			kg_err_set(e, "green %s: %s", m->type == KG_CTRL_CLOSE
				   ? "closed the session" : "refused",
				   kg_ctrl_code_name(m->code));
			return m->type == KG_CTRL_CLOSE ? -ECONNRESET : -EACCES;
		}
		kg_err_set(e, "green sent an unexpected %s message",
			   kg_ctrl_type_name(m->type));
		return -EPROTO;
	}
}

static void copy_info(const struct kg_ctrl_msg *m,
		      struct kg_ctrl_session_info *info)
{
	memset(info, 0, sizeof(*info));
	info->id = m->session_id;
	info->idle_timeout = m->idle_timeout;
	info->expires = m->expires;
	info->reproof_interval = m->reproof_interval;
	for (size_t i = 0; i < m->n_services; i++) {
		memcpy(info->services[i], m->services[i].p, m->services[i].len);
		info->services[i][m->services[i].len] = 0;
	}
	info->n_services = m->n_services;
}

int kg_ctrl_client_auth(struct kg_ctrl_client *c, const uint8_t *cert,
			size_t cert_len, struct kg_ctrl_session_info *info,
			struct kg_err *e)
{
	int64_t deadline = kg_mono_ms() + c->io_timeout_ms;
	struct kg_ctrl_msg m = { .type = KG_CTRL_HELLO };
	uint8_t digest[32];
	int rc;

	m.cert = (struct kg_ctrl_view){ cert, cert_len };
	if ((rc = send_msg(c, &m))) {
		kg_err_set(e, "cannot send the certificate: %s", strerror(-rc));
		return rc;
	}
	if ((rc = expect(c, KG_CTRL_CHALLENGE, 0, &m, deadline, e)))
		return rc;
	memcpy(c->b.challenge, m.nonce, 32);
	if ((rc = kg_transcript_card_proof_digest(&c->b, digest)))
		return rc;
	memset(&m, 0, sizeof(m));
	/* The card may take a while (PIN, signing): a fresh wait after it. */
	if ((rc = sign_and_send(c, KG_CTRL_PROOF, digest, &m, e)))
		return rc;
	deadline = kg_mono_ms() + c->io_timeout_ms;
	if ((rc = expect(c, KG_CTRL_SESSION, 0, &m, deadline, e)))
		return rc;
	c->session_id = m.session_id;
	memcpy(c->nonce, m.nonce, 32);
	copy_info(&m, info);
	return 0;
}

int kg_ctrl_client_request(struct kg_ctrl_client *c, const char *service,
			   struct kg_ctrl_grant *g, struct kg_err *e)
{
	struct kg_ctrl_msg m = { 0 };
	uint8_t digest[32];
	int64_t deadline;
	int rc;

	if (!c->session_id)
		return -ENOTCONN;
	if (kg_transcript_service_digest(c->session_id, c->nonce, service,
					 digest)) {
		kg_err_set(e, "bad service name '%.40s'", service);
		return -EINVAL;
	}
	memcpy(m.nonce, c->nonce, 32);
	m.service = (struct kg_ctrl_view){ (const uint8_t *)service,
					   strlen(service) };
	if ((rc = sign_and_send(c, KG_CTRL_SERVICE_REQ, digest, &m, e)))
		return rc;
	deadline = kg_mono_ms() + c->io_timeout_ms;
	if ((rc = expect(c, KG_CTRL_GRANT, KG_CTRL_REFUSED, &m, deadline, e)))
		return rc;
	memcpy(c->nonce, m.nonce, 32);
	if (m.type == KG_CTRL_REFUSED) {
		c->code = m.code;
		kg_err_set(e, "green refused service '%.40s': %s", service,
			   kg_ctrl_code_name(m.code));
		return -EACCES;
	}
	*g = m.grant;
	return 0;
}

int kg_ctrl_client_wait(struct kg_ctrl_client *c, int timeout_ms,
			struct kg_err *e)
{
	int64_t deadline = kg_mono_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		int64_t left = deadline - kg_mono_ms();
		struct kg_ctrl_msg m;
		int rc;

		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (!pfd.revents)
			continue;
		/* A message has started: it gets a whole io_timeout. */
		rc = read_msg(c, &m, kg_mono_ms() + c->io_timeout_ms, e);
		if (rc)
			return rc;
		if (m.type == KG_CTRL_REPROOF_REQ) {
			if ((rc = answer_reproof(c, &m, e)))
				return rc;
		} else if (m.type == KG_CTRL_CLOSE || m.type == KG_CTRL_ERROR) {
			c->code = m.code;
			kg_err_set(e, "green closed the session: %s",
				   kg_ctrl_code_name(m.code));
			return -ECONNRESET;
		} else if (m.type == KG_CTRL_MOVED) {
			moved(c, &m);
		} else if (m.type != KG_CTRL_GRANT) {
			kg_err_set(e, "green sent an unexpected %s message",
				   kg_ctrl_type_name(m.type));
			return -EPROTO;
		}
	}
}

int kg_ctrl_client_close(struct kg_ctrl_client *c)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_CLOSE, .code = KG_CODE_CLOSE };

	return send_msg(c, &m);
}
