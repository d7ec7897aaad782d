/* SPDX-License-Identifier: MIT */
/*
 * Green's control port under -P, the monitor's half (ctrl_monitor.c):
 * the worker reads the connections and parses the frames; the monitor
 * looks the session up by the connection's tunnel address, holds the
 * client's certificate, issues every challenge and service nonce, checks
 * each signature over its own record of the session, checks the policy
 * once and grants. docs/privsep.md.
 */
#ifndef KG_GREEN_CTRL_MONITOR_H
#define KG_GREEN_CTRL_MONITOR_H

#include <stdint.h>

#include "ctrl.h"
#include "priv.h"

struct green;

/* One control request (types KG_PRIV_REQ_CTRL_*), already decoded by
 * lib/priv: checked, decided, logged when refused, answered. */
void green_ctrl_monitor_request(struct green *g, const struct kg_priv_req *q);

/* Unasked messages to the worker: green ended session id (code), red
 * answered its service request (gr or code; a fresh nonce issued here),
 * a grant moved. 0, -ENOENT (no connection known for id) or -errno of
 * the send. */
int green_ctrl_monitor_end(struct green *g, uint64_t id, uint16_t code);
int green_ctrl_monitor_service_done(struct green *g, uint64_t id,
				    const char *service,
				    const struct kg_ctrl_grant *gr,
				    uint16_t code);
int green_ctrl_monitor_moved(struct green *g, uint64_t id, const char *service,
			     const struct kg_ctrl_grant *gr);

/* Frees every connection's state (certificates). NULL-safe state. */
void green_ctrl_monitor_free(struct green *g);

#endif
