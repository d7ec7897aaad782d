/* SPDX-License-Identifier: MIT */
/*
 * A knock from the NFLOG knock group: decide (check.c), apply to nftables
 * (apply.c), record, log one record, answer. The answer leaves through a
 * fresh UDP socket connected to the knock's source, a green's site-link
 * address, so it goes back inside the WireGuard link: nothing on red
 * binds or listens for knocks, and the kernel delivers nothing to that
 * socket that the table does not let in (it lets nothing in).
 */
#include "red.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "pki.h"
#include "time.h"

static int send_to(const struct kg_addr *dst, uint16_t port,
		   const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, rc = 0;

	sl = kg_addr_to_sockaddr(dst, port, &ss);
	fd = socket(dst->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0 ||
	    send(fd, buf, len, 0) != (ssize_t)len)
		rc = -errno;
	close(fd);
	return rc;
}

/* Signs the plan's answer with red's host key and sends it. */
static int answer(struct red *r, const struct kg_red_outcome *o,
		  const struct kg_pkt *pkt)
{
	uint8_t buf[KG_SK_PACKET_MAX], h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	size_t n, sn;
	int rc;

	if ((rc = kg_skanswer_encode_body(&o->plan.answer, buf, sizeof(buf), &n)))
		return rc;
	kg_sk_digest(buf, n, h);
	if ((rc = kg_hostkey_sign(r->key, h, sig, &sn)) ||
	    (rc = kg_sk_append_sig(buf, sizeof(buf), &n, sig, sn)))
		return rc;
	return send_to(&pkt->src, pkt->sport, buf, n);
}

/* CLOCK_MONOTONIC in µs: the us= field (receipt to answer sent). */
int64_t red_mono_us(void)
{
	return (int64_t)(kg_mono_ns() / 1000);
}

static void log_outcome(const struct kg_red_outcome *o, const struct kg_pkt *pkt,
			const char *err, int64_t rx_us)
{
	char src[KG_ADDR_STRLEN], cl[KG_ADDR_STRLEN], sess[17], seq[12];
	char port[8], lease[12], us[24];
	bool parsed = o->k.action != 0;
	bool granted = o->plan.answer.result == KG_SK_GRANTED;

	kg_addr_str(&pkt->src, src);
	snprintf(sess, sizeof(sess), "%016" PRIx64, o->k.session);
	snprintf(seq, sizeof(seq), "%" PRIu32, o->k.seq);
	snprintf(port, sizeof(port), "%u", o->plan.answer.port);
	snprintf(lease, sizeof(lease), "%" PRIu32, o->plan.answer.lease);
	snprintf(us, sizeof(us), "%" PRId64, red_mono_us() - rx_us);
	kg_log_event(o->verdict == KG_V_DROP || !strcmp(o->result, "refused") ?
		     KG_LOG_WARNING : KG_LOG_NOTICE,
		     "sknock", "result", o->result, "reason", o->reason,
		     "src", src,
		     "green", parsed ? o->k.green_id : NULL,
		     "red", parsed ? o->k.red_id : NULL,
		     "action", parsed ? kg_sk_action_name(o->k.action) : NULL,
		     "service", parsed ? o->k.service : NULL,
		     "client", parsed ? kg_addr_str(&o->k.client, cl) : NULL,
		     "session", parsed ? sess : NULL, "seq", parsed ? seq : NULL,
		     "port", granted ? port : NULL,
		     "lease", granted ? lease : NULL, "us", us, "error", err);
}

static void refuse_internal(struct kg_red_outcome *o)
{
	o->result = "refused";
	o->reason = kg_sk_reason_name(KG_SK_R_INTERNAL);
	o->plan.op = KG_PLAN_REFUSE;
	o->plan.answer.result = KG_SK_REFUSED;
	o->plan.answer.reason = KG_SK_R_INTERNAL;
	o->plan.answer.port = 0;
	o->plan.answer.lease = 0;
}

/* Signs the batch answer with red's host key and sends it. */
static int answer_batch(struct red *r, const struct kg_skrenews_answer *a,
			const struct kg_pkt *pkt)
{
	static uint8_t buf[KG_SK_BATCH_PACKET_MAX];
	uint8_t h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	size_t n, sn;
	int rc;

	if ((rc = kg_skrenews_answer_encode_body(a, buf, sizeof(buf), &n)))
		return rc;
	kg_sk_digest(buf, n, h);
	if ((rc = kg_hostkey_sign(r->key, h, sig, &sn)) ||
	    (rc = kg_sk_append_sig(buf, sizeof(buf), &n, sig, sn)))
		return rc;
	return send_to(&pkt->src, pkt->sport, buf, n);
}

/* A batch of renewals: one signature check, then each entry as a renew
 * knock (applied and committed before the next), one record per entry,
 * one signed answer with every result in order. */
