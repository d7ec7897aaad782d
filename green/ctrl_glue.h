/* SPDX-License-Identifier: MIT */
/*
 * The control server inside the daemon (ctrl_glue.c): start (-errno,
 * e set), stop, the ~100 ms tick. Its ops reach the session table, the
 * policy and the grants.
 */
#ifndef KG_GREEN_CTRL_GLUE_H
#define KG_GREEN_CTRL_GLUE_H

#include "gate.h"

int gate_ctrl_start(struct green_gate *gt, struct kg_err *e);
void gate_ctrl_stop(struct green_gate *gt);
void gate_ctrl_tick(struct green_gate *gt);

#endif
