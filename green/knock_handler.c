/* SPDX-License-Identifier: MIT */
/*
 * The knock handler: every packet of the knock group (already rate-limited
 * per source by the table) comes here and goes to the gate (knock_rx.c).
 * Without a gate (it failed to start) everything is refused and nothing
 * bans: a forged source must not get someone banned through us.
 */
#include "gate.h"
#include "log.h"
#include "nflog.h"

void green_handle_knock(struct green *g, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN];

	if (g->gate) {
		gate_knock_packet(g->gate, p);
		return;
	}
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "rejected",
		     "reason", "not_ready",
		     "src", kg_addr_str(&p->pkt.src, src));
}
