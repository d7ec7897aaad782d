/* SPDX-License-Identifier: MIT */
/*
 * The knock handler: every packet of the knock group (already rate-limited
 * per source by the table) comes here and goes to the gate (knock_rx.c).
 * Without a gate (it failed to start) everything is refused and nothing
 * bans: a forged source must not get someone banned through us.
 *
 * The pre-filter's sampled misses (prefix "kg-knock-miss", at most one a
 * second for all sources) share the group: each is one record, so a flood
 * or a user whose clock is off stays visible, and none counts toward a
 * ban (the packet carried no current key id: anyone could have sent it,
 * from any source).
 */
#include "gate.h"
#include "log.h"
#include "nflog.h"

#include <stdio.h>
#include <string.h>

static void prefilter_miss(const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN], len[16];

	snprintf(len, sizeof(len), "%zu", p->pkt.payload_len);
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "prefilter_miss",
		     "src", kg_addr_str(&p->pkt.src, src), "len", len);
}

void green_handle_knock(struct green *g, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN];

	if (p->prefix && !strcmp(p->prefix, GREEN_KNOCK_MISS_PREFIX)) {
		prefilter_miss(p);
		return;
	}
	if (g->gate) {
		gate_knock_packet(g->gate, p);
		return;
	}
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "rejected",
		     "reason", "not_ready",
		     "src", kg_addr_str(&p->pkt.src, src));
}
