/* SPDX-License-Identifier: MIT */
/*
 * Green split in two under -P (docs/privsep.md): monitor.c (the
 * privileged half, this process) and worker.c (the forked unprivileged
 * half that reads the NFLOG groups).
 */
#ifndef KG_GREEN_PRIVSEP_H
#define KG_GREEN_PRIVSEP_H

#include "err.h"

struct green;

/* After start() (table, NFLOG, IPS, gate, grants, wireguard-go up): forks
 * the worker, hands it the NFLOG socket and the IPS (freed here), keeps
 * only CAP_NET_ADMIN and watches the worker's socket. -errno with e set
 * is fatal (the caller goes dark). */
int green_monitor_start(struct green *g, struct kg_err *e);
/* Closes the worker's socket (its loop ends) and reaps it (at most 2 s).
 * NULL-safe on a monitor that never started. */
void green_monitor_stop(struct green *g);
/* The forked child: frees what it must not hold, drops (lib/priv) and
 * runs its loop over the NFLOG socket; never returns. */
void green_worker_main(struct green *g, int sock) __attribute__((noreturn));

#endif
