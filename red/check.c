/* SPDX-License-Identifier: MIT */
#include "check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pki.h"

int kg_red_state_init(struct kg_red_state *s, const struct kg_red_config *cfg,
		      int64_t started)
{
	int rc;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->started = started;
	rc = kg_rcache_new(cfg->replay_cache, KG_SK_HASH_LEN, &s->replay);
	if (rc == 0)
		rc = kg_grants_init(&s->grants, cfg->max_grants, cfg->max_lease,
				    cfg->keep + 2 * cfg->window);
	if (rc)
		kg_red_state_free(s);
	return rc;
}

void kg_red_state_free(struct kg_red_state *s)
{
	kg_rcache_free(s->replay);
	s->replay = NULL;
	kg_grants_free(&s->grants);
}

static void drop(struct kg_red_outcome *o, const char *reason)
{
	o->verdict = KG_V_DROP;
	o->result = "dropped";
	o->reason = reason;
}

static void refuse(struct kg_red_outcome *o, uint8_t reason)
{
	o->verdict = KG_V_ANSWER;
	o->result = "refused";
	o->reason = kg_sk_reason_name(reason);
	o->plan.op = KG_PLAN_REFUSE;
	o->plan.reason = reason;
	o->plan.answer.result = KG_SK_REFUSED;
	o->plan.answer.reason = reason;
	o->plan.answer.port = 0;
	o->plan.answer.lease = 0;
}

/* Authenticity: the sender is a configured green's site-link address
 * (the table lets knocks in from nowhere else), the bytes parse, the
 * knock names that green, and its certificate signed them. */
static int authentic(struct kg_red_state *s, const struct kg_addr *src,
		     const uint8_t *pkt, size_t len, struct kg_red_outcome *o)
{
	struct kg_sk_view v;
	enum kg_sk_err pe;
	X509 *cert;

	o->green = kg_red_green_by_link(s->cfg, src);
	if (!o->green)
		return drop(o, "not_green"), -1;
	pe = kg_sknock_parse(pkt, len, &o->k, &v);
	if (pe != KG_SK_E_OK)
		return drop(o, kg_sk_err_name(pe)), -1;
	if (strcmp(o->k.green_id, o->green->id) != 0)
		return drop(o, "wrong_green"), -1;
	cert = s->green_cert[o->green - s->cfg->greens];
	if (!cert)
		return drop(o, "green_cert_refused"), -1;
	kg_sk_digest(v.body, v.body_len, o->hash);
	if (kg_pki_verify_sig(cert, o->hash, v.sig, v.sig_len) != KG_PKI_OK)
		return drop(o, "bad_signature"), -1;
	return 0;
}

/* Checks that need no table: named red, time, service, client. */
static int acceptable(struct kg_red_state *s, int64_t now,
		      struct kg_red_outcome *o)
{
	int64_t ts = (int64_t)o->k.timestamp;

	if (strcmp(o->k.red_id, s->cfg->id) != 0)
		return refuse(o, KG_SK_R_WRONG_RED), -1;
	if (ts > now + s->cfg->window || ts < now - s->cfg->window)
		return refuse(o, KG_SK_R_OUTSIDE_WINDOW), -1;
	if (ts < s->started)
		return refuse(o, KG_SK_R_BEFORE_START), -1;
	o->svc = kg_red_service_by_name(s->cfg, o->k.service);
	if (!o->svc)
		return refuse(o, KG_SK_R_UNKNOWN_SERVICE), -1;
	/* the client must be the sending green's: a green cannot open a
	 * port for an address another green hands out (IPv4: each green's
	 * own range; IPv6: red's one tunnel_range6) */
	if (o->k.client.family == AF_INET ?
	    !kg_prefix_contains(&o->green->tunnel_range, &o->k.client) :
	    !kg_red_in_tunnel_range(s->cfg, &o->k.client))
		return refuse(o, KG_SK_R_BAD_CLIENT), -1;
	return 0;
}

/* Everything after authenticity, for one knock (or one entry of a batch):
 * the answer's header, the checks, the plan, idempotency and the replay
 * cache. replay_key is the hash the replay cache knows the packet by (the
 * knock's own, or the batch's); record says whether to add it here (a
 * batch adds its hash once, after all its entries). */
