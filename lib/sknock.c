/* SPDX-License-Identifier: MIT */
#include "sknock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "crypto.h"

static const char *const err_names[KG_SK_E_COUNT] = {
	"ok", "truncated", "bad_magic", "bad_version", "bad_type",
	"bad_action", "bad_green_id", "bad_red_id", "bad_family",
	"bad_service", "bad_lifetime", "bad_result", "bad_reason",
	"bad_grant", "bad_sig_len", "trailing_bytes", "bad_count", "bad_hop",
};

static const char *const reason_names[KG_SK_R_COUNT] = {
	"none", "wrong_red", "before_start", "outside_window", "replay",
	"stale_sequence", "unknown_service", "bad_client", "pool_exhausted",
	"no_grant", "busy", "internal", "sequence_reused",
};

const char *kg_sk_err_name(enum kg_sk_err e)
{
	return (unsigned)e < KG_SK_E_COUNT ? err_names[e] : "?";
}

const char *kg_sk_reason_name(unsigned r)
{
	return r < KG_SK_R_COUNT ? reason_names[r] : "?";
}

const char *kg_sk_action_name(unsigned a)
{
	switch (a) {
	case KG_SK_OPEN: return "open";
	case KG_SK_RENEW: return "renew";
	case KG_SK_CLOSE: return "close";
	}
	return "?";
}

static int id_char_ok(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static int id_bytes_ok(const uint8_t *p, size_t n)
{
	if (n < 1 || n > KG_SK_ID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!id_char_ok(p[i]))
			return 0;
	return 1;
}

int kg_sk_id_valid(const char *s)
{
	return id_bytes_ok((const uint8_t *)s, strnlen(s, KG_SK_ID_MAX + 1));
}

static int put_id(struct kg_writer *w, const char *s)
{
	size_t n = strnlen(s, KG_SK_ID_MAX + 1);

	if (!kg_sk_id_valid(s))
		return -EINVAL;
	if (kg_put_u8(w, (uint8_t)n) || kg_put_bytes(w, s, n))
		return -EMSGSIZE;
	return 0;
}

static int put_header(struct kg_writer *w, uint8_t type)
{
	if (kg_put_bytes(w, KG_SK_MAGIC, 4) || kg_put_u8(w, KG_SK_VERSION) ||
	    kg_put_u8(w, type))
		return -EMSGSIZE;
	return 0;
}

static int put_addr(struct kg_writer *w, const struct kg_addr *a)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EINVAL;
	if (kg_put_u8(w, a->family == AF_INET ? 4 : 6) ||
	    kg_put_bytes(w, a->b, kg_addr_len(a)))
		return -EMSGSIZE;
	return 0;
}

int kg_sknock_encode_body(const struct kg_sknock *k, uint8_t *out, size_t cap,
			  size_t *len)
{
	struct kg_writer w;
	int rc;

	if (k->action < KG_SK_OPEN || k->action > KG_SK_CLOSE ||
	    k->lifetime < 1 || k->lifetime > KG_SK_LIFETIME_MAX)
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if ((rc = put_header(&w, KG_SK_TYPE_KNOCK)) ||
	    (rc = kg_put_u8(&w, k->action)) ||
	    (rc = put_id(&w, k->green_id)) || (rc = put_id(&w, k->red_id)) ||
	    (rc = kg_put_u64(&w, k->session)) || (rc = kg_put_u32(&w, k->seq)) ||
	    (rc = put_addr(&w, &k->client)) || (rc = put_id(&w, k->service)) ||
	    (rc = kg_put_u32(&w, k->lifetime)) ||
	    (rc = kg_put_u64(&w, k->timestamp)) ||
	    (rc = kg_put_bytes(&w, k->nonce, KG_SK_NONCE_LEN)))
		return rc;
	*len = w.pos;
	return 0;
}

static int answer_consistent(const struct kg_skanswer *a)
{
	switch (a->result) {
	case KG_SK_GRANTED:
		return a->port != 0 && a->lease != 0 &&
		       a->lease <= KG_SK_LIFETIME_MAX && a->reason == 0;
	case KG_SK_CLOSED:
		return a->port == 0 && a->lease == 0 && a->reason == 0;
	case KG_SK_REFUSED:
		return a->port == 0 && a->lease == 0 && a->reason != 0 &&
		       a->reason < KG_SK_R_COUNT;
	}
	return 0;
}

