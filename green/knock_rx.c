/* SPDX-License-Identifier: MIT */
/*
 * The knock receiver: every packet of the knock NFLOG group (already
 * rate-limited per source by the table) comes here from the daemon's
 * NFLOG socket: single-packet knocks to the knock port (kg_knock_check,
 * one record per decision) and, in sequence mode, the ports of
 * configured sequences (kg_seq_feed). An accepted knock or a completed
 * sequence opens a pending session (sessions_run.c). Without a gate (it
 * failed to start) everything is refused and nothing bans: a forged
 * source must not get someone banned through us.
 *
 * The pre-filter's sampled misses (prefix "kg-knock-miss", at most one a
 * second for all sources) share the group: each is one record, so a flood
 * or a user whose clock is off stays visible, and none counts toward a
 * ban (the packet carried no current key id: anyone could have sent it,
 * from any source).
 *
 * Bans: only knocks nobody holding a key produced count toward a ban
 * (kg_knock_reason_counts_for_ban); authentic but refused ones (stale,
 * duplicate) never do, their source may be forged. A valid knock lifts
 * its source's ban.
 */
#include "knock_rx.h"
#include "gate.h"
#include "sessions_run.h"
#include "apply.h"
#include "admin.h"
#include "log.h"
#include "time.h"
#include "nflog.h"
#include "seq.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Draining (knockgate-ctl drain): an authentic knock that would start a
 * new session is refused; the key of a live session (a roaming or
 * stalled client re-knocking) still passes, so live sessions are kept. */
static bool drained(struct green_gate *gt, const struct kg_user *u,
		    const uint8_t key[32], const char *src)
{
	const struct kg_session *s;

	if (!green_admin_draining(gt->g))
		return false;
	s = kg_sess_by_key(&gt->sess, key);
	if (s && s->state == KG_SESS_LIVE)
		return false;
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "rejected",
		     "reason", "draining", "user", u ? u->name : NULL,
		     "src", src);
	green_metrics_knock("draining");
	return true;
}

static int spa(struct green_gate *gt, const struct kg_pkt *pkt, uint64_t t0)
{
	struct kg_knock_decision d;
	char src[KG_ADDR_STRLEN];

	kg_knock_check(&gt->checker, pkt->payload, pkt->payload_len, (uint64_t)kg_wall_ms(), &d);
	kg_addr_str(&pkt->src, src);
	if (d.reason == KG_KNOCK_ACCEPTED && drained(gt, d.user, d.client_pub, src)) {
		kg_wipe(d.client_pub, sizeof(d.client_pub));
		return -EACCES;
	}
	kg_knock_log_decision(&d, src);
	green_metrics_knock(kg_knock_reason_name(d.reason));
	if (d.reason != KG_KNOCK_ACCEPTED) {
		if (!kg_knock_reason_counts_for_ban(d.reason))
			return -EACCES;
		/* Under -P the IPS is the worker's: the status tells it. */
		if (gt->g->ips)
			kg_ips_invalid_knock(gt->g->ips, &pkt->src);
		return -EKEYREJECTED;
	}
	if (gt->g->ips)
		kg_ips_unban(gt->g->ips, &pkt->src);
	gate_open(gt, d.user, d.client_pub, &pkt->src, t0);
	kg_wipe(d.client_pub, sizeof(d.client_pub));
	return 0;
}