static void decide(struct kg_red_state *s, int64_t now, int64_t mono,
		   uint32_t rnd, const uint8_t replay_key[KG_SK_HASH_LEN],
		   bool record, struct kg_red_outcome *o)
{
	/* from here on the knock is green's: every outcome is answered */
	memset(&o->plan.answer, 0, sizeof(o->plan.answer));
	snprintf(o->plan.answer.red_id, sizeof(o->plan.answer.red_id), "%s",
		 s->cfg->id);
	strcpy(o->plan.answer.green_id, o->k.green_id);
	memcpy(o->plan.answer.knock_hash, o->hash, KG_SK_HASH_LEN);
	o->plan.answer.timestamp = (uint64_t)now;
	/* The start as the wall clock reads it now (now minus the time up):
	 * after a step back every knock would otherwise be "before start"
	 * for as long as the step, and every renewal refused. Whole seconds
	 * of two clocks jitter by one: only a real step moves it. */
	if (s->started_mono) {
		int64_t st = now - (mono - s->started_mono);

		if (st > s->started + 2 || st < s->started - 2)
			s->started = st;
	}
	if (acceptable(s, now, o))
		return;
	kg_grants_plan(&s->grants, &o->k, o->hash, o->svc->port,
		       &o->svc->hop, rnd, mono, &o->plan);
	o->plan.answer.timestamp = (uint64_t)now;
	if (o->plan.op == KG_PLAN_REPEAT) {
		o->verdict = KG_V_ANSWER;
		o->result = "repeat";
		return;
	}
	/* a knock seen before that is not the session's current request */
	if (kg_rcache_contains(s->replay, replay_key, (uint64_t)now * 1000))
		return refuse(o, KG_SK_R_REPLAY);
	if (o->plan.op == KG_PLAN_REFUSE)
		return refuse(o, o->plan.reason);
	/* times in seconds here, in ms in the cache */
	if (record) {
		int rc = kg_rcache_add(s->replay, replay_key,
				   (o->k.timestamp + s->cfg->window + 1) * 1000,
				   (uint64_t)now * 1000);
		if (rc)
			return refuse(o, KG_SK_R_BUSY);
	}
	o->verdict = KG_V_ANSWER;
	o->result = "accepted";
}

void kg_red_check(struct kg_red_state *s, const struct kg_addr *src,
		  const uint8_t *pkt, size_t len, int64_t now, int64_t mono,
		  uint32_t rnd, struct kg_red_outcome *o)
{
	memset(o, 0, sizeof(*o));
	if (authentic(s, src, pkt, len, o))
		return;
	decide(s, now, mono, rnd, o->hash, true, o);
}

int kg_red_batch_open(struct kg_red_state *s, const struct kg_addr *src,
		      const uint8_t *pkt, size_t len, struct kg_red_batch *b)
{
	struct kg_sk_view v;
	enum kg_sk_err pe;
	X509 *cert;

	memset(b, 0, sizeof(*b));
	b->green = kg_red_green_by_link(s->cfg, src);
	if (!b->green)
		return b->reason = "not_green", -1;
	pe = kg_skrenews_parse(pkt, len, &b->r, &v);
	if (pe != KG_SK_E_OK)
		return b->reason = kg_sk_err_name(pe), -1;
	if (strcmp(b->r.green_id, b->green->id) != 0)
		return b->reason = "wrong_green", -1;
	cert = s->green_cert[b->green - s->cfg->greens];
	if (!cert)
		return b->reason = "green_cert_refused", -1;
	/* one signature check for the whole batch */
	kg_sk_digest(v.body, v.body_len, b->hash);
	if (kg_pki_verify_sig(cert, b->hash, v.sig, v.sig_len) != KG_PKI_OK)
		return b->reason = "bad_signature", -1;
	return 0;
}

void kg_red_batch_entry(struct kg_red_state *s, const struct kg_red_batch *b,
			unsigned i, int64_t now, int64_t mono, uint32_t rnd,
			struct kg_red_outcome *o)
{
	const struct kg_sk_renew *e = &b->r.e[i];

	memset(o, 0, sizeof(*o));
	o->green = b->green;
	o->k.action = KG_SK_RENEW;
	strcpy(o->k.green_id, b->r.green_id);
	strcpy(o->k.red_id, b->r.red_id);
	o->k.session = e->session;
	o->k.seq = e->seq;
	o->k.client = e->client;
	strcpy(o->k.service, e->service);
	o->k.lifetime = e->lifetime;
	o->k.timestamp = b->r.timestamp;
	memcpy(o->k.nonce, b->r.nonce, KG_SK_NONCE_LEN);
	kg_sk_entry_hash(b->hash, i, o->hash);
	decide(s, now, mono, rnd, b->hash, false, o);
}

int kg_red_batch_close(struct kg_red_state *s, const struct kg_red_batch *b,
		       unsigned n_accepted, int64_t now)
{
	if (!n_accepted)
		return 0;
	return kg_rcache_add(s->replay, b->hash,
			     (b->r.timestamp + s->cfg->window + 1) * 1000,
			     (uint64_t)now * 1000);
}
