/* SPDX-License-Identifier: MIT */
/*
 * The small request interface to the kernel (OpenSSH's monitor model):
 * map, extend, unmap a grant; ban, unban. Everything it is given was
 * already decided by check.c/grants.c from authenticated input.
 */
#include "red.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conntrack.h"
#include "ips.h"
#include "log.h"
#include "nft.h"
#include "rules.h"

/* client . port (held4/6, grants4, allowed4), or client . daddr . port
 * (grants6, allowed6: an IPv6 grant's address may be shuffled) when
 * daddr is given. */
static int grant_key(struct kg_nft_key *k, const struct kg_addr *client,
		     const struct kg_addr *daddr, uint16_t port)
{
	kg_nft_key_init(k);
	if (client->family != AF_INET && client->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (daddr && daddr->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (kg_nft_key_put(k, client->b, kg_addr_len(client)) ||
	    (daddr && kg_nft_key_put(k, daddr->b, 16)) ||
	    kg_nft_key_put_port(k, port))
		return -EMSGSIZE;
	return 0;
}

/* The destination part of an IPv6 grant's key: its shuffled address, or
 * red's site address6; NULL for an IPv4 client. */
static const struct kg_addr *dst(const struct red *r,
				 const struct kg_addr *client,
				 const struct kg_addr *daddr)
{
	if (client->family != AF_INET6)
		return NULL;
	return daddr->family == AF_INET6 ? daddr : &r->cfg.site.address6.a;
}

static int refresh(struct kg_nft_batch *b, const char *set,
		   const struct kg_addr *client, const struct kg_addr *daddr,
		   uint16_t port, const uint8_t *data, size_t data_len,
		   uint64_t ms)
{
	struct kg_nft_key k;
	int rc = grant_key(&k, client, daddr, port);

	return rc ? rc : kg_nft_batch_refresh(b, set, k.b, k.len, data, data_len,
					      ms);
}

/* The held set of the client's family: held4 or held6. */
static const char *held_set(const struct kg_addr *client)
{
	return client->family == AF_INET6 ? KG_RED_SET_HELD6 : KG_RED_SET_HELD;
}

/* Every port the grant held out of held4/6, and out of grants4/6 and
 * allowed4/6 too (a port left less than hop_overlap ago is still there),
 * one element a batch so a missing one (timed out) cannot abort the
 * others. skip: a port left alone (0: none), the one the unmap batch
 * already took out. */
static void held_delete(struct red *r, const struct kg_addr *client,
			const struct kg_addr *daddr, const uint16_t *held,
			size_t n, uint16_t skip)
{
	static const char *const sets4[] = { KG_RED_SET_HELD, KG_RED_SET_GRANTS,
					     KG_RED_SET_ALLOWED };
	static const char *const sets6[] = { KG_RED_SET_HELD6, KG_RED_SET_GRANTS6,
					     KG_RED_SET_ALLOWED6 };
	const char *const *sets = client->family == AF_INET6 ? sets6 : sets4;
	size_t n_sets = 3;
	struct kg_nft_batch *b;
	struct kg_nft_key k;
	struct kg_err e = { "" };

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; held[i] != skip && j < n_sets; j++) {
			/* sets[0] is held4/6: client . port */
			if (grant_key(&k, client, j ? daddr : NULL, held[i]) ||
			    !(b = kg_nft_batch_new(r->nft)))
				continue;
			if (kg_nft_batch_elem(b, false, sets[j], k.b, k.len, NULL,
					      0, 0) == 0)
				kg_nft_batch_send(b, &e);
			kg_nft_batch_free(b);
		}
}

/* The elements in one batch: the redirect, the per-packet allow for new
 * connections, and held4/6 for established ones (on a renewal every port
 * the grant held, so a flow on a port it hopped off lives as long as the
 * lease). A map or a renewal refreshes them (present afterwards with the
 * whole lease, whether they existed, had just timed out, or never were);
 * an unmap deletes them. */
static int batch_grant(struct red *r, const struct kg_plan *p, bool add,
		       struct kg_err *e)
{
	uint8_t real[2] = { (uint8_t)(p->real_port >> 8), (uint8_t)p->real_port };
	uint64_t ms = 0;
	struct kg_nft_batch *b;
	struct kg_nft_key k, hk;
	const struct kg_addr *da = dst(r, &p->client, &p->daddr);
	int rc = grant_key(&k, &p->client, da, p->port);
	bool v6 = p->client.family == AF_INET6;
	const char *map = v6 ? KG_RED_SET_GRANTS6 : KG_RED_SET_GRANTS;
	const char *set = v6 ? KG_RED_SET_ALLOWED6 : KG_RED_SET_ALLOWED;
	const char *held = held_set(&p->client);

	if (rc || (rc = grant_key(&hk, &p->client, NULL, p->port)))
		return rc;
	b = kg_nft_batch_new(r->nft);
	if (!b)
		return -ENOMEM;
	if (add) {
		ms = (uint64_t)p->answer.lease * 1000;
		if ((rc = kg_nft_batch_refresh(b, map, k.b, k.len,
					       real, 2, ms)) ||
		    (rc = kg_nft_batch_refresh(b, set, k.b, k.len,
					       NULL, 0, ms)))
			goto out;
		/* held4/6 for established flows, every port the grant held */
		if ((rc = kg_nft_batch_refresh(b, held, hk.b, hk.len,
					       NULL, 0, ms)))
			goto out;
		for (size_t i = 0; i < p->n_held; i++)
			if (p->held[i] != p->port &&
			    (rc = refresh(b, held, &p->client, NULL,
					  p->held[i], NULL, 0, ms)))
				goto out;
	} else if ((rc = kg_nft_batch_elem(b, false, map, k.b,
					   k.len, NULL, 0, 0)) ||
		   (rc = kg_nft_batch_elem(b, false, set, k.b,
					   k.len, NULL, 0, 0)) ||
		   (rc = kg_nft_batch_elem(b, false, held,
					   hk.b, hk.len, NULL, 0, 0))) {
		goto out;
	}
	rc = kg_nft_batch_send(b, e);
out:
	kg_nft_batch_free(b);
	return rc;
}

void red_cut_flush(struct red *r)
{
	unsigned n[KG_RED_CUT_Q];
	int rc;

	if (!r->n_cut)
		return;
	rc = kg_ct_cut_many(r->cut_q, r->n_cut, n);
	for (size_t i = 0; i < r->n_cut; i++) {
		char a[KG_ADDR_STRLEN], ps[8], ns[12];

		snprintf(ps, sizeof(ps), "%u", r->cut_q[i].port);
		snprintf(ns, sizeof(ns), "%u", n[i]);
		kg_log_event(rc ? KG_LOG_ERR : KG_LOG_INFO, "conntrack", "client",
			     kg_addr_str(&r->cut_q[i].client, a), "port", ps,
			     "result", rc ? "error" : "cut", "flows", ns,
			     "error", rc ? strerror(-rc) : NULL);
	}
	r->n_cut = 0;
}

/* Queued for the next flush (red_cut_flush, every RED_CUT_MS and at
 * stop): each dump costs a walk of the kernel's whole conntrack hash,
 * whatever it returns, so the closes of one flush share one. A full
 * queue is flushed at once. */
static void cut(struct red *r, const struct kg_addr *client, uint16_t port)
{
	if (r->n_cut == KG_RED_CUT_Q)
		red_cut_flush(r);
	r->cut_q[r->n_cut++] = (struct kg_ct_pair){ .client = *client,
						    .port = port };
}

/* Every port the grant held (the current one among them), queued. */
static void cut_held(struct red *r, const struct kg_addr *client,
		     uint16_t port, const uint16_t *held, size_t n_held)
{
	cut(r, client, port);
	for (size_t i = 0; i < n_held && i < KG_GRANT_HELD_MAX; i++)
		if (held[i] != port)
			cut(r, client, held[i]);
}

int red_apply(struct red *r, const struct kg_plan *p, struct kg_err *e)
{
	int rc;

	switch (p->op) {
	case KG_PLAN_MAP:
	case KG_PLAN_EXTEND:
		return batch_grant(r, p, true, e);
	case KG_PLAN_UNMAP:
		/* the current port's three elements in one batch; the ports
		 * hopped off one by one (any may have timed out), and the
		 * current one too if the batch found one gone */
		rc = batch_grant(r, p, false, e);
		if (rc == -ENOENT) {
			held_delete(r, &p->client, dst(r, &p->client, &p->daddr),
				    &p->port, 1, 0);
			rc = 0;
		}
		if (rc == 0) {
			held_delete(r, &p->client, dst(r, &p->client, &p->daddr),
				    p->held, p->n_held, p->port);
			cut_held(r, &p->client, p->port, p->held, p->n_held);
		}
		return rc;
	default:
		return 0;
	}
}

void red_lease_ended(const struct kg_grant *g, void *arg)
{
	char a[KG_ADDR_STRLEN], ps[8];

	snprintf(ps, sizeof(ps), "%u", g->port);
	kg_log_event(KG_LOG_NOTICE, "lease", "result", "ended", "green",
		     g->green_id, "service", g->service, "client",
		     kg_addr_str(&g->client, a), "port", ps);
	cut_held(arg, &g->client, g->port, g->held, g->n_held);
}

void red_apply_unhold(struct red *r, const struct kg_addr *client,
		      uint16_t port)
{
	struct kg_nft_key k;
	struct kg_err e = { "" };

	if (grant_key(&k, client, NULL, port) == 0)
		kg_nft_elem(r->nft, false, held_set(client), k.b, k.len, 0, &e);
}

int red_apply_hop(struct red *r, const struct kg_hop_plan *hp,
		  struct kg_err *e)
{
	uint8_t real[2] = { (uint8_t)(hp->real_port >> 8), (uint8_t)hp->real_port };
	uint64_t lease = hp->lease_ms, ov = hp->overlap_ms;
	bool v6 = hp->client.family == AF_INET6;
	const char *map = v6 ? KG_RED_SET_GRANTS6 : KG_RED_SET_GRANTS;
	const char *set = v6 ? KG_RED_SET_ALLOWED6 : KG_RED_SET_ALLOWED;
	const char *held = held_set(&hp->client);
	const struct kg_addr *na = dst(r, &hp->client, &hp->addr);
	const struct kg_addr *oa = dst(r, &hp->client, &hp->old_addr);
	struct kg_nft_batch *b = kg_nft_batch_new(r->nft);
	int rc;

	if (!b)
		return -ENOMEM;
	/* The new port for the rest of the lease; the old one takes new
	 * connections for the overlap only (its held4/6 element stays, with
	 * the lease, for the flows already on it). One transaction. */
	if (ov > lease)
		ov = lease;
	/* an IPv6 grant's new and old places may differ in address too */
	if (!(rc = refresh(b, map, &hp->client, na, hp->port, real, 2, lease)) &&
	    !(rc = refresh(b, set, &hp->client, na, hp->port, NULL, 0, lease)) &&
	    !(rc = refresh(b, held, &hp->client, NULL, hp->port, NULL, 0, lease)) &&
	    !(rc = refresh(b, map, &hp->client, oa, hp->old_port, real, 2, ov)) &&
	    !(rc = refresh(b, set, &hp->client, oa, hp->old_port, NULL, 0, ov)))
		rc = kg_nft_batch_send(b, e);
	kg_nft_batch_free(b);
	return rc;
}

int red_ban(void *ctx, const struct kg_addr *key, unsigned seconds)
{
	struct red *r = ctx;
	struct kg_err e = { "" };
	int rc = kg_nft_elem(r->nft, true, key->family == AF_INET ?
			     KG_RED_SET_BANNED4 : KG_RED_SET_BANNED6, key->b,
			     kg_addr_len(key), (uint64_t)seconds * 1000, &e);

	if (rc)
		kg_log(KG_LOG_ERR, "ban: %s", e.msg);
	return rc;
}

int red_unban(void *ctx, const struct kg_addr *key)
{
	struct red *r = ctx;
	struct kg_err e = { "" };
	int rc = kg_nft_elem(r->nft, false, key->family == AF_INET ?
			     KG_RED_SET_BANNED4 : KG_RED_SET_BANNED6, key->b,
			     kg_addr_len(key), 0, &e);

	if (rc && rc != -ENOENT)
		kg_log(KG_LOG_ERR, "unban: %s", e.msg);
	return rc;
}

/* A client with a live grant is never banned (docs/architecture.md "Bans
 * that cannot hit the wrong target"). */
bool red_exempt(void *ctx, const struct kg_addr *src)
{
	const struct red *r = ctx;

	/* Asked of the ban key (an IPv6 source's /64), not of src alone: a
	 * forger in a client's /64 must not get that client banned. A
	 * counter per ban key, not a walk of the grants: spoofed sources
	 * crossing ban thresholds ask this as often as they like. */
	return kg_grants_live_at(&r->st.grants, src) > 0;
}
