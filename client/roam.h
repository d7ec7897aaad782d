/* SPDX-License-Identifier: MIT */
/*
 * NAT and roaming (docs/architecture.md "NAT and roaming"): while a
 * session is live, `knockgate connect` watches the tunnel and knocks
 * again when it stalls.
 * Every KG_ROAM_CHECK_MS it reads green's last handshake on the tunnel
 * (lib/wg.h) and the local source address towards green. The handshake
 * is stalled when older than the threshold: the client keeps alive every
 * 25 s and rekeys at WireGuard's REKEY_AFTER_TIME (120 s) on the next
 * send, so a healthy tunnel never shows a handshake older than about
 * 145 s; the default threshold is 150 s (env KG_STALL_SECS overrides it,
 * for tests). While stalled, or after the source address changed until
 * green answers from the new one, it sends a fresh knock (new timestamp
 * and nonce, the tunnel's own public key) at most every KG_ROAM_KNOCK_MS:
 * green adds the new source to the live session's opening without
 * replacing its peer. With each such knock the tunnel's endpoint for
 * green is set again (wireguard-go otherwise keeps sending from a source
 * address it remembered, which may be gone) and, a moment later, one
 * packet goes into the tunnel so the path is tried at once rather than
 * at the next keepalive. No keys are printed.
 */
#ifndef KG_CLIENT_ROAM_H
#define KG_CLIENT_ROAM_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "profile.h"
#include "tunnel.h"

#define KG_ROAM_CHECK_MS 2000
#define KG_ROAM_KNOCK_MS 5000
#define KG_ROAM_STALL_S 150
#define KG_ROAM_MOVED_KNOCKS 6   /* knocks after a source change at most */

struct kg_roam {
	const struct kg_profile *p;
	const struct kg_tunnel *t;
	bool verbose;
	unsigned stall_s;
	uint64_t next_check_ms, last_knock_ms;
	bool have_src;
	struct kg_addr src;           /* local source towards green */
	int moved_knocks;             /* left to send after a source change */
	uint64_t moved_rx;            /* rx bytes when the source changed */
	unsigned knocks;              /* sent so far (for messages) */
	uint64_t nudge_ms;            /* 0, or when to send into the tunnel */
};

/* Reads KG_STALL_SECS; p and t must outlive r. */
void kg_roam_init(struct kg_roam *r, const struct kg_profile *p,
		  const struct kg_tunnel *t, bool verbose);
/* Call often (each serve slice); does something every KG_ROAM_CHECK_MS.
 * Failures (a knock that cannot be sent, an unreadable interface) are
 * reported with -v and retried on the next check: never fatal. */
void kg_roam_tick(struct kg_roam *r);

#endif
