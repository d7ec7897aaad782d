/* SPDX-License-Identifier: MIT */
/*
 * Step iv of `knockgate connect --profile DIR SERVICE`: once the card is
 * proved, ask green for the service (the card signs the request), make
 * the granted address reachable through the tunnel (green's peer gets it
 * in its allowed-ips, a host route via the tunnel interface) and say where
 * the service is and until when.
 */
#ifndef KG_CLIENT_SERVICE_H
#define KG_CLIENT_SERVICE_H

#include <stdbool.h>
#include <stdio.h>

#include "ctrl_client.h"
#include "err.h"
#include "profile.h"
#include "tunnel.h"

struct kg_service_grant {
	char service[KG_CTRL_MAX_NAME + 1];
	struct kg_ctrl_grant g;
	long request_ms;          /* request sent -> grant received */
};

/* Requests service over c and routes the answer's address through t.
 * 0 with *out filled; -EACCES green refused (c->code says why, e too),
 * other -errno as kg_ctrl_client_request or of the route. */
int kg_service_open(struct kg_ctrl_client *c, const struct kg_profile *p,
		    const struct kg_tunnel *t, const char *service,
		    struct kg_service_grant *out, struct kg_err *e);
/* A grant moved (green told us a new port): the route stays, the new
 * address is routed too. 0 or -errno. */
int kg_service_route(const struct kg_profile *p, const struct kg_tunnel *t,
		     const struct kg_ctrl_grant *g);
/* "service web at 10.89.0.2:40123 until 2026-11-22T03:10:00Z (lease 60 s)" */
void kg_service_print(FILE *f, const struct kg_service_grant *s);
/* Follows MOVED pushes on c: prints "service X moved to A:P until T" and
 * routes the new address. ctx must outlive c's use. */
struct kg_service_follow {
	const struct kg_profile *p;
	const struct kg_tunnel *t;
};
void kg_service_follow(struct kg_ctrl_client *c, struct kg_service_follow *ctx);

/* The connect command's step iv: open, route, print on stdout (and the
 * step on stderr when verbose). Exit status: 0, or 1 with the reason on
 * stderr. */
int kg_service_step(struct kg_ctrl_client *c, const struct kg_profile *p,
		    const struct kg_tunnel *t, const char *service,
		    bool verbose);

#endif