int kg_skanswer_encode_body(const struct kg_skanswer *a, uint8_t *out,
			    size_t cap, size_t *len)
{
	struct kg_writer w;
	int rc;

	if (!answer_consistent(a))
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if ((rc = put_header(&w, KG_SK_TYPE_ANSWER)) ||
	    (rc = kg_put_u8(&w, a->result)) ||
	    (rc = put_id(&w, a->red_id)) || (rc = put_id(&w, a->green_id)) ||
	    (rc = kg_put_bytes(&w, a->knock_hash, KG_SK_HASH_LEN)) ||
	    (rc = kg_put_u16(&w, a->port)) ||
	    (rc = kg_put_u32(&w, a->lease)) ||
	    (rc = kg_put_u8(&w, a->reason)) ||
	    (rc = kg_put_u64(&w, a->timestamp)))
		return rc;
	*len = w.pos;
	return 0;
}

static int hop_consistent(const struct kg_skhop *h)
{
	return h->hop != 0 && h->port != 0 && h->old_port != 0 &&
	       h->port != h->old_port && h->overlap_ms >= 1 &&
	       h->overlap_ms <= 86400000u;
}

/* 1..KG_SK_HELD_MAX ports, none 0, the current one among them. */
static int held_consistent(const struct kg_skhop *h)
{
	int cur = 0;

	if (h->n_held < 1 || h->n_held > KG_SK_HELD_MAX)
		return 0;
	for (unsigned i = 0; i < h->n_held; i++) {
		if (h->held[i] == 0)
			return 0;
		cur |= h->held[i] == h->port;
	}
	return cur;
}

int kg_skhop_encode_body(const struct kg_skhop *h, uint8_t *out, size_t cap,
			 size_t *len)
{
	struct kg_writer w;
	int rc;

	if (!hop_consistent(h) || !held_consistent(h))
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if ((rc = put_header(&w, KG_SK_TYPE_HOP)) ||
	    (rc = put_id(&w, h->red_id)) || (rc = put_id(&w, h->green_id)) ||
	    (rc = kg_put_u64(&w, h->session)) ||
	    (rc = put_id(&w, h->service)) ||
	    (rc = put_addr(&w, &h->client)) ||
	    (rc = kg_put_u32(&w, h->hop)) ||
	    (rc = put_addr(&w, &h->addr)) ||
	    (rc = kg_put_u16(&w, h->port)) ||
	    (rc = kg_put_u16(&w, h->old_port)) ||
	    (rc = kg_put_u32(&w, h->overlap_ms)) ||
	    (rc = kg_put_u64(&w, h->timestamp)) ||
	    (rc = kg_put_u8(&w, h->n_held)))
		return rc;
	for (unsigned i = 0; i < h->n_held; i++)
		if ((rc = kg_put_u16(&w, h->held[i])))
			return rc;
	*len = w.pos;
	return 0;
}

int kg_sk_append_sig(uint8_t *buf, size_t cap, size_t *len, const uint8_t *sig,
		     size_t sig_len)
{
	struct kg_writer w;

	if (sig_len < KG_SK_SIG_MIN || sig_len > KG_SK_SIG_MAX)
		return -EINVAL;
	if (*len > cap)
		return -EMSGSIZE;
	kg_writer_init(&w, buf + *len, cap - *len);
	if (kg_put_u8(&w, (uint8_t)sig_len) || kg_put_bytes(&w, sig, sig_len))
		return -EMSGSIZE;
	*len += w.pos;
	return 0;
}

void kg_sk_digest(const uint8_t *body, size_t len, uint8_t out[KG_SK_HASH_LEN])
{
	kg_sha256(body, len, out);
}

/* ---- parsing: every field checked in order, one reason each ---- */

static enum kg_sk_err get_header(struct kg_reader *r, uint8_t type)
{
	const uint8_t *magic;
	uint8_t ver, t;

	if (kg_get_view(r, &magic, 4))
		return KG_SK_E_TRUNCATED;
	if (memcmp(magic, KG_SK_MAGIC, 4) != 0)
		return KG_SK_E_BAD_MAGIC;
	if (kg_get_u8(r, &ver))
		return KG_SK_E_TRUNCATED;
	if (ver != KG_SK_VERSION)
		return KG_SK_E_BAD_VERSION;
	if (kg_get_u8(r, &t))
		return KG_SK_E_TRUNCATED;
	return t == type ? KG_SK_E_OK : KG_SK_E_BAD_TYPE;
}

