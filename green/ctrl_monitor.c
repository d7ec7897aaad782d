/* SPDX-License-Identifier: MIT */
/*
 * The monitor's half of green's control port under -P (ctrl_monitor.h,
 * docs/privsep.md). The worker is untrusted: every request names the
 * connection's peer address, and the session is the one the monitor's
 * own table has at that tunnel address (a worker that lies about the
 * address reaches only a session whose card it can sign for). Per
 * session the monitor keeps the step it is at (hello, proof, live), the
 * certificate the hello verified, the challenge and the service nonce it
 * issued; each is good for one signature. The digests are computed here
 * from the session record (challenge, the peer key from the knock,
 * green's WireGuard key, the tunnel address), so the worker forwards only
 * certificate, signatures and service names. A refused hello, proof or
 * reproof ends the session here, so a worker cannot try twice.
 */
#include "green.h"
#include "gate.h"
#include "ctrl_glue.h"
#include "ctrl_monitor.h"
#include "sessions_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "crypto.h"
#include "log.h"
#include "pki.h"
#include "transcript.h"

enum step { S_HELLO, S_PROOF, S_LIVE };

struct auth {
	uint64_t id;                 /* the session */
	enum step st;
	X509 *cert;                  /* verified at hello */
	uint8_t challenge[32];       /* proof or reproof; one use */
	bool challenge_out;
	uint8_t nonce[32];           /* the next service request's */
	bool nonce_out;
	bool svc_pending;            /* red is asked; nonce comes with done */
	char svc[KG_CTRL_MAX_NAME + 1];
};

struct green_ctrl_auth {
	struct auth *a;
	size_t n, cap;
};

static const char *const req_names[] = {
	[KG_PRIV_REQ_CTRL_OPEN] = "ctrl_open",
	[KG_PRIV_REQ_CTRL_HELLO] = "ctrl_hello",
	[KG_PRIV_REQ_CTRL_PROOF] = "ctrl_proof",
	[KG_PRIV_REQ_CTRL_SERVICE] = "ctrl_service",
	[KG_PRIV_REQ_CTRL_REPROOF_REQ] = "ctrl_reproof_req",
	[KG_PRIV_REQ_CTRL_REPROOF] = "ctrl_reproof",
	[KG_PRIV_REQ_CTRL_END] = "ctrl_end",
};

static int send_ans(struct green *g, const struct kg_priv_ans *a)
{
	uint8_t buf[KG_PRIV_FRAME_MAX];
	size_t n;
	int rc;

	if (g->worker_fd < 0)
		return -ENOTCONN;
	if ((rc = kg_priv_ans_encode(a, buf, sizeof(buf), &n)))
		return rc;
	return kg_priv_send(g->worker_fd, buf, n);
}

static void status(struct green *g, uint8_t type, uint32_t st)
{
	struct kg_priv_ans a = { .for_type = type, .status = st };

	(void)send_ans(g, &a);
}

static void refuse(struct green *g, const struct kg_priv_req *q,
		   const char *reason, const char *user, uint32_t st)
{
	char s[KG_ADDR_STRLEN];

	kg_log_event(KG_LOG_WARNING, "privsep", "result", "refused", "request",
		     req_names[q->type], "reason", reason, "addr",
		     kg_addr_str(&q->addr, s), "user", user);
	status(g, q->type, st);
}

/* A decision on a card (certificate, pin, proof): the record the single
 * process's control server writes, written here because it is the
 * monitor's decision (a compromised worker would not log it). */
static void auth_rejected(struct green *g, const struct kg_priv_req *q,
			  const struct kg_session *s, const char *reason)
{
	char src[KG_ADDR_STRLEN], sid[24];

	snprintf(sid, sizeof(sid), "%016" PRIx64, s->id);
	kg_log_event(KG_LOG_NOTICE, "auth", "result", "rejected", "reason",
		     reason, "user", s->user, "src", kg_addr_str(&q->addr, src),
		     "session", sid);
	status(g, q->type, EACCES);
}

static void auth_drop(struct green_ctrl_auth *t, size_t i)
{
	X509_free(t->a[i].cert);
	kg_wipe(&t->a[i], sizeof(t->a[i]));
	t->a[i] = t->a[--t->n];
}

/* Forgets sessions that ended meanwhile (their table entries are gone). */
static void purge(struct green *g)
{
	struct green_ctrl_auth *t = g->ctrl_auth;

	for (size_t i = 0; t && i < t->n;)
		if (!g->gate || !kg_sess_by_id(&g->gate->sess, t->a[i].id))
			auth_drop(t, i);
		else
			i++;
}

static struct auth *auth_of(struct green *g, uint64_t id)
{
	struct green_ctrl_auth *t = g->ctrl_auth;

