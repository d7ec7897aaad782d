/* SPDX-License-Identifier: MIT */
#include "green_watch.h"

uint64_t kg_green_watch_feed(struct kg_green_watch *w, uint64_t now_ms,
			     uint64_t rx, uint64_t tx)
{
	uint64_t sent;

	/* a new interface (after a failover) counts from zero again */
	if (!w->have || rx != w->rx || tx < w->tx) {
		w->have = true;
		w->rx = rx;
		w->tx = tx;
		w->unanswered_ms = 0;
		return 0;
	}
	sent = tx - w->tx;
	w->tx = tx;
	/* a keepalive (or nothing) since the last reading expects no answer */
	if (sent <= KG_WATCH_KEEPALIVE && !w->unanswered_ms)
		return 0;
	if (!w->unanswered_ms)
		w->unanswered_ms = now_ms ? now_ms : 1;
	if (now_ms - w->unanswered_ms < KG_WATCH_LOST_MS)
		return 0;
	return now_ms - w->unanswered_ms;
}