static enum kg_sk_err get_id(struct kg_reader *r, char out[KG_SK_ID_MAX + 1],
			     enum kg_sk_err bad)
{
	const uint8_t *p;
	uint8_t n;

	if (kg_get_u8(r, &n))
		return KG_SK_E_TRUNCATED;
	if (n < 1 || n > KG_SK_ID_MAX)
		return bad;
	if (kg_get_view(r, &p, n))
		return KG_SK_E_TRUNCATED;
	if (!id_bytes_ok(p, n))
		return bad;
	memcpy(out, p, n);
	out[n] = '\0';
	return KG_SK_E_OK;
}

static enum kg_sk_err get_addr(struct kg_reader *r, struct kg_addr *a)
{
	uint8_t fam;

	memset(a, 0, sizeof(*a));
	if (kg_get_u8(r, &fam))
		return KG_SK_E_TRUNCATED;
	if (fam != 4 && fam != 6)
		return KG_SK_E_BAD_FAMILY;
	a->family = fam == 4 ? AF_INET : AF_INET6;
	if (kg_get_bytes(r, a->b, fam == 4 ? 4 : 16))
		return KG_SK_E_TRUNCATED;
	return KG_SK_E_OK;
}

/* The signature trailer: u8 length in range, those bytes, then nothing. */
static enum kg_sk_err get_sig(struct kg_reader *r, struct kg_sk_view *v)
{
	uint8_t n;

	v->body = r->p;
	v->body_len = r->pos;
	if (kg_get_u8(r, &n))
		return KG_SK_E_TRUNCATED;
	if (n < KG_SK_SIG_MIN || n > KG_SK_SIG_MAX)
		return KG_SK_E_BAD_SIG_LEN;
	if (kg_get_view(r, &v->sig, n))
		return KG_SK_E_TRUNCATED;
	v->sig_len = n;
	return kg_reader_done(r) ? KG_SK_E_OK : KG_SK_E_TRAILING;
}

#define TRY(x) do { enum kg_sk_err e_ = (x); if (e_) return e_; } while (0)
#define NEED(x) do { if (x) return KG_SK_E_TRUNCATED; } while (0)

enum kg_sk_err kg_sknock_parse(const uint8_t *pkt, size_t len,
			       struct kg_sknock *k, struct kg_sk_view *v)
{
	struct kg_reader r;

	memset(k, 0, sizeof(*k));
	kg_reader_init(&r, pkt, len);
	TRY(get_header(&r, KG_SK_TYPE_KNOCK));
	NEED(kg_get_u8(&r, &k->action));
	if (k->action < KG_SK_OPEN || k->action > KG_SK_CLOSE)
		return KG_SK_E_BAD_ACTION;
	TRY(get_id(&r, k->green_id, KG_SK_E_BAD_GREEN_ID));
	TRY(get_id(&r, k->red_id, KG_SK_E_BAD_RED_ID));
	NEED(kg_get_u64(&r, &k->session));
	NEED(kg_get_u32(&r, &k->seq));
	TRY(get_addr(&r, &k->client));
	TRY(get_id(&r, k->service, KG_SK_E_BAD_SERVICE));
	NEED(kg_get_u32(&r, &k->lifetime));
	if (k->lifetime < 1 || k->lifetime > KG_SK_LIFETIME_MAX)
		return KG_SK_E_BAD_LIFETIME;
	NEED(kg_get_u64(&r, &k->timestamp));
	NEED(kg_get_bytes(&r, k->nonce, KG_SK_NONCE_LEN));
	return get_sig(&r, v);
}

enum kg_sk_err kg_skanswer_parse(const uint8_t *pkt, size_t len,
				 struct kg_skanswer *a, struct kg_sk_view *v)
{
	struct kg_reader r;

	memset(a, 0, sizeof(*a));
	kg_reader_init(&r, pkt, len);
	TRY(get_header(&r, KG_SK_TYPE_ANSWER));
	NEED(kg_get_u8(&r, &a->result));
	if (a->result < KG_SK_GRANTED || a->result > KG_SK_REFUSED)
		return KG_SK_E_BAD_RESULT;
	TRY(get_id(&r, a->red_id, KG_SK_E_BAD_RED_ID));
	TRY(get_id(&r, a->green_id, KG_SK_E_BAD_GREEN_ID));
	NEED(kg_get_bytes(&r, a->knock_hash, KG_SK_HASH_LEN));
	NEED(kg_get_u16(&r, &a->port));
	NEED(kg_get_u32(&r, &a->lease));
	NEED(kg_get_u8(&r, &a->reason));
	if (a->reason >= KG_SK_R_COUNT)
		return KG_SK_E_BAD_REASON;
	if (!answer_consistent(a))
		return KG_SK_E_BAD_GRANT;
	NEED(kg_get_u64(&r, &a->timestamp));
	return get_sig(&r, v);
}

