/* SPDX-License-Identifier: MIT */
/*
 * A stable local port per service (`knockgate connect web=8080`, or
 * `--forward web=127.0.0.1:8080`, or the profile's [forward] section):
 * the connect process listens on ADDR:PORT and forwards each new
 * connection to the service's current place (kg_grant_target, so a
 * MOVED push or a hop is followed by the next connection), while every
 * connection already open stays on the upstream connection it has: red
 * keeps the ports a grant held for established flows for the whole
 * lease. One thread, one poll loop, no allocation per byte.
 */
#ifndef KG_CLIENT_FORWARD_H
#define KG_CLIENT_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ctrl.h"
#include "err.h"

#define KG_FWD_MAX 16             /* forwarded services */
#define KG_FWD_MAX_CONNS 128      /* open connections, all services */

struct kg_fwd_spec {
	char service[KG_CTRL_MAX_NAME + 1];
	struct kg_addr addr;          /* where to listen; 127.0.0.1 by default */
	uint16_t port;
};

/* "SERVICE=[ADDR:]PORT" (ADDR an IPv4 address, or [IPv6]). 1 if s has
 * no '=' (a plain service name, *out untouched), 0 if parsed, -EINVAL
 * with e saying why. */
int kg_fwd_spec_parse(const char *s, struct kg_fwd_spec *out, struct kg_err *e);
/* The same for a profile's "[forward] SERVICE = [ADDR:]PORT" value. */
int kg_fwd_spec_value(const char *service, const char *value,
		      struct kg_fwd_spec *out, struct kg_err *e);

struct kg_forwarder;
/* Binds and listens on every spec (so a port in use fails here, before
 * anything is asked of green). *out owned by the caller (kg_fwd_stop).
 * 0 or -errno with e set. */
int kg_fwd_listen(struct kg_forwarder **out, const struct kg_fwd_spec *specs,
		  size_t n, struct kg_err *e);
/* Starts the forwarding thread (after any fork: threads do not survive
 * one); a second call while it runs does nothing (a failover keeps the
 * same forwarder). 0 or -errno. Each new connection prints one line on stdout:
 * "forward SERVICE: connection N from A:P to RED:PORT". */
int kg_fwd_start(struct kg_forwarder *f);
/* Stops the thread, closes every connection and listener, frees f.
 * NULL is fine. */
void kg_fwd_stop(struct kg_forwarder *f);

#endif
