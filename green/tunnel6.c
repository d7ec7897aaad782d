/* SPDX-License-Identifier: MIT */
/*
 * IPv6 tunnel addresses beside the IPv4 ones (gate.h). A user record's
 * tunnel_address6 counts only inside green's tunnel_prefix6; a grant goes
 * over IPv6 when the user, green and the red all have it, so a dual-stack
 * client reaches red's services over IPv6 and everything else as before.
 */
#include "gate.h"

#include <sys/socket.h>

const struct kg_addr *gate_tunnel6(const struct green_gate *gt,
				   const struct kg_user *u)
{
	const struct kg_prefix *p = &gt->g->conf.tunnel_prefix6;

	if (!u || p->a.family != AF_INET6 || u->tunnel6.family != AF_INET6 ||
	    !kg_prefix_contains(p, &u->tunnel6))
		return NULL;
	return &u->tunnel6;
}

const struct kg_addr *gate_grant_client(const struct green_gate *gt,
					const struct kg_session *s,
					const char *red_id)
{
	const struct green_red *red;
	const struct kg_addr *t6;

	if (gt->g->conf.tunnel_prefix6.a.family != AF_INET6)
		return &s->tunnel;
	red = green_site_red(&gt->g->conf.site, red_id);
	if (!red || red->site_address6.family != AF_INET6)
		return &s->tunnel;
	t6 = gate_tunnel6(gt, kg_users_find(&gt->users, s->user));
	return t6 ? t6 : &s->tunnel;
}