static int sequence(struct green_gate *gt, const struct kg_pkt *pkt, uint64_t t0)
{
	struct kg_user *u = NULL;
	enum kg_seq_result r;
	char src[KG_ADDR_STRLEN], port[8];

	r = kg_seq_feed(gt->seq, &gt->users, &pkt->src, pkt->l4proto,
			pkt->dport, (uint64_t)kg_wall_ms(), (uint64_t)kg_mono_ms(), &u);
	kg_addr_str(&pkt->src, src);
	snprintf(port, sizeof(port), "%u", pkt->dport);
	if (r == KG_SEQ_NONE || r == KG_SEQ_PROGRESS) {
		kg_log_event(KG_LOG_DEBUG, "sequence", "result",
			     kg_seq_result_name(r), "src", src, "dport", port);
		return -EACCES;
	}
	if (r != KG_SEQ_COMPLETE || !u || !u->has_wg_pub) {
		kg_log_event(KG_LOG_NOTICE, "sequence", "result", "rejected",
			     "reason", r == KG_SEQ_COMPLETE ? "no_wg_public_key" :
			     kg_seq_result_name(r), "src", src, "dport", port);
		return -EACCES;
	}
	if (drained(gt, u, u->wg_pub, src))
		return -EACCES;
	kg_log_event(KG_LOG_NOTICE, "sequence", "result", "accepted",
		     "user", u->name, "src", src);
	green_metrics_knock("sequence_accepted");
	if (gt->g->ips)
		kg_ips_unban(gt->g->ips, &pkt->src);
	gate_open(gt, u, u->wg_pub, &pkt->src, t0);
	return 0;
}

static int gate_packet(struct green_gate *gt, const struct kg_nflog_pkt *p,
		       uint64_t t0)
{
	const struct kg_pkt *pkt = &p->pkt;

	if (!pkt->l4_ok)
		return -EACCES;
	if (pkt->l4proto == IPPROTO_UDP && pkt->dport == gt->g->conf.knock_port)
		return spa(gt, pkt, t0);
	if (gt->seq && (pkt->l4proto == IPPROTO_UDP || pkt->l4proto == IPPROTO_TCP))
		return sequence(gt, pkt, t0);
	return -EACCES;
}

static void prefilter_miss(const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN], len[16];

	snprintf(len, sizeof(len), "%zu", p->pkt.payload_len);
	green_metrics_knock("prefilter_miss");
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "prefilter_miss",
		     "src", kg_addr_str(&p->pkt.src, src), "len", len);
}

void green_knock_prefilter_miss(const struct kg_nflog_pkt *p)
{
	prefilter_miss(p);
}

int green_knock_receive(struct green *g, const struct kg_nflog_pkt *p)
{
	return green_knock_receive_at(g, p, kg_mono_ns());
}

int green_knock_receive_at(struct green *g, const struct kg_nflog_pkt *p,
			   uint64_t t0_ns)
{
	char src[KG_ADDR_STRLEN];

	if (p->prefix && !strcmp(p->prefix, GREEN_KNOCK_MISS_PREFIX)) {
		prefilter_miss(p);
		return -EACCES;
	}
	if (g->gate)
		return gate_packet(g->gate, p, t0_ns);
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "rejected",
		     "reason", "not_ready",
		     "src", kg_addr_str(&p->pkt.src, src));
	return -EACCES;
}

static size_t collect(const struct kg_users *u, struct kg_seq_port *out)
{
	size_t n = 0;

	for (size_t i = 0; i < u->n; i++) {
		const struct kg_user *x = &u->v[i];

		if (x->mode != KG_MODE_SEQUENCE || x->seq_onetime)
			continue;
		for (size_t j = 0; j < x->seq_len; j++)
			if (out)
				out[n++] = x->seq[j];
			else
				n++;
	}
	return n;
}

void gate_seq_ports_sync(struct green_gate *gt)
{
	struct kg_seq_port *v = NULL;
	size_t n = 0;

	if (gt->g->conf.gate->sequence) {
		n = collect(&gt->users, NULL);
		v = n ? calloc(n, sizeof(*v)) : NULL;
		if (n && !v)
			kg_log(KG_LOG_ERR, "sequence ports: out of memory");
		else
			collect(&gt->users, v);
		green_apply_seq_ports(gt->g->nft, gt->seq_set, gt->n_seq_set,
				      v, v ? n : 0);
	}
	free(gt->seq_set);
	gt->seq_set = v;
	gt->n_seq_set = v ? n : 0;
}
