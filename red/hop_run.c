/* SPDX-License-Identifier: MIT */
/*
 * Port hopping in the daemon: a freshly mapped grant of a hopping service
 * gets its first hop time; the hop timer moves every grant whose hop is
 * due (grants.c plans, apply.c changes nftables in one batch, grants.c
 * records) and pushes the new port to the grant's green, signed, through
 * the site link (docs/protocol.md, "Hop (red to green, pushed)").
 */
#include "red.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conntrack.h"
#include "hop.h"
#include "log.h"
#include "pki.h"
#include "time.h"

/* Sent twice: green applies a hop number once, and a hop lost both
 * times is corrected by the grant's next renewal. */
#define HOP_SENDS 2

static const struct kg_red_service *svc_of(const struct red *r,
					   const struct kg_grant *g)
{
	return kg_red_service_by_name(&r->cfg, g->service);
}

static const struct kg_red_green *green_of(const struct red *r,
					   const struct kg_grant *g)
{
	for (size_t i = 0; i < r->cfg.n_greens; i++)
		if (!strcmp(r->cfg.greens[i].id, g->green_id))
			return &r->cfg.greens[i];
	return NULL;
}

void red_hop_granted(struct red *r, const struct kg_sknock *k,
		     const struct kg_plan *p, uint16_t green_port)
{
	struct kg_grant *g = kg_grants_find(&r->st.grants, k->green_id,
					    k->session, k->service);
	const struct kg_red_service *s;
	uint32_t first;

	if (!g || !g->port)
		return;
	g->reply_port = green_port;
	s = svc_of(r, g);
	if (p->op != KG_PLAN_MAP || !s || !s->hop.on)
		return;
	if (kg_hop_interval(&s->hop, kg_hop_getrandom, NULL, &first) == 0)
		kg_grants_hop_start(&r->st.grants, g, kg_mono_ms(), first);
}

static int push(struct red *r, const struct kg_grant *g,
		const struct kg_hop_plan *hp)
{
	const struct kg_red_green *gr = green_of(r, g);
	uint8_t buf[KG_SK_PACKET_MAX], h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	struct sockaddr_storage ss = { 0 };
	struct kg_skhop m;
	size_t n, sn;
	socklen_t sl;
	int fd, rc;

	if (!gr || !g->reply_port)
		return -ENOENT;
	memset(&m, 0, sizeof(m));
	snprintf(m.red_id, sizeof(m.red_id), "%s", r->cfg.id);
	memcpy(m.green_id, g->green_id, sizeof(m.green_id));
	m.session = g->session;
	memcpy(m.service, g->service, sizeof(m.service));
	m.client = g->client;
	m.hop = hp->hop;
	/* red's site address in the client's family: the one green's
	 * forward grant names */
	m.addr = g->client.family != AF_INET6 ? r->cfg.site.address.a :
		 hp->addr.family == AF_INET6 ? hp->addr : r->cfg.site.address6.a;
	m.port = hp->port;
	m.old_port = hp->old_port;
	m.overlap_ms = hp->overlap_ms;
	m.timestamp = (uint64_t)kg_wall_s();
	for (size_t i = 0; i < g->n_held && i < KG_SK_HELD_MAX; i++)
		m.held[m.n_held++] = g->held[i];
	if ((rc = kg_skhop_encode_body(&m, buf, sizeof(buf), &n)))
		return rc;
	kg_sk_digest(buf, n, h);
	if ((rc = kg_hostkey_sign(r->key, h, sig, &sn)) ||
	    (rc = kg_sk_append_sig(buf, sizeof(buf), &n, sig, sn)))
		return rc;
	/* to the green's link address and answer port: inside the link */
	sl = kg_addr_to_sockaddr(&gr->link, g->reply_port, &ss);
	fd = socket(gr->link.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (struct sockaddr *)&ss, sl) < 0 ? -errno : 0;
	for (int i = 0; !rc && i < HOP_SENDS; i++)
		if (send(fd, buf, n, 0) != (ssize_t)n)
			rc = -errno;
	close(fd);
	return rc;
}

