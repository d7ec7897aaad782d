/* SPDX-License-Identifier: MIT */
/*
 * The knock handler: every packet of the knock group (already rate-limited
 * per source by the table) comes here. Placeholder until the knock issue:
 * it refuses everything, logs it, and never bans (a forged source must not
 * get someone banned through us).
 */
#include "green.h"
#include "log.h"
#include "nflog.h"

void green_handle_knock(struct green *g, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN];

	(void)g;
	kg_log_event(KG_LOG_NOTICE, "knock", "result", "rejected",
		     "reason", "not_implemented",
		     "src", kg_addr_str(&p->pkt.src, src));
}
