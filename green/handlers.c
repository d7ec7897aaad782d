/* SPDX-License-Identifier: MIT */
/* NFLOG groups to handlers: the scan group feeds the IPS. */
#include "green.h"
#include "log.h"
#include "nflog.h"

#include <netinet/in.h>
#include <stdio.h>

green_pkt_handler green_handler_for(const struct green *g, uint16_t group)
{
	if (group == g->conf.nflog_knock)
		return green_handle_knock;
	if (group == g->conf.nflog_scan)
		return green_handle_scan;
	return NULL;
}

/* A packet the table dropped at a closed port. Only TCP and UDP have
 * ports to count; the rest (ICMP, fragments) is dropped uncounted. */
void green_handle_scan(struct green *g, const struct kg_nflog_pkt *p)
{
	char src[KG_ADDR_STRLEN], port[8];

	if (!p->pkt.l4_ok || (p->pkt.l4proto != IPPROTO_TCP &&
			      p->pkt.l4proto != IPPROTO_UDP))
		return;
	kg_addr_str(&p->pkt.src, src);
	snprintf(port, sizeof(port), "%u", p->pkt.dport);
	kg_log_event(KG_LOG_DEBUG, "drop", "src", src,
		     "proto", p->pkt.l4proto == IPPROTO_TCP ? "tcp" : "udp",
		     "dport", port);
	kg_ips_closed_port(g->ips, &p->pkt.src, p->pkt.l4proto, p->pkt.dport);
}