static void log_hop(const struct kg_grant *g, const struct kg_hop_plan *hp,
		    const char *result, const char *err)
{
	char c[KG_ADDR_STRLEN], port[8], old[8], hop[12], next[12], sess[17];
	char ad[KG_ADDR_STRLEN], oad[KG_ADDR_STRLEN];
	bool moved = hp->addr.family == AF_INET6 &&
		     !kg_addr_eq(&hp->addr, &hp->old_addr);

	snprintf(port, sizeof(port), "%u", hp->port);
	snprintf(old, sizeof(old), "%u", hp->old_port);
	snprintf(hop, sizeof(hop), "%" PRIu32, hp->hop);
	snprintf(next, sizeof(next), "%" PRIu32, hp->next_ms);
	snprintf(sess, sizeof(sess), "%016" PRIx64, g->session);
	kg_log_event(err ? KG_LOG_WARNING : KG_LOG_INFO, "hop", "result", result,
		     "green", g->green_id, "service", g->service, "session", sess,
		     "client", kg_addr_str(&g->client, c), "port", port,
		     "old_port", old, "hop", hop, "next_ms", next,
		     /* only when the address moved (shuffling) */
		     "addr", moved ? kg_addr_str(&hp->addr, ad) : NULL,
		     "old_addr", moved ? kg_addr_str(&hp->old_addr, oad) : NULL,
		     "error", err);
}

static void hop_one(struct red *r, size_t i, int64_t now_ms)
{
	struct kg_grant *g = &r->st.grants.g[i];
	const struct kg_red_service *s = svc_of(r, g);
	struct kg_err e = { "" };
	struct kg_hop_plan hp = { 0 };
	int rc;

	if (!s || !s->hop.on) {
		g->hop_due_ms = 0;
		return;
	}
	rc = kg_grants_hop_plan(&r->st.grants, i, &s->hop, kg_hop_getrandom,
				NULL, now_ms, kg_mono_s(), &hp);
	if (rc == -ENOENT)
		return;
	if (rc) {
		/* stay where it is; try again after an interval */
		uint32_t again = s->hop.n_intervals ? s->hop.intervals[0]
						    : s->hop.interval_min;

		g->hop_due_ms = now_ms + again;
		hp.port = g->port;
		hp.old_port = g->port;
		log_hop(g, &hp, "stayed", strerror(-rc));
		return;
	}
	/* IPv6 grants: the address hops too (shuffling), inside the
	 * service's prefix, never the one just left; a failed draw keeps
	 * it (the port still hops) */
	if (g->client.family == AF_INET6) {
		if (hp.old_addr.family != AF_INET6)
			hp.old_addr = hp.addr = r->cfg.site.address6.a;
		if (s->hop.shuffle &&
		    (rc = kg_hop_addr(&s->hop.prefix, &hp.old_addr,
				      kg_hop_getrandom, NULL, &hp.addr))) {
			hp.addr = hp.old_addr;
			kg_log(KG_LOG_WARNING, "hop: address draw: %s",
			       strerror(-rc));
		}
	}
	if ((rc = red_apply_hop(r, &hp, &e))) {
		g->hop_due_ms = now_ms + hp.next_ms;
		log_hop(g, &hp, "error", e.msg[0] ? e.msg : strerror(-rc));
		return;
	}
	kg_grants_hop_commit(&r->st.grants, &hp, now_ms);
	rc = push(r, g, &hp);
	log_hop(g, &hp, "moved", rc ? strerror(-rc) : NULL);
}

/* Only the grants whose hop is due (the hop timers' heap): a tick with
 * none due costs the same whatever the number of grants. */
void red_hop_tick(struct red *r)
{
	int64_t now = kg_mono_ms();
	ptrdiff_t i;

	while ((i = kg_grants_hop_next(&r->st.grants, now)) >= 0) {
		hop_one(r, (size_t)i, now);
		/* moved on, stopped, or (lease just over) the next tick */
		kg_grants_hop_sync(&r->st.grants, (size_t)i, now);
	}
}

static void seen(const struct kg_addr *src, uint16_t dport, void *arg)
{
	kg_grants_held_seen(arg, src, dport);
}

static void unheld(const struct kg_grant *g, uint16_t port, void *arg)
{
	red_apply_unhold(arg, &g->client, port);
}

void red_hop_prune(struct red *r)
{
	int64_t now = kg_mono_ms();
	int rc;

	/* only the grants whose prune timer is due; none, no dump */
	if (!kg_grants_held_due(&r->st.grants, now))
		return;
	/* one dump for all of them; on an error nothing is pruned
	 * (keeping a port too long costs nothing, dropping one cuts a flow) */
	rc = kg_ct_each_flow(seen, &r->st.grants);
	if (rc) {
		kg_grants_held_abandon(&r->st.grants, now);
		kg_log(KG_LOG_WARNING, "hop: conntrack dump: %s", strerror(-rc));
		return;
	}
	kg_grants_held_prune(&r->st.grants, now, unheld, r);
}