	for (size_t i = 0; t && i < t->n; i++)
		if (t->a[i].id == id)
			return &t->a[i];
	return NULL;
}

static struct auth *auth_new(struct green *g, uint64_t id)
{
	struct green_ctrl_auth *t = g->ctrl_auth;
	struct auth *a = auth_of(g, id);

	if (a) {   /* a new connection for a pending session: from scratch */
		X509_free(a->cert);
		memset(a, 0, sizeof(*a));
		a->id = id;
		return a;
	}
	if (!t && !(t = g->ctrl_auth = calloc(1, sizeof(*t))))
		return NULL;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct auth *n = realloc(t->a, cap * sizeof(*n));

		if (!n)
			return NULL;
		t->a = n;
		t->cap = cap;
	}
	a = &t->a[t->n++];
	memset(a, 0, sizeof(*a));
	a->id = id;
	return a;
}

/* Ends session id (the peer and its openings go, as in the single
 * process when a proof fails) and forgets its state. */
static void end_session(struct green *g, uint64_t id, enum kg_sess_end why)
{
	struct green_ctrl_auth *t = g->ctrl_auth;

	for (size_t i = 0; t && i < t->n; i++)
		if (t->a[i].id == id) {
			auth_drop(t, i);
			break;
		}
	gate_session_end(g->gate, id, why, false);
}

static void binding(const struct green_gate *gt, const struct auth *a,
		    const struct kg_session *s, const struct kg_addr *tunnel,
		    struct kg_proof_binding *b)
{
	memcpy(b->challenge, a->challenge, 32);
	memcpy(b->client_wg_pub, s->peer_key, 32);
	memcpy(b->green_wg_pub, gt->wg_pub, 32);
	b->tunnel = *tunnel;
}

static void on_open(struct green *g, const struct kg_priv_req *q,
		    struct kg_session *s)
{
	struct kg_priv_ans a = { .for_type = q->type };

	/* A second connection (a copy of the profile elsewhere): the
	 * worker's server logs it as the single process does. */
	if (s->state == KG_SESS_LIVE) {
		status(g, q->type, EBUSY);
		return;
	}
	if (!kg_users_find(&g->gate->users, s->user)) {
		refuse(g, q, "no_user", s->user, ENOENT);
		return;
	}
	if (!auth_new(g, s->id)) {
		status(g, q->type, ENOMEM);
		return;
	}
	a.session_id = s->id;
	a.name = (struct kg_priv_view){ (const uint8_t *)s->user,
					strlen(s->user) };
	(void)send_ans(g, &a);
}

static void on_hello(struct green *g, const struct kg_priv_req *q,
		     struct kg_session *s, struct auth *au)
{
	struct kg_priv_ans ans = { .for_type = q->type };
	const struct kg_user *u = kg_users_find(&g->gate->users, s->user);
	const char *reason = "bad_certificate";
	void *x = NULL;
	uint8_t spki[32];

	if (au->st != S_HELLO) {
		refuse(g, q, "out_of_order", s->user, EPROTO);
		return;
	}
	if (gate_ctrl_verify_cert(g->gate, q->data, q->data_len, &x, spki,
				  &reason))
		x = NULL;
	/* The card must be the user's whose knock key opened the tunnel. */
	else if (!u || !kg_memeq(spki, u->spki_sha256, 32))
		reason = "wrong_user";
	else
		reason = NULL;
	if (reason || kg_random(au->challenge, 32)) {
		X509_free(x);
		auth_rejected(g, q, s, reason ? reason : "internal");
		end_session(g, s->id, KG_END_AUTH_FAILED);
		return;
	}
	au->cert = x;
	au->challenge_out = true;
	au->st = S_PROOF;
	memcpy(ans.nonce, au->challenge, 32);
	(void)send_ans(g, &ans);
}

static void on_proof(struct green *g, const struct kg_priv_req *q,
		     struct kg_session *s, struct auth *au)
{
	struct kg_priv_ans ans = { .for_type = q->type };
	struct kg_ctrl_live lv = { 0 };
	struct kg_proof_binding b;
	uint8_t digest[32];
	uint64_t id = s->id;