/* ---- batched renewals ---- */

uint8_t kg_sk_peek_type(const uint8_t *pkt, size_t len)
{
	if (len < 6 || memcmp(pkt, KG_SK_MAGIC, 4) || pkt[4] != KG_SK_VERSION)
		return 0;
	return pkt[5];
}

void kg_sk_entry_hash(const uint8_t batch_hash[KG_SK_HASH_LEN], unsigned i,
		      uint8_t out[KG_SK_HASH_LEN])
{
	uint8_t in[10 + KG_SK_HASH_LEN + 1];

	memcpy(in, "KGSK-renew", 10);
	memcpy(in + 10, batch_hash, KG_SK_HASH_LEN);
	in[10 + KG_SK_HASH_LEN] = (uint8_t)i;
	kg_sha256(in, sizeof(in), out);
}

static int renew_ok(const struct kg_sk_renew *e)
{
	return e->lifetime >= 1 && e->lifetime <= KG_SK_LIFETIME_MAX;
}

int kg_skrenews_encode_body(const struct kg_skrenews *b, uint8_t *out,
			    size_t cap, size_t *len)
{
	struct kg_writer w;
	int rc;

	if (b->n < 1 || b->n > KG_SK_BATCH_MAX)
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if ((rc = put_header(&w, KG_SK_TYPE_RENEWS)) ||
	    (rc = put_id(&w, b->green_id)) || (rc = put_id(&w, b->red_id)) ||
	    (rc = kg_put_u64(&w, b->timestamp)) ||
	    (rc = kg_put_bytes(&w, b->nonce, KG_SK_NONCE_LEN)) ||
	    (rc = kg_put_u8(&w, b->n)))
		return rc;
	for (unsigned i = 0; i < b->n; i++) {
		const struct kg_sk_renew *e = &b->e[i];

		if (!renew_ok(e))
			return -EINVAL;
		if ((rc = kg_put_u64(&w, e->session)) ||
		    (rc = kg_put_u32(&w, e->seq)) ||
		    (rc = put_addr(&w, &e->client)) ||
		    (rc = put_id(&w, e->service)) ||
		    (rc = kg_put_u32(&w, e->lifetime)))
			return rc;
	}
	*len = w.pos;
	return 0;
}

/* A batch answers renewals only: granted or refused, never closed. */
static int result_ok(const struct kg_sk_renew_result *r)
{
	struct kg_skanswer a = { .result = r->result, .port = r->port,
				 .lease = r->lease, .reason = r->reason };

	return r->result != KG_SK_CLOSED && answer_consistent(&a);
}

int kg_skrenews_answer_encode_body(const struct kg_skrenews_answer *a,
				   uint8_t *out, size_t cap, size_t *len)
{
	struct kg_writer w;
	int rc;

	if (a->n < 1 || a->n > KG_SK_BATCH_MAX)
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if ((rc = put_header(&w, KG_SK_TYPE_RENEWS_ANSWER)) ||
	    (rc = put_id(&w, a->red_id)) || (rc = put_id(&w, a->green_id)) ||
	    (rc = kg_put_bytes(&w, a->knock_hash, KG_SK_HASH_LEN)) ||
	    (rc = kg_put_u64(&w, a->timestamp)) ||
	    (rc = kg_put_u8(&w, a->n)))
		return rc;
	for (unsigned i = 0; i < a->n; i++) {
		const struct kg_sk_renew_result *r = &a->r[i];

		if (!result_ok(r))
			return -EINVAL;
		if ((rc = kg_put_u8(&w, r->result)) ||
		    (rc = kg_put_u16(&w, r->port)) ||
		    (rc = kg_put_u32(&w, r->lease)) ||
		    (rc = kg_put_u8(&w, r->reason)))
			return rc;
	}
	*len = w.pos;
	return 0;
}

static enum kg_sk_err get_count(struct kg_reader *r, uint8_t *n)
{
	NEED(kg_get_u8(r, n));
	return *n >= 1 && *n <= KG_SK_BATCH_MAX ? KG_SK_E_OK : KG_SK_E_BAD_COUNT;
}

