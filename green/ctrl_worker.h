/* SPDX-License-Identifier: MIT */
/*
 * Green's control port under -P, the worker's half (ctrl_worker.c): the
 * control server (ctrl_server.c) over the listener the monitor handed
 * down, in remote mode: connections, frames and their parsing are here;
 * every check and decision is the monitor's (ctrl_monitor.c), asked
 * through lib/priv. docs/privsep.md.
 */
#ifndef KG_GREEN_CTRL_WORKER_H
#define KG_GREEN_CTRL_WORKER_H

#include <stdint.h>

#include "err.h"
#include "evloop.h"
#include "priv.h"

struct green;
struct green_ctrl_worker;

/* One request and its answer (views in a point into buf, which holds
 * KG_PRIV_FRAME_MAX bytes): the answer's status (0, or a positive errno)
 * or a negative errno when the monitor is gone. */
typedef int (*green_ask_fn)(void *ctx, const struct kg_priv_req *q,
			    struct kg_priv_ans *a, uint8_t *buf);

/* Before the drop (it creates an epoll set): a control server over
 * listen_fd (owned from here) in loop. *out freed with
 * green_ctrl_worker_free. 0 or -errno with e set. */
int green_ctrl_worker_start(struct green_ctrl_worker **out,
			    const struct green *g, int listen_fd,
			    struct kg_evloop *loop, green_ask_fn ask,
			    void *ask_ctx, struct kg_err *e);
/* An unasked message of the monitor (a->async set). */
void green_ctrl_worker_async(struct green_ctrl_worker *cw,
			     const struct kg_priv_ans *a);
void green_ctrl_worker_free(struct green_ctrl_worker *cw);

#endif