	if (au->st != S_PROOF || !au->challenge_out) {
		refuse(g, q, "out_of_order", s->user, EPROTO);
		return;
	}
	binding(g->gate, au, s, &q->addr, &b);
	/* One try per challenge: an older session's signature had another. */
	kg_wipe(au->challenge, 32);
	au->challenge_out = false;
	if (kg_transcript_card_proof_digest(&b, digest) ||
	    kg_pki_verify_sig(au->cert, digest, q->data, q->data_len) !=
	    KG_PKI_OK) {
		auth_rejected(g, q, s, "bad_signature");
		end_session(g, id, KG_END_AUTH_FAILED);
		return;
	}
	if (gate_ctrl_session_live(g->gate, id, &lv) ||
	    kg_random(au->nonce, 32)) {
		auth_rejected(g, q, s, "session_gone");
		end_session(g, id, KG_END_AUTH_FAILED);
		return;
	}
	au->st = S_LIVE;
	au->nonce_out = true;
	ans.session_id = id;
	ans.idle_timeout = lv.idle_timeout;
	ans.expires = lv.expires;
	ans.reproof_interval = lv.reproof_interval;
	memcpy(ans.nonce, au->nonce, 32);
	for (size_t i = 0; i < lv.n_services && i < KG_PRIV_MAX_SERVICES; i++)
		ans.services[ans.n_services++] = (struct kg_priv_view){
			(const uint8_t *)lv.services[i], strlen(lv.services[i]) };
	(void)send_ans(g, &ans);
}

/* A service request: the nonce issued last, the card's signature over
 * (session, nonce, name), then the policy, once, and the grant. */
static void on_service(struct green *g, const struct kg_priv_req *q,
		       struct kg_session *s, struct auth *au)
{
	struct kg_priv_ans ans = { .for_type = q->type };
	struct kg_ctrl_grant gr = { 0 };
	char name[KG_CTRL_MAX_NAME + 1];
	uint8_t digest[32];
	uint16_t code = KG_CODE_NONE;
	int rc;

	if (au->st != S_LIVE) {
		refuse(g, q, "not_proven", s->user, EACCES);
		return;
	}
	if (au->svc_pending) {
		refuse(g, q, "request_pending", s->user, EBUSY);
		return;
	}
	if (q->name_len > KG_CTRL_MAX_NAME || !kg_ctrl_name_ok(q->name, q->name_len)) {
		refuse(g, q, "bad_name", s->user, EINVAL);
		return;
	}
	memcpy(name, q->name, q->name_len);
	name[q->name_len] = 0;
	if (!au->nonce_out || !kg_memeq(q->nonce, au->nonce, 32))
		code = KG_CODE_STALE_NONCE;
	else if (kg_transcript_service_digest(s->id, au->nonce, name, digest) ||
		 kg_pki_verify_sig(au->cert, digest, q->data, q->data_len) !=
		 KG_PKI_OK)
		code = KG_CODE_BAD_SIGNATURE;
	/* The nonce is spent whatever the outcome. */
	au->nonce_out = false;
	kg_wipe(au->nonce, 32);
	if (code == KG_CODE_NONE) {
		kg_sess_touch(&g->gate->sess, s->id);
		rc = gate_ctrl_open_service(g->gate, s->id, s->user, name, &gr,
					    &code);
		if (rc == -EINPROGRESS) {
			au->svc_pending = true;
			memcpy(au->svc, name, sizeof(name));
			status(g, q->type, EINPROGRESS);
			return;
		}
		if (rc && !code)
			code = KG_CODE_UNAVAILABLE;
	}
	if (code) {
		char s2[KG_ADDR_STRLEN];

		kg_log_event(KG_LOG_NOTICE, "privsep", "result", "refused",
			     "request", "ctrl_service", "reason",
			     kg_ctrl_code_name(code), "service", name, "user",
			     s->user, "addr", kg_addr_str(&q->addr, s2));
	}
	if (kg_random(au->nonce, 32)) {
		status(g, q->type, EIO);
		return;
	}
	au->nonce_out = true;
	ans.code = code;
	ans.grant = (struct kg_priv_grant){ gr.addr, gr.port, gr.lease };
	memcpy(ans.nonce, au->nonce, 32);
	(void)send_ans(g, &ans);
}

static void on_reproof(struct green *g, const struct kg_priv_req *q,
		       struct kg_session *s, struct auth *au)
{
	struct kg_priv_ans ans = { .for_type = q->type };
	struct kg_proof_binding b;
	uint8_t digest[32];

	if (au->st != S_LIVE) {
		refuse(g, q, "not_proven", s->user, EACCES);
		return;
	}
	if (q->type == KG_PRIV_REQ_CTRL_REPROOF_REQ) {
		if (kg_random(au->challenge, 32)) {
			status(g, q->type, EIO);
			return;
		}
		au->challenge_out = true;
		memcpy(ans.nonce, au->challenge, 32);
		(void)send_ans(g, &ans);
		return;
	}
	if (!au->challenge_out) {
		refuse(g, q, "out_of_order", s->user, EPROTO);
		return;
	}
	binding(g->gate, au, s, &q->addr, &b);
	kg_wipe(au->challenge, 32);
	au->challenge_out = false;
	if (kg_transcript_reproof_digest(&b, s->id, digest) ||
	    kg_pki_verify_sig(au->cert, digest, q->data, q->data_len) !=
	    KG_PKI_OK) {
		refuse(g, q, "bad_signature", s->user, EACCES);
		end_session(g, s->id, KG_END_REPROOF_MISSED);
		return;
	}
	kg_sess_reproved(&g->gate->sess, s->id);
	status(g, q->type, 0);
}

