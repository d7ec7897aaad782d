/* SPDX-License-Identifier: MIT */
/*
 * Is green still answering? For a profile with several greens, `connect`
 * moves a live session to the next green when the current one stops
 * answering the user's own traffic. No heartbeat of its own (that costs
 * green a packet per user and interval): it reads the tunnel's WireGuard
 * counters (each serve slice, a few times a second) and calls green lost
 * when, between two readings, the client sent more than a keepalive
 * (KG_WATCH_KEEPALIVE bytes, which green need not answer) and nothing
 * has arrived from green for KG_WATCH_LOST_MS since that reading. An idle
 * user's tunnel is never called lost; a user sending into a service that
 * never answers (one-way UDP) may be, and then gets the next green.
 */
#ifndef KG_CLIENT_GREEN_WATCH_H
#define KG_CLIENT_GREEN_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#define KG_WATCH_LOST_MS 1000
#define KG_WATCH_KEEPALIVE 32     /* WireGuard's empty data message */

struct kg_green_watch {
	bool have;                   /* counters read at least once */
	uint64_t rx, tx;             /* at the last reading */
	uint64_t unanswered_ms;      /* 0, or the reading that first saw
				      * traffic go out with nothing back */
};

/* Feeds one reading of green's peer counters at now_ms (monotonic).
 * Returns 0 while green answers, else how long (ms, >= KG_WATCH_LOST_MS)
 * the client's traffic has gone unanswered. Pure: no I/O. */
uint64_t kg_green_watch_feed(struct kg_green_watch *w, uint64_t now_ms,
			     uint64_t rx, uint64_t tx);

#endif
