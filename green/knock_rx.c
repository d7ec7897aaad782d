/* SPDX-License-Identifier: MIT */
/*
 * The knock group's packets: single-packet knocks to the knock port
 * (kg_knock_check, one record per decision) and, in sequence mode, the
 * ports of configured sequences (kg_seq_feed). An accepted knock or a
 * completed sequence opens a pending session (sessions_run.c).
 *
 * Bans: only knocks nobody holding a key produced count toward a ban
 * (kg_knock_reason_counts_for_ban); authentic but refused ones (stale,
 * duplicate) never do, their source may be forged. A valid knock lifts
 * its source's ban.
 */
#include "gate.h"
#include "apply.h"
#include "log.h"
#include "time.h"
#include "nft.h"
#include "nflog.h"
#include "seq.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void spa(struct green_gate *gt, const struct kg_pkt *pkt, uint64_t t0)
{
	struct kg_knock_decision d;
	char src[KG_ADDR_STRLEN];

	kg_knock_check(&gt->checker, pkt->payload, pkt->payload_len, (uint64_t)kg_wall_ms(), &d);
	kg_addr_str(&pkt->src, src);
	kg_knock_log_decision(&d, src);
	if (d.reason != KG_KNOCK_ACCEPTED) {
		if (kg_knock_reason_counts_for_ban(d.reason))
			kg_ips_invalid_knock(gt->g->ips, &pkt->src);
		return;
	}
	kg_ips_unban(gt->g->ips, &pkt->src);
	gate_open(gt, d.user, d.client_pub, &pkt->src, t0);
	kg_wipe(d.client_pub, sizeof(d.client_pub));
}

static void sequence(struct green_gate *gt, const struct kg_pkt *pkt, uint64_t t0)
{
	struct kg_user *u = NULL;
	enum kg_seq_result r;
	char src[KG_ADDR_STRLEN], port[8];

	r = kg_seq_feed(gt->seq, &gt->users, &pkt->src, pkt->l4proto,
			pkt->dport, (uint64_t)kg_wall_ms(), &u);
	kg_addr_str(&pkt->src, src);
	snprintf(port, sizeof(port), "%u", pkt->dport);
	if (r == KG_SEQ_NONE || r == KG_SEQ_PROGRESS) {
		kg_log_event(KG_LOG_DEBUG, "sequence", "result",
			     kg_seq_result_name(r), "src", src, "dport", port);
		return;
	}
	if (r != KG_SEQ_COMPLETE || !u || !u->has_wg_pub) {
		kg_log_event(KG_LOG_NOTICE, "sequence", "result", "rejected",
			     "reason", r == KG_SEQ_COMPLETE ? "no_wg_public_key" :
			     kg_seq_result_name(r), "src", src, "dport", port);
		return;
	}
	kg_log_event(KG_LOG_NOTICE, "sequence", "result", "accepted",
		     "user", u->name, "src", src);
	kg_ips_unban(gt->g->ips, &pkt->src);
	gate_open(gt, u, u->wg_pub, &pkt->src, t0);
}

void gate_knock_packet(struct green_gate *gt, const struct kg_nflog_pkt *p)
{
	uint64_t t0 = kg_mono_ns();
	const struct kg_pkt *pkt = &p->pkt;

	if (!pkt->l4_ok)
		return;
	if (pkt->l4proto == IPPROTO_UDP && pkt->dport == gt->g->conf.knock_port) {
		spa(gt, pkt, t0);
		return;
	}
	if (gt->seq && (pkt->l4proto == IPPROTO_UDP || pkt->l4proto == IPPROTO_TCP))
		sequence(gt, pkt, t0);
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