/* The connection ended: the worker may end only a session it had a
 * connection for, and only for a reason a connection gives. */
static void on_end(struct green *g, const struct kg_priv_req *q,
		   struct kg_session *s, struct auth *au)
{
	(void)au;
	switch (q->why) {
	case KG_END_CLOSE:
	case KG_END_AUTH_TIMEOUT:
	case KG_END_AUTH_FAILED:
	case KG_END_REPROOF_MISSED:
		break;
	default:
		refuse(g, q, "bad_reason", s->user, EINVAL);
		return;
	}
	end_session(g, s->id, q->why);
	status(g, q->type, 0);
}

void green_ctrl_monitor_request(struct green *g, const struct kg_priv_req *q)
{
	struct kg_session *s;
	struct auth *au;

	if (!g->gate) {
		refuse(g, q, "no_gate", NULL, EINVAL);
		return;
	}
	purge(g);
	/* The session is the one at the connection's address, never one the
	 * worker names. */
	if (!(s = kg_sess_by_tunnel(&g->gate->sess, &q->addr))) {
		/* open: any address may connect; the worker logs it */
		if (q->type == KG_PRIV_REQ_CTRL_OPEN)
			status(g, q->type, ENOENT);
		else
			refuse(g, q, "no_session", NULL, ENOENT);
		return;
	}
	if (q->type == KG_PRIV_REQ_CTRL_OPEN) {
		on_open(g, q, s);
		return;
	}
	if (!(au = auth_of(g, s->id))) {
		refuse(g, q, "no_connection", s->user, EPROTO);
		return;
	}
	switch (q->type) {
	case KG_PRIV_REQ_CTRL_HELLO:
		on_hello(g, q, s, au);
		break;
	case KG_PRIV_REQ_CTRL_PROOF:
		on_proof(g, q, s, au);
		break;
	case KG_PRIV_REQ_CTRL_SERVICE:
		on_service(g, q, s, au);
		break;
	case KG_PRIV_REQ_CTRL_REPROOF_REQ:
	case KG_PRIV_REQ_CTRL_REPROOF:
		on_reproof(g, q, s, au);
		break;
	default:
		on_end(g, q, s, au);
		break;
	}
}

int green_ctrl_monitor_end(struct green *g, uint64_t id, uint16_t code)
{
	struct kg_priv_ans a = { .async = KG_PRIV_ASYNC_END, .session_id = id,
				 .code = code };
	struct green_ctrl_auth *t = g->ctrl_auth;

	for (size_t i = 0; t && i < t->n; i++)
		if (t->a[i].id == id) {
			auth_drop(t, i);
			return send_ans(g, &a);
		}
	return -ENOENT;
}

int green_ctrl_monitor_service_done(struct green *g, uint64_t id,
				    const char *service,
				    const struct kg_ctrl_grant *gr,
				    uint16_t code)
{
	struct kg_priv_ans a = { .async = KG_PRIV_ASYNC_SERVICE_DONE,
				 .session_id = id };
	struct auth *au = auth_of(g, id);

	if (!au || !au->svc_pending || strcmp(au->svc, service))
		return -ENOENT;
	au->svc_pending = false;
	if (kg_random(au->nonce, 32))
		return -EIO;
	au->nonce_out = true;
	a.name = (struct kg_priv_view){ (const uint8_t *)service,
					strlen(service) };
	a.code = gr || code ? code : KG_CODE_UNAVAILABLE;
	if (gr && !a.code)
		a.grant = (struct kg_priv_grant){ gr->addr, gr->port, gr->lease };
	memcpy(a.nonce, au->nonce, 32);
	return send_ans(g, &a);
}

int green_ctrl_monitor_moved(struct green *g, uint64_t id, const char *service,
			     const struct kg_ctrl_grant *gr)
{
	struct kg_priv_ans a = { .async = KG_PRIV_ASYNC_MOVED, .session_id = id,
				 .grant = { gr->addr, gr->port, gr->lease } };
	struct auth *au = auth_of(g, id);

	if (!au || au->st != S_LIVE)
		return -ENOENT;
	a.name = (struct kg_priv_view){ (const uint8_t *)service,
					strlen(service) };
	return send_ans(g, &a);
}

void green_ctrl_monitor_free(struct green *g)
{
	struct green_ctrl_auth *t = g->ctrl_auth;

	while (t && t->n)
		auth_drop(t, t->n - 1);
	if (t)
		free(t->a);
	free(t);
	g->ctrl_auth = NULL;
}