static int red_knock_renews(struct red *r, const struct kg_pkt *pkt,
			    const uint8_t *payload, size_t len, int64_t rx_us)
{
	static struct kg_red_batch b;
	static struct kg_skrenews_answer a;
	int64_t now = kg_wall_s(), mono = kg_mono_s();
	unsigned accepted = 0, refused = 0;
	int rc;

	if (kg_red_batch_open(&r->st, &pkt->src, payload, len, &b)) {
		struct kg_red_outcome o = { .verdict = KG_V_DROP,
					    .result = "dropped",
					    .reason = b.reason };

		log_outcome(&o, pkt, NULL, rx_us);
		return EACCES;
	}
	memset(&a, 0, sizeof(a));
	snprintf(a.red_id, sizeof(a.red_id), "%s", r->cfg.id);
	strcpy(a.green_id, b.r.green_id);
	memcpy(a.knock_hash, b.hash, KG_SK_HASH_LEN);
	a.timestamp = (uint64_t)now;
	a.n = b.r.n;
	for (unsigned i = 0; i < b.r.n; i++) {
		struct kg_red_outcome o;
		struct kg_err e = { "" };
		uint32_t rnd = 0;

		if (kg_random(&rnd, sizeof(rnd)))
			rnd = (uint32_t)now + i;
		kg_red_batch_entry(&r->st, &b, i, now, mono, rnd, &o);
		if (!strcmp(o.result, "accepted")) {
			if (red_apply(r, &o.plan, &e))
				refuse_internal(&o);
			else {
				kg_grants_commit(&r->st.grants, &o.k, o.hash,
						 &o.plan, mono);
				/* a renewal of a grant red lost re-maps it */
				red_hop_granted(r, &o.k, &o.plan, pkt->sport);
				accepted++;
			}
		}
		a.r[i].result = o.plan.answer.result;
		a.r[i].port = o.plan.answer.port;
		a.r[i].lease = o.plan.answer.lease;
		a.r[i].reason = o.plan.answer.reason;
		refused += a.r[i].result == KG_SK_REFUSED;
		log_outcome(&o, pkt, e.msg[0] ? e.msg : NULL, rx_us);
	}
	if (kg_red_batch_close(&r->st, &b, accepted, now))
		kg_log(KG_LOG_WARNING, "renewal batch: replay cache full, batch not recorded");
	rc = answer_batch(r, &a, pkt);
	{
		char ne[8], na[8], src[KG_ADDR_STRLEN];

		snprintf(ne, sizeof(ne), "%u", b.r.n);
		snprintf(na, sizeof(na), "%u", accepted);
		kg_log_event(KG_LOG_INFO, "sknock_batch", "result", "answered",
			     "src", kg_addr_str(&pkt->src, src), "green",
			     b.r.green_id, "entries", ne, "accepted", na);
	}
	if (rc)
		kg_log(KG_LOG_ERR, "batch answer to %s: %s", b.r.green_id,
		       strerror(-rc));
	return refused ? EACCES : 0;
}

/* One knock, from NFLOG here or from the worker (monitor.c): src and
 * sport as the packet carried them. Everything is checked here. */
int red_knock(struct red *r, const struct kg_addr *src, uint16_t sport,
	      const uint8_t *payload, size_t len, int64_t rx_us)
{
	struct kg_red_outcome o;
	struct kg_err e = { "" };
	struct kg_pkt pkt = { .src = *src, .sport = sport };
	int64_t now = kg_wall_s(), mono = kg_mono_s();
	uint32_t rnd = 0;
	int rc;

	r->n_knocks++;
	if (kg_sk_peek_type(payload, len) == KG_SK_TYPE_RENEWS)
		return red_knock_renews(r, &pkt, payload, len, rx_us);
	if (kg_random(&rnd, sizeof(rnd)))
		rnd = (uint32_t)now;
	kg_red_check(&r->st, src, payload, len, now, mono, rnd, &o);
	/* Only a green's link address reaches this group (rules.c): a drop
	 * here is logged, never fed to the IPS, which could only ban green. */
	red_metrics_knock(o.result);
	if (o.verdict == KG_V_DROP) {
		log_outcome(&o, &pkt, NULL, rx_us);
		return EACCES;
	}
	if (!strcmp(o.result, "accepted")) {
		rc = red_apply(r, &o.plan, &e);
		if (rc)
			refuse_internal(&o);
		else {
			kg_grants_commit(&r->st.grants, &o.k, o.hash, &o.plan, mono);
			red_hop_granted(r, &o.k, &o.plan, sport);
		}
	}
	/* Answered before the record: us= covers receipt to answer sent. */
	rc = answer(r, &o, &pkt);
	log_outcome(&o, &pkt, e.msg[0] ? e.msg : NULL, rx_us);
	if (rc)
		kg_log(KG_LOG_ERR, "answer to %s: %s", o.k.green_id, strerror(-rc));
	return o.plan.answer.result == KG_SK_REFUSED ? EACCES : 0;
}

void red_on_knock(struct red *r, const struct kg_nflog_pkt *p)
{
	if (!p->pkt.l4_ok || p->pkt.l4proto != IPPROTO_UDP ||
	    p->pkt.dport != r->cfg.knock_port)
		return;
	red_knock(r, &p->pkt.src, p->pkt.sport, p->pkt.payload,
		  p->pkt.payload_len, red_mono_us());
}
