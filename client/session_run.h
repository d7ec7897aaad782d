/* SPDX-License-Identifier: MIT */
/*
 * Step iii of `knockgate connect`, once the tunnel is up: set WireGuard's
 * persistent keepalive, connect to green's control port over the tunnel,
 * prove the card (kg_ctrl_client_auth with the card as signer), publish
 * the session for `status`/`close` (session_info.h) and serve it: answer
 * green's reproof requests, knock again when the tunnel's handshakes
 * stall or the source address changes (roam.h), and end it when the card
 * leaves the reader, on SIGINT/SIGTERM/SIGHUP (what `close` sends) or
 * when green ends it.
 * Closing the control connection ends the session on green, so this
 * process must stay alive for as long as the session should.
 */
#ifndef KG_CLIENT_SESSION_RUN_H
#define KG_CLIENT_SESSION_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "card_auth.h"
#include "ctrl_client.h"
#include "err.h"
#include "green_watch.h"
#include "profile.h"
#include "roam.h"
#include "tunnel.h"

#define KG_KEEPALIVE_S 25     /* under green's peer_silent horizon */

struct kg_run_opts {
	bool verbose;             /* each step on stderr */
	bool background;          /* detach after the proof */
	bool ignore_removal;      /* test only: keep the session when the card
				   * goes, so green's reproof has to catch it */
	int io_timeout_ms;        /* per control message (10000) */
};

struct kg_session {
	int fd;                   /* control connection, -1 when closed */
	struct kg_ctrl_client c;
	struct kg_ctrl_session_info info;
	long proof_ms;            /* card proof as seen by the client */
	struct kg_roam roam;      /* knocks again when the tunnel stalls */
	bool watch_green;         /* the profile has another green to go to */
	struct kg_green_watch watch;
};

/* Keepalive, control connection and card proof. On 0 s is a live session
 * (close it with kg_session_end); on error nothing is left open but the
 * tunnel (the caller's), and e says why: -EACCES green refused (reason
 * in e, code in s->c.code), -ETIMEDOUT, -ECONNREFUSED, card errors. */
int kg_session_open(struct kg_session *s, const struct kg_profile *p,
		    const struct kg_tunnel *t, struct kg_card_auth *card,
		    const struct kg_run_opts *o, struct kg_err *e);

/* Prints the session (id, user, services, proof time) on stdout. */
void kg_session_print(const struct kg_session *s, const struct kg_profile *p,
		      const struct kg_tunnel *t);

/* Serves the session until it ends; e says how. 0 when the user ended it
 * (signal, `close`, card removed), -ECONNRESET when green ended it
 * (s->c.code), -EHOSTDOWN when green stopped answering the user's
 * traffic (green_watch.h; only with several greens in the profile: the
 * caller moves to the next), other -errno on failures. Signals are
 * installed here. */
int kg_session_serve(struct kg_session *s, struct kg_card_auth *card,
		     const struct kg_run_opts *o, struct kg_err *e);

/* Tells green the session ends (if still connected) and closes the
 * connection. Idempotent. */
void kg_session_end(struct kg_session *s);

/* Installs SIGINT/SIGTERM/SIGHUP handlers that make serve return and
 * make blocking steps give up: call before the first step. */
void kg_session_signals(void);
/* True once one of those signals arrived. */
bool kg_session_stopping(void);

#endif
