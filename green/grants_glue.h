/* SPDX-License-Identifier: MIT */
/*
 * The grants inside the daemon (grants_glue.c): red's answers back to the
 * control server, a session's end to its grants.
 */
#ifndef KG_GREEN_GRANTS_GLUE_H
#define KG_GREEN_GRANTS_GLUE_H

#include <stdbool.h>

#include "err.h"

/* start: after green_gate_start; nothing when [site] is absent. 0 or
 * -errno with e set. reload: after the gate's. stop: before the gate's
 * (close knocks while the table is there). */
struct green;
int green_grants_start(struct green *g, struct kg_err *e);
void green_grants_reload(struct green *g, bool table_replaced);
void green_grants_stop(struct green *g);

#endif
