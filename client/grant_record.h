/* SPDX-License-Identifier: MIT */
/*
 * The connect process's record of where each granted service is now:
 * set from green's GRANT and every MOVED push (a restarted red, a hop),
 * read by the local forwarder (forward.c) for each new connection. Any
 * code that learns a new place (e.g. a failover to another green) sets
 * it here and the forwarder follows. Thread-safe (one mutex): the
 * forwarder runs in its own thread.
 */
#ifndef KG_CLIENT_GRANT_RECORD_H
#define KG_CLIENT_GRANT_RECORD_H

#include <stdint.h>

#include "addr.h"
#include "ctrl.h"

#define KG_GRANT_RECORD_MAX 64

/* Records (or replaces) service's place. 0, -ENOSPC if the table is full,
 * -EINVAL for a name longer than KG_CTRL_MAX_NAME. Copies everything. */
int kg_grant_record_set(const char *service, const struct kg_ctrl_grant *g);
/* The lookup: service's current address and port. 0, or -ENOENT if it
 * was never granted. */
int kg_grant_target(const char *service, struct kg_addr *addr, uint16_t *port);
/* Forgets every service (the session ended). */
void kg_grant_record_clear(void);

#endif
