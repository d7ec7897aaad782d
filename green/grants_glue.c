/* SPDX-License-Identifier: MIT */
/*
 * Grants wired into the daemon: the control server's service request
 * reaches green_grants_open directly (ctrl_glue.c, op_open_service, which
 * checks the policy); red's answer completes the request
 * through kg_ctrl_server_service_done; a session gone from the session
 * table loses its grants in the same step (gate_session_gone calls
 * green_grants_end_session), the grants' tick (alive) being the backstop.
 */
#include "ctrl_glue.h"
#include "ctrl_server.h"
#include "grants.h"
#include "grants_glue.h"
#include "gate.h"
#include "green.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

static void done(void *ctx, uint64_t session, const char *service,
		 const struct kg_ctrl_grant *grant, uint16_t code)
{
	struct green *g = ctx;

	if (g->gate)
		gate_ctrl_service_done(g->gate, session, service, grant, code);
}

/* Red moved a live grant (it restarted and granted the renewal afresh):
 * the client is told at once (MOVED) and re-routes. */
static void moved(void *ctx, uint64_t session, const char *service,
		  const struct kg_ctrl_grant *grant)
{
	struct green *g = ctx;
	char s[24], p[8];
	int r = g->gate ? gate_ctrl_push_moved(g->gate, session, service,
					       grant) : -ENOENT;

	snprintf(s, sizeof(s), "%016" PRIx64, session);
	snprintf(p, sizeof(p), "%u", grant->port);
	kg_log_event(KG_LOG_NOTICE, "service", "result", "moved", "reason",
		     r ? "client_not_connected" : "told_client", "session", s,
		     "service", service, "port", p);
}

static bool alive(void *ctx, uint64_t session)
{
	struct green *g = ctx;

	return g->gate && kg_sess_by_id(&g->gate->sess, session) != NULL;
}

int green_grants_start(struct green *g, struct kg_err *e)
{
	struct green_grants_cb cb = { g, done, moved, alive };
	int r;

	if (!g->conf.site.enabled)
		return 0;
	r = green_grants_new(&g->grants, &g->conf.site,
			     g->gate ? g->gate->ifname : g->conf.wg_interface,
			     g->nft, g->loop, &cb, e);
	return r;
}

void green_grants_reload(struct green *g, bool table_replaced)
{
	if (table_replaced)
		green_grants_restore(g->grants);
}

void green_grants_stop(struct green *g)
{
	green_grants_free(g->grants);
	g->grants = NULL;
}
