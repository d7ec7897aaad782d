/* SPDX-License-Identifier: MIT */
/*
 * The control server inside the daemon (ctrl_glue.c): start (-errno,
 * e set), stop, the ~100 ms tick. Its ops reach the session table, the
 * policy and the grants.
 */
#ifndef KG_GREEN_CTRL_GLUE_H
#define KG_GREEN_CTRL_GLUE_H

#include "gate.h"
#include "ctrl_server.h"

int gate_ctrl_start(struct green_gate *gt, struct kg_err *e);
void gate_ctrl_stop(struct green_gate *gt);
void gate_ctrl_tick(struct green_gate *gt);

/* The control server's ops that the monitor (ctrl_monitor.c) runs for
 * the worker under -P, as the server does in the single process; ctx is
 * the gate. See struct kg_ctrl_ops. */
int gate_ctrl_verify_cert(void *ctx, const uint8_t *der, size_t len,
			  void **cert, uint8_t spki[32], const char **reason);
int gate_ctrl_session_live(void *ctx, uint64_t id, struct kg_ctrl_live *out);
int gate_ctrl_open_service(void *ctx, uint64_t id, const char *user,
			   const char *service, struct kg_ctrl_grant *out,
			   uint16_t *code);

/* Tell a session's client: green ended it (code), red answered its
 * service request (g, or code), a grant moved. To the control server, or
 * under -P to the worker through the monitor. -ENOENT if no connection. */
int gate_ctrl_end_session(struct green_gate *gt, uint64_t id, uint16_t code);
int gate_ctrl_service_done(struct green_gate *gt, uint64_t id,
			   const char *service, const struct kg_ctrl_grant *g,
			   uint16_t code);
int gate_ctrl_push_moved(struct green_gate *gt, uint64_t id,
			 const char *service, const struct kg_ctrl_grant *g);

#endif
