/* SPDX-License-Identifier: MIT */
#include "red_batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "pki.h"

int green_rb_init(struct green_rb *rb, size_t cap)
{
	rb->p = calloc(cap ? cap : 1, sizeof(*rb->p));
	rb->cap = rb->p ? cap : 0;
	return rb->p ? 0 : -ENOMEM;
}

void green_rb_free(struct green_rb *rb)
{
	free(rb->p);
	rb->p = NULL;
	rb->cap = 0;
}

int green_rb_request(struct green_rb *rb, const struct kg_red_client *rc,
		     const struct kg_sk_renew *e, void *const *cookies,
		     size_t n, uint64_t ts, uint64_t now_ms,
		     const uint8_t **pkt, size_t *len)
{
	struct green_rb_pending *p = NULL;
	uint8_t sig[KG_SK_SIG_MAX];
	size_t sn;
	int r;

	if (n < 1 || n > KG_SK_BATCH_MAX)
		return -EINVAL;
	for (size_t i = 0; i < rb->cap && !p; i++)
		if (!rb->p[i].used)
			p = &rb->p[i];
	if (!p)
		return -ENOSPC;
	memset(p, 0, sizeof(*p));
	strcpy(p->b.green_id, rc->green_id);
	strcpy(p->b.red_id, rc->red_id);
	p->b.timestamp = ts;
	p->b.n = (uint8_t)n;
	memcpy(p->b.e, e, n * sizeof(*e));
	memcpy(p->cookies, cookies, n * sizeof(*cookies));
	if ((r = kg_random(p->b.nonce, sizeof(p->b.nonce))) ||
	    (r = kg_skrenews_encode_body(&p->b, p->pkt, sizeof(p->pkt), &p->len)))
		return r;
	kg_sk_digest(p->pkt, p->len, p->hash);
	if (kg_hostkey_sign(rc->key, p->hash, sig, &sn) ||
	    kg_sk_append_sig(p->pkt, sizeof(p->pkt), &p->len, sig, sn))
		return -EIO;
	p->used = true;
	p->sent = 1;
	p->next_ms = now_ms + rc->retry_ms;
	*pkt = p->pkt;
	*len = p->len;
	return 0;
}

void green_rb_entry_knock(const struct kg_skrenews *b, size_t i,
			  struct kg_sknock *k)
{
	memset(k, 0, sizeof(*k));
	k->action = KG_SK_RENEW;
	strcpy(k->green_id, b->green_id);
	strcpy(k->red_id, b->red_id);
	k->session = b->e[i].session;
	k->seq = b->e[i].seq;
	k->client = b->e[i].client;
	strcpy(k->service, b->e[i].service);
	k->lifetime = b->e[i].lifetime;
	k->timestamp = b->timestamp;
	memcpy(k->nonce, b->nonce, KG_SK_NONCE_LEN);
}

void green_rb_tick(struct green_rb *rb, const struct kg_red_client *rc,
		   uint64_t now_ms,
		   void (*send)(void *ctx, const uint8_t *pkt, size_t len),
		   void (*gave_up)(void *ctx, const struct kg_sknock *req,
				   void *cookie),
		   void *ctx)
{
	for (size_t i = 0; i < rb->cap; i++) {
		struct green_rb_pending *p = &rb->p[i];

		if (!p->used || p->next_ms > now_ms)
			continue;
		if (p->sent >= rc->max_sends) {
			p->used = false;
			for (size_t j = 0; gave_up && j < p->b.n; j++) {
				struct kg_sknock k;

				green_rb_entry_knock(&p->b, j, &k);
				gave_up(ctx, &k, p->cookies[j]);
			}
			continue;
		}
		send(ctx, p->pkt, p->len);
		p->sent++;
		p->next_ms = now_ms + rc->retry_ms;
	}
}

enum kg_rc_result green_rb_answer(struct green_rb *rb,
				  struct kg_red_client *rc, const uint8_t *pkt,
				  size_t len, struct kg_skrenews_answer *a,
				  struct green_rb_pending *done,
				  enum kg_sk_err *why)
{
	struct green_rb_pending *p = NULL;
	struct kg_sk_view v;
	uint8_t h[KG_SK_HASH_LEN];

	*why = kg_skrenews_answer_parse(pkt, len, a, &v);
	if (*why != KG_SK_E_OK)
		return KG_RC_MALFORMED;
	if (strcmp(a->red_id, rc->red_id) || strcmp(a->green_id, rc->green_id))
		return KG_RC_WRONG_HOSTS;
	/* the pending lookup first: junk costs no ECDSA verification */
	for (size_t i = 0; i < rb->cap && !p; i++)
		if (rb->p[i].used &&
		    kg_memeq(rb->p[i].hash, a->knock_hash, KG_SK_HASH_LEN))
			p = &rb->p[i];
	if (!p || a->n != p->b.n)
		return KG_RC_NOT_PENDING;
	kg_sk_digest(v.body, v.body_len, h);
	rc->sig_checks++;
	if (kg_pki_verify_sig(rc->red_cert, h, v.sig, v.sig_len) != KG_PKI_OK)
		return KG_RC_BAD_SIGNATURE;
	*done = *p;
	p->used = false;
	return KG_RC_OK;
}