enum kg_sk_err kg_skrenews_parse(const uint8_t *pkt, size_t len,
				 struct kg_skrenews *b, struct kg_sk_view *v)
{
	struct kg_reader r;

	memset(b, 0, sizeof(*b));
	kg_reader_init(&r, pkt, len);
	TRY(get_header(&r, KG_SK_TYPE_RENEWS));
	TRY(get_id(&r, b->green_id, KG_SK_E_BAD_GREEN_ID));
	TRY(get_id(&r, b->red_id, KG_SK_E_BAD_RED_ID));
	NEED(kg_get_u64(&r, &b->timestamp));
	NEED(kg_get_bytes(&r, b->nonce, KG_SK_NONCE_LEN));
	TRY(get_count(&r, &b->n));
	for (unsigned i = 0; i < b->n; i++) {
		struct kg_sk_renew *e = &b->e[i];

		NEED(kg_get_u64(&r, &e->session));
		NEED(kg_get_u32(&r, &e->seq));
		TRY(get_addr(&r, &e->client));
		TRY(get_id(&r, e->service, KG_SK_E_BAD_SERVICE));
		NEED(kg_get_u32(&r, &e->lifetime));
		if (!renew_ok(e))
			return KG_SK_E_BAD_LIFETIME;
	}
	return get_sig(&r, v);
}

enum kg_sk_err kg_skrenews_answer_parse(const uint8_t *pkt, size_t len,
					struct kg_skrenews_answer *a,
					struct kg_sk_view *v)
{
	struct kg_reader r;

	memset(a, 0, sizeof(*a));
	kg_reader_init(&r, pkt, len);
	TRY(get_header(&r, KG_SK_TYPE_RENEWS_ANSWER));
	TRY(get_id(&r, a->red_id, KG_SK_E_BAD_RED_ID));
	TRY(get_id(&r, a->green_id, KG_SK_E_BAD_GREEN_ID));
	NEED(kg_get_bytes(&r, a->knock_hash, KG_SK_HASH_LEN));
	NEED(kg_get_u64(&r, &a->timestamp));
	TRY(get_count(&r, &a->n));
	for (unsigned i = 0; i < a->n; i++) {
		struct kg_sk_renew_result *x = &a->r[i];

		NEED(kg_get_u8(&r, &x->result));
		if (x->result != KG_SK_GRANTED && x->result != KG_SK_REFUSED)
			return KG_SK_E_BAD_RESULT;
		NEED(kg_get_u16(&r, &x->port));
		NEED(kg_get_u32(&r, &x->lease));
		NEED(kg_get_u8(&r, &x->reason));
		if (x->reason >= KG_SK_R_COUNT)
			return KG_SK_E_BAD_REASON;
		if (!result_ok(x))
			return KG_SK_E_BAD_GRANT;
	}
	return get_sig(&r, v);
}

enum kg_sk_err kg_skhop_parse(const uint8_t *pkt, size_t len,
			      struct kg_skhop *h, struct kg_sk_view *v)
{
	struct kg_reader r;

	memset(h, 0, sizeof(*h));
	kg_reader_init(&r, pkt, len);
	TRY(get_header(&r, KG_SK_TYPE_HOP));
	TRY(get_id(&r, h->red_id, KG_SK_E_BAD_RED_ID));
	TRY(get_id(&r, h->green_id, KG_SK_E_BAD_GREEN_ID));
	NEED(kg_get_u64(&r, &h->session));
	TRY(get_id(&r, h->service, KG_SK_E_BAD_SERVICE));
	TRY(get_addr(&r, &h->client));
	NEED(kg_get_u32(&r, &h->hop));
	TRY(get_addr(&r, &h->addr));
	NEED(kg_get_u16(&r, &h->port));
	NEED(kg_get_u16(&r, &h->old_port));
	NEED(kg_get_u32(&r, &h->overlap_ms));
	if (!hop_consistent(h))
		return KG_SK_E_BAD_HOP;
	NEED(kg_get_u64(&r, &h->timestamp));
	NEED(kg_get_u8(&r, &h->n_held));
	if (h->n_held < 1 || h->n_held > KG_SK_HELD_MAX)
		return KG_SK_E_BAD_HOP;
	for (unsigned i = 0; i < h->n_held; i++)
		NEED(kg_get_u16(&r, &h->held[i]));
	if (!held_consistent(h))
		return KG_SK_E_BAD_HOP;
	return get_sig(&r, v);
}
