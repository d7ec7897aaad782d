/* SPDX-License-Identifier: MIT */
/*
 * Session decisions applied (sessions_run.c): openings, WireGuard
 * peers, pending -> live, renewal, the peer poll and expiry. Kernel
 * errors are logged; -errno where returned.
 */
#ifndef KG_GREEN_SESSIONS_RUN_H
#define KG_GREEN_SESSIONS_RUN_H

#include "gate.h"

uint64_t gate_lease_ms(const struct green_gate *gt);
int64_t gate_now_ms(void);
/* The session table's src_seen hook: whether src sent a WireGuard packet
 * within the last lease (its wg_seen4/6 element is present); true also
 * when the kernel cannot be asked, so a slot is never freed on doubt. */
bool gate_src_seen(void *ctx, const struct kg_addr *src);
/* An accepted knock (or completed sequence) for user with peer key from
 * src: session table + one nft batch + WireGuard peer, all or nothing. */
int gate_open(struct green_gate *gt, struct kg_user *u, const uint8_t key[32],
	      const struct kg_addr *src, uint64_t t0_ns);
/* Removes what an ended session held (peer, elements) and logs it once;
 * grace: the peer goes GATE_PEER_GRACE_MS later. */
void gate_session_gone(struct green_gate *gt, const struct kg_session *s,
		       bool grace);
/* Ends session id for why: its openings are closed at once, its peer
 * GATE_PEER_GRACE_MS later so that what was just written to the control
 * connection still leaves. tell_client: green decided (revocation, a
 * removed user): the connection gets a CLOSE first; else the control
 * server ended it after writing its refusal. */
void gate_session_end(struct green_gate *gt, uint64_t id, enum kg_sess_end why,
		      bool tell_client);
/* Removes the peers whose grace is over (all: every one, at stop). */
void gate_peers_flush(struct green_gate *gt, bool all);
/* Pending -> live in nftables (peers_pending -> peers_live). */
int gate_make_live(struct green_gate *gt, const struct kg_session *s);
/* all: puts back every session's elements now (a new table). Else starts
 * a renewal round of the live sessions, done a slice a tick by
 * gate_housekeeping within a sixth of a lease. */
void gate_renew(struct green_gate *gt, bool all);
/* Frees the current round (at stop). */
void gate_renew_free(struct green_gate *gt);
/* Every tick: expiry of the sessions whose timer is due (liveness asked
 * of the kernel for those only), lease renewal every third of a lease. */
void gate_housekeeping(struct green_gate *gt);
/* Hooks the table's liveness question to the kernel (after kg_sess_init). */
void gate_liveness_init(struct green_gate *gt);

#endif
