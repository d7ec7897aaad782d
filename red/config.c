/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const red_keys[] = {
	"id", "addresses", "knock_port", "ca", "crl", "host_key", "host_cert",
	"window", "max_lease", "keep", "replay_cache", "max_grants",
	"knock_group", "scan_group", "tunnel_range", "tunnel_range6", "never_ban", "management",
	"scan_ports", "scan_window", "ban_time", "log_level", "knock_rate",
	"knock_burst", "expiry_warning_days", "admin_socket",
	"metrics_file", "metrics_interval", NULL,
};
static const char *const site_keys[] = {
	"interface", "private_key", "listen_port", "address", "address6",
	"peer_public_key", "peer_endpoint", "peer_address", NULL,
};
static const char *const green_keys[] = {
	"address", "link_address", "cert", "tunnel_range", "site_public_key",
	"site_endpoint", NULL
};
static const char *const service_keys[] = {
	"port", "pool", "proto", "hop", "hop_interval", "hop_overlap", NULL
};

static int line_of(const struct kg_conf *c, const char *sec, const char *key)
{
	const struct kg_conf_item *it = kg_conf_find(c, sec, key);

	return it ? (int)it->line : 0;
}

static int bad(const struct kg_conf *c, const char *sec, const char *key,
	       const char *what, const char *val, struct kg_err *e)
{
	kg_err_set(e, "%s:%d: %s: %s, got '%s'", c->path ? c->path : "?",
		   line_of(c, sec, key), key, what, val ? val : "");
	return -EINVAL;
}

/* A string into a fixed buffer; relative paths joined to base. */
static int get_copy(const struct kg_conf *c, const char *sec, const char *key,
		    const char *def, bool path, const char *base, char *out,
		    size_t cap, struct kg_err *e)
{
	const char *v;
	int rc = kg_conf_str(c, sec, key, def, &v, e), n;

	if (rc)
		return rc;
	if (path && v[0] != '/' && base)
		n = snprintf(out, cap, "%s/%s", base, v);
	else
		n = snprintf(out, cap, "%s", v);
	if (n < 0 || (size_t)n >= cap)
		return bad(c, sec, key, "too long", v, e);
	return 0;
}

static int get_u(const struct kg_conf *c, const char *sec, const char *key,
		 uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
		 struct kg_err *e)
{
	return kg_conf_uint(c, sec, key, false, def, min, max, out, e);
}

static int get_prefixes(const struct kg_conf *c, const char *sec,
			const char *key, struct kg_prefix *out, size_t max,
			size_t *n, struct kg_err *e)
{
	char **v;
	size_t nv;
	int rc = kg_conf_list(c, sec, key, &v, &nv, e);

	if (rc)
		return rc;
	*n = 0;
	for (size_t i = 0; i < nv && rc == 0; i++) {
		if (*n == max)
			rc = bad(c, sec, key, "too many entries", v[i], e);
		else if (kg_prefix_parse(v[i], &out[(*n)++]))
			rc = bad(c, sec, key, "an address or ADDR/LEN expected",
				 v[i], e);
	}
	kg_conf_list_free(v, nv);
	return rc;
}

static int get_addr(const struct kg_conf *c, const char *sec, const char *key,
		    struct kg_addr *a, struct kg_err *e)
{
	const char *v;
	int rc = kg_conf_str(c, sec, key, NULL, &v, e);

	if (rc)
		return rc;
	if (kg_addr_parse(v, a))
		return bad(c, sec, key, "an IPv4 or IPv6 address expected", v, e);
	return 0;
}

/* [red]: identity, trust, knock port, timing and tables. */
static int red_section(struct kg_red_config *rc, const struct kg_conf *c,
		       const char *base, struct kg_err *e)
{
	struct kg_prefix p[KG_RED_MAX_ADDRS];
	uint64_t u[14], mi;
	int r;

	if ((r = kg_conf_check_keys(c, "red", red_keys, e)) ||
	    (r = get_copy(c, "red", "id", NULL, false, NULL, rc->id,
			  sizeof(rc->id), e)))
		return r;
	if (!kg_sk_id_valid(rc->id))
		return bad(c, "red", "id", "1-32 of [A-Za-z0-9._-]", rc->id, e);
	if ((r = get_copy(c, "red", "ca", NULL, true, base, rc->ca, sizeof(rc->ca), e)) ||
	    (r = get_copy(c, "red", "crl", NULL, true, base, rc->crl, sizeof(rc->crl), e)) ||
	    (r = get_copy(c, "red", "host_key", NULL, true, base, rc->host_key,
			  sizeof(rc->host_key), e)) ||
	    (r = get_copy(c, "red", "host_cert", NULL, true, base, rc->host_cert,
			  sizeof(rc->host_cert), e)) ||
	    (r = get_copy(c, "red", "admin_socket", KG_RED_ADMIN_SOCKET, false,
			  NULL, rc->admin_socket, sizeof(rc->admin_socket), e)) ||
	    (r = get_copy(c, "red", "metrics_file", KG_RED_METRICS, false,
			  NULL, rc->metrics_file, sizeof(rc->metrics_file), e)) ||
	    (r = kg_conf_uint(c, "red", "metrics_interval", false, 5, 1, 3600,
			      &mi, e)) ||
	    (r = get_prefixes(c, "red", "addresses", p, KG_RED_MAX_ADDRS,
			      &rc->n_addrs, e)) ||
	    (r = get_u(c, "red", "knock_port", 62202, 1, 65535, &u[0], e)) ||
	    (r = get_u(c, "red", "window", 30, 1, 600, &u[1], e)) ||
	    (r = get_u(c, "red", "max_lease", 300, 5, KG_SK_LIFETIME_MAX, &u[2], e)) ||
	    (r = get_u(c, "red", "keep", 600, 0, 86400, &u[3], e)) ||
	    (r = get_u(c, "red", "replay_cache", 4096, 16, 1 << 20, &u[4], e)) ||
	    (r = get_u(c, "red", "max_grants", 1024, 1, 1 << 16, &u[5], e)) ||
	    (r = get_u(c, "red", "knock_group", 2, 0, 65535, &u[6], e)) ||
	    (r = get_u(c, "red", "scan_group", 3, 0, 65535, &u[7], e)) ||
	    (r = get_u(c, "red", "scan_ports", 10, 1, 1024, &u[8], e)) ||
	    (r = get_u(c, "red", "scan_window", 60, 1, 3600, &u[9], e)) ||
	    (r = get_u(c, "red", "ban_time", 600, 1, 86400, &u[10], e)) ||
	    (r = get_u(c, "red", "knock_rate", 0, 1, 1000000, &u[11], e)) ||
	    (r = get_u(c, "red", "knock_burst", 0, 1, 1 << 20, &u[12], e)) ||
	    (r = get_u(c, "red", "expiry_warning_days", 14, 0, 3650, &u[13], e)) ||
	    (r = get_prefixes(c, "red", "never_ban", rc->never_ban,
			      KG_RED_MAX_NEVER_BAN, &rc->n_never_ban, e)) ||
	    (r = get_prefixes(c, "red", "management", rc->mgmt,
			      KG_RED_MAX_NEVER_BAN, &rc->n_mgmt, e)))
		return r;
	if (!strcmp(rc->admin_socket, "off"))
		rc->admin_socket[0] = '\0';
	else if (rc->admin_socket[0] != '/')
		return bad(c, "red", "admin_socket", "an absolute path or 'off'",
			   rc->admin_socket, e);
	if (!strcmp(rc->metrics_file, "off"))
		rc->metrics_file[0] = '\0';
	else if (rc->metrics_file[0] != '/')
		return bad(c, "red", "metrics_file", "an absolute path or 'off'",
			   rc->metrics_file, e);
	rc->metrics_interval = (unsigned)mi;
	if (rc->n_addrs == 0)
		return bad(c, "red", "addresses", "at least one address", "", e);
	for (size_t i = 0; i < rc->n_addrs; i++)
		rc->addrs[i] = p[i].a;
	if (u[6] == u[7])
		return bad(c, "red", "scan_group", "a group other than knock_group",
			   "", e);
	rc->knock_port = (uint16_t)u[0];
	rc->window = (uint32_t)u[1];
	rc->max_lease = (uint32_t)u[2];
	rc->keep = (uint32_t)u[3];
	rc->replay_cache = (uint32_t)u[4];
	rc->max_grants = (uint32_t)u[5];
	rc->knock_group = (uint16_t)u[6];
	rc->scan_group = (uint16_t)u[7];
	rc->scan_ports = (unsigned)u[8];
	rc->scan_window = (unsigned)u[9];
	rc->ban_time = (unsigned)u[10];
	rc->expiry_warning_days = (unsigned)u[13];
	/* Sized for the grants, per green: green renews a grant once a third
	 * of its lease has passed and its shortest lease is 10 s, so a grant
	 * costs at most ~0.3 knocks/s, plus its open and close: 0.4/s. The
	 * burst lets every grant of a green re-open at once (red restarted). */
	rc->knock_rate = u[11] ? (uint32_t)u[11] :
			 rc->max_grants * 2 / 5 > 20 ? (rc->max_grants * 2 + 4) / 5 : 20;
	rc->knock_burst = u[12] ? (uint32_t)u[12] :
			  rc->max_grants > 20 ? rc->max_grants : 20;
	return 0;
}

static int red_misc(struct kg_red_config *rc, const struct kg_conf *c,
		    struct kg_err *e)
{
	const char *v;
	int r;

	if ((r = kg_conf_str(c, "red", "tunnel_range", "10.88.0.0/16", &v, e)))
		return r;
	if (kg_prefix_parse(v, &rc->tunnel_range) ||
	    rc->tunnel_range.a.family != AF_INET)
		return bad(c, "red", "tunnel_range", "an IPv4 ADDR/LEN expected",
			   v, e);
	/* IPv6 tunnel addresses: greens with a tunnel_prefix6; none by
	 * default (no IPv6 grants) */
	if ((r = kg_conf_str(c, "red", "tunnel_range6", "", &v, e)))
		return r;
	if (v[0] && (kg_prefix_parse(v, &rc->tunnel_range6) ||
		     rc->tunnel_range6.a.family != AF_INET6 ||
		     rc->tunnel_range6.len < 8 || rc->tunnel_range6.len > 64))
		return bad(c, "red", "tunnel_range6",
			   "an IPv6 ADDR/LEN with LEN 8..64 expected", v, e);
	if ((r = kg_conf_str(c, "red", "log_level", "info", &v, e)))
		return r;
	rc->log_level = kg_log_level_parse(v);
	if (rc->log_level < 0)
		return bad(c, "red", "log_level",
			   "err, warning, notice, info or debug", v, e);
	return 0;
}

/* host:port or [v6]:port */
static int parse_endpoint(const char *s, struct kg_addr *a, uint16_t *port)
{
	char buf[KG_ADDR_STRLEN + 8];
	char *colon, *host = buf, *end;
	unsigned long p;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	colon = strrchr(buf, ':');
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	if (host[0] == '[') {
		host++;
		if (colon[-1] != ']')
			return -EINVAL;
		colon[-1] = '\0';
	}
	p = strtoul(colon + 1, &end, 10);
	if (*end || p == 0 || p > 65535 || kg_addr_parse(host, a))
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static int addr_part(const char *s, struct kg_addr *a)
{
	char buf[KG_ADDR_STRLEN + 8];
	char *slash;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		return -EINVAL;
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	return kg_addr_parse(buf, a);
}

/* [site]: red's end of the WireGuard link that carries client traffic. */
static int site_section(struct kg_red_site *s, const struct kg_conf *c,
			const char *base, struct kg_err *e)
{
	const char *v;
	uint64_t port;
	int r;

	if ((r = kg_conf_check_keys(c, "site", site_keys, e)) ||
	    (r = get_copy(c, "site", "interface", "kg-red0", false, NULL,
			  s->interface, sizeof(s->interface), e)) ||
	    (r = get_copy(c, "site", "private_key", NULL, true, base,
			  s->private_key, sizeof(s->private_key), e)) ||
	    (r = get_copy(c, "site", "peer_public_key", "", false, NULL,
			  s->peer_public_key, sizeof(s->peer_public_key), e)) ||
	    (r = get_u(c, "site", "listen_port", 51821, 1, 65535, &port, e)))
		return r;
	s->listen_port = (uint16_t)port;
	if ((r = kg_conf_str(c, "site", "address", "10.89.0.2/30", &v, e)))
		return r;
	if (kg_prefix_parse(v, &s->address))
		return bad(c, "site", "address", "ADDR/LEN expected", v, e);
	/* kg_prefix_parse clears host bits: keep the address itself */
	if (addr_part(v, &s->address.a))
		return bad(c, "site", "address", "ADDR/LEN expected", v, e);
	if ((r = kg_conf_str(c, "site", "address6", "", &v, e)))
		return r;
	if (v[0] && (kg_prefix_parse(v, &s->address6) ||
		     addr_part(v, &s->address6.a) ||
		     s->address6.a.family != AF_INET6))
		return bad(c, "site", "address6", "an IPv6 ADDR/LEN expected",
			   v, e);
	if ((r = kg_conf_str(c, "site", "peer_address", "10.89.0.1", &v, e)))
		return r;
	if (kg_addr_parse(v, &s->peer_address))
		return bad(c, "site", "peer_address", "an address expected", v, e);
	if ((r = kg_conf_str(c, "site", "peer_endpoint", "", &v, e)))
		return r;
	if (v[0] && parse_endpoint(v, &s->peer_endpoint, &s->peer_port))
		return bad(c, "site", "peer_endpoint", "ADDR:PORT expected", v, e);
	return 0;
}

static int green_section(struct kg_red_config *rc, const struct kg_conf *c,
			 const char *name, const char *base, struct kg_err *e)
{
	struct kg_red_green *g;
	char sec[KG_SK_ID_MAX + 16];
	const char *v;
	int r;

	snprintf(sec, sizeof(sec), "green %s", name);
	if (!kg_sk_id_valid(name))
		return bad(c, sec, "address", "green id of [A-Za-z0-9._-]", name, e);
	if (rc->n_greens == KG_RED_MAX_GREENS)
		return bad(c, sec, "address", "too many greens", name, e);
	g = &rc->greens[rc->n_greens];
	snprintf(g->id, sizeof(g->id), "%s", name);
	if ((r = kg_conf_check_keys(c, sec, green_keys, e)) ||
	    (r = get_addr(c, sec, "address", &g->addr, e)) ||
	    (kg_conf_find(c, sec, "link_address") &&
	     (r = get_addr(c, sec, "link_address", &g->link, e))) ||
	    (r = get_copy(c, sec, "cert", NULL, true, base, g->cert,
			  sizeof(g->cert), e)) ||
	    (r = get_copy(c, sec, "site_public_key", "", false, NULL,
			  g->site_public_key, sizeof(g->site_public_key), e)) ||
	    (r = kg_conf_str(c, sec, "site_endpoint", "", &v, e)))
		return r;
	if (v[0] && parse_endpoint(v, &g->site_endpoint, &g->site_port))
		return bad(c, sec, "site_endpoint", "ADDR:PORT expected", v, e);
	if (v[0] && !g->site_public_key[0])
		return bad(c, sec, "site_endpoint", "needs site_public_key", v, e);
	if ((r = kg_conf_str(c, sec, "tunnel_range", "", &v, e)))
		return r;
	if (v[0] && kg_prefix_parse(v, &g->tunnel_range))
		return bad(c, sec, "tunnel_range", "ADDR/LEN expected", v, e);
	rc->n_greens++;
	return 0;
}

/* Knocks come only through the site link, from each green's link
 * address: a lone green defaults to [site] peer_address (the link's other
 * end); with several, each must say which address is its own. */
static int green_links(struct kg_red_config *rc, const struct kg_conf *c,
		       struct kg_err *e)
{
	char sec[KG_SK_ID_MAX + 16], a[KG_ADDR_STRLEN];

	for (size_t i = 0; i < rc->n_greens; i++) {
		struct kg_red_green *g = &rc->greens[i];

		snprintf(sec, sizeof(sec), "green %s", g->id);
		if (!g->link.family && rc->n_greens == 1)
			g->link = rc->site.peer_address;
		if (!g->link.family)
			return bad(c, sec, "link_address",
				   "required with more than one [green NAME]",
				   "", e);
		if (kg_red_in_tunnel_range(rc, &g->link))
			return bad(c, sec, "link_address",
				   "an address outside tunnel_range",
				   kg_addr_str(&g->link, a), e);
		for (size_t j = 0; j < i; j++)
			if (kg_addr_eq(&rc->greens[j].link, &g->link))
				return bad(c, sec, "link_address",
					   "one address per green",
					   kg_addr_str(&g->link, a), e);
	}
	return 0;
}

static bool prefixes_overlap(const struct kg_prefix *a,
			     const struct kg_prefix *b)
{
	return a->a.family == b->a.family &&
	       (kg_prefix_contains(a, &b->a) || kg_prefix_contains(b, &a->a));
}

/* Each green's tunnel range: a lone green defaults to [red] tunnel_range;
 * with several each names its own, inside [red] tunnel_range (red's
 * table and routes cover that one prefix) and disjoint from the others,
 * so that a client address belongs to one green only. Each green's site
 * key once: WireGuard tells peers apart by key. */
static int green_ranges(struct kg_red_config *rc, const struct kg_conf *c,
			struct kg_err *e)
{
	char sec[KG_SK_ID_MAX + 16], a[KG_ADDR_STRLEN + 8];
	size_t own_key = 0;

	for (size_t i = 0; i < rc->n_greens; i++) {
		struct kg_red_green *g = &rc->greens[i];
		const struct kg_prefix *t = &g->tunnel_range;

		snprintf(sec, sizeof(sec), "green %s", g->id);
		if (!t->a.family && rc->n_greens == 1)
			g->tunnel_range = rc->tunnel_range;
		if (!t->a.family)
			return bad(c, sec, "tunnel_range",
				   "required with more than one [green NAME]",
				   "", e);
		kg_addr_str(&t->a, a);
		snprintf(a + strlen(a), sizeof(a) - strlen(a), "/%u", t->len);
		if (t->a.family != rc->tunnel_range.a.family ||
		    t->len < rc->tunnel_range.len ||
		    !kg_prefix_contains(&rc->tunnel_range, &t->a))
			return bad(c, sec, "tunnel_range",
				   "a prefix inside [red] tunnel_range", a, e);
		for (size_t j = 0; j < i; j++)
			if (prefixes_overlap(&rc->greens[j].tunnel_range, t)) {
				char m[96];

				snprintf(m, sizeof(m),
					 "must not overlap [green %s] tunnel_range",
					 rc->greens[j].id);
				return bad(c, sec, "tunnel_range", m, a, e);
			}
		if (!g->site_public_key[0]) {
			if (own_key++ || !rc->site.peer_public_key[0])
				return bad(c, sec, "site_public_key",
					   "required (one green at most uses [site] peer_public_key)",
					   "", e);
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(rc->greens[j].site_public_key,
				   g->site_public_key) == 0)
				return bad(c, sec, "site_public_key",
					   "one key per green",
					   g->site_public_key, e);
	}
	return 0;
}

/* hop (default no), hop_interval (a list or a range, default 30 s, as
 * the paper), hop_overlap (default 2 s; shorter than the shortest
 * interval). */
static int hop_keys(const struct kg_conf *c, const char *sec,
		    struct kg_red_service *s, struct kg_err *e)
{
	const char *v, *iv;
	uint32_t shortest;
	int r;

	if ((r = kg_conf_bool(c, sec, "hop", false, &s->hop.on, e)) ||
	    (r = kg_conf_str(c, sec, "hop_interval", "30", &iv, e)))
		return r;
	if (kg_hop_parse_intervals(iv, &s->hop))
		return bad(c, sec, "hop_interval", "seconds (or Nms): a list "
			   "'10, 20, 30' or a range '2-5'", iv, e);
	if ((r = kg_conf_str(c, sec, "hop_overlap", "2", &v, e)))
		return r;
	if (kg_hop_parse_duration(v, &s->hop.overlap_ms))
		return bad(c, sec, "hop_overlap", "seconds (or Nms)", v, e);
	shortest = s->hop.n_intervals ? s->hop.intervals[0] : s->hop.interval_min;
	for (size_t i = 1; i < s->hop.n_intervals; i++)
		if (s->hop.intervals[i] < shortest)
			shortest = s->hop.intervals[i];
	/* each hop is a signed push green's table admits under the same
	 * rate as red's answers: one a second per grant at most */
	if (s->hop.on && shortest < 1000)
		return bad(c, sec, "hop_interval", "at least 1 s", iv, e);
	if (s->hop.on && s->hop.overlap_ms >= shortest)
		return bad(c, sec, "hop_overlap", "shorter than the shortest "
			   "hop_interval", v, e);
	if (s->hop.on && kg_hop_pool_size(&s->hop) < 2)
		return bad(c, sec, "pool", "at least two ports to hop between",
			   "", e);
	return 0;
}

static int service_section(struct kg_red_config *rc, const struct kg_conf *c,
			   const char *name, struct kg_err *e)
{
	struct kg_red_service *s;
	char sec[KG_SK_ID_MAX + 16];
	const char *v;
	uint64_t port;
	int r;

	snprintf(sec, sizeof(sec), "service %s", name);
	if (!kg_sk_id_valid(name))
		return bad(c, sec, "port", "service name of [A-Za-z0-9._-]", name, e);
	if (rc->n_services == KG_RED_MAX_SERVICES)
		return bad(c, sec, "port", "too many services", name, e);
	s = &rc->services[rc->n_services];
	snprintf(s->name, sizeof(s->name), "%s", name);
	if ((r = kg_conf_check_keys(c, sec, service_keys, e)) ||
	    (r = kg_conf_uint(c, sec, "port", true, 0, 1, 65535, &port, e)) ||
	    (r = kg_conf_str(c, sec, "pool", NULL, &v, e)))
		return r;
	s->port = (uint16_t)port;
	if (kg_hop_parse_pool(v, &s->hop))
		return bad(c, sec, "pool", "LOW-HIGH port ranges (comma-separated, "
			   "not overlapping)", v, e);
	s->pool_lo = s->hop.pool[0].lo;
	s->pool_hi = s->hop.pool[0].hi;
	for (size_t i = 1; i < s->hop.n_pool; i++) {
		if (s->hop.pool[i].lo < s->pool_lo)
			s->pool_lo = s->hop.pool[i].lo;
		if (s->hop.pool[i].hi > s->pool_hi)
			s->pool_hi = s->hop.pool[i].hi;
	}
	if ((r = hop_keys(c, sec, s, e)) ||
	    (r = kg_conf_str(c, sec, "proto", "tcp", &v, e)))
		return r;
	if (strcmp(v, "tcp") && strcmp(v, "udp"))
		return bad(c, sec, "proto", "tcp or udp", v, e);
	s->proto = strcmp(v, "tcp") == 0 ? IPPROTO_TCP : IPPROTO_UDP;
	rc->n_services++;
	return 0;
}

/* Pools of two services must not overlap: a granted port maps to one
 * real port. */
static int check_pools(const struct kg_red_config *rc, const struct kg_conf *c,
		       struct kg_err *e)
{
	for (size_t i = 0; i < rc->n_services; i++)
		for (size_t j = i + 1; j < rc->n_services; j++) {
			const struct kg_red_service *a = &rc->services[i];
			const struct kg_red_service *b = &rc->services[j];

			for (size_t x = 0; x < a->hop.n_pool; x++)
				for (size_t y = 0; y < b->hop.n_pool; y++)
					if (a->hop.pool[x].lo <= b->hop.pool[y].hi &&
					    b->hop.pool[y].lo <= a->hop.pool[x].hi)
						return bad(c, "service", "pool",
							   "pools must not overlap",
							   b->name, e);
		}
	return 0;
}

int kg_red_config_from(struct kg_red_config *rc, const struct kg_conf *c,
		       const char *base_dir, struct kg_err *e)
{
	const char *name;
	size_t i = 0;
	int r;

	memset(rc, 0, sizeof(*rc));
	if ((r = red_section(rc, c, base_dir, e)) || (r = red_misc(rc, c, e)) ||
	    (r = site_section(&rc->site, c, base_dir, e)))
		return r;
	while ((name = kg_conf_next_section(c, "green", &i)))
		if ((r = green_section(rc, c, name, base_dir, e)))
			return r;
	i = 0;
	while ((name = kg_conf_next_section(c, "service", &i)))
		if ((r = service_section(rc, c, name, e)))
			return r;
	if (rc->n_greens == 0)
		return bad(c, "red", "id", "at least one [green NAME] section",
			   rc->id, e);
	if ((r = green_links(rc, c, e)) || (r = green_ranges(rc, c, e)))
		return r;
	return check_pools(rc, c, e);
}

const struct kg_red_green *kg_red_green_by_client(
	const struct kg_red_config *rc, const struct kg_addr *a)
{
	for (size_t i = 0; i < rc->n_greens; i++)
		if (kg_prefix_contains(&rc->greens[i].tunnel_range, a))
			return &rc->greens[i];
	return NULL;
}

const struct kg_red_green *kg_red_green_by_link(const struct kg_red_config *rc,
						const struct kg_addr *a)
{
	for (size_t i = 0; i < rc->n_greens; i++)
		if (kg_addr_eq(&rc->greens[i].link, a))
			return &rc->greens[i];
	return NULL;
}

static size_t put_host(struct kg_prefix *out, size_t n, size_t cap,
		       const struct kg_addr *a)
{
	if (n == cap)
		return n;
	out[n].a = *a;
	out[n].len = a->family == AF_INET ? 32 : 128;
	return n + 1;
}

size_t kg_red_never_ban(const struct kg_red_config *rc, struct kg_prefix *out,
			size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->n_never_ban && n < cap; i++)
		out[n++] = rc->never_ban[i];
	for (size_t i = 0; i < rc->n_greens; i++) {
		n = put_host(out, n, cap, &rc->greens[i].addr);
		n = put_host(out, n, cap, &rc->greens[i].link);
	}
	if (n < cap)
		out[n++] = rc->tunnel_range;
	if (n < cap && rc->tunnel_range6.a.family == AF_INET6)
		out[n++] = rc->tunnel_range6;
	return n;
}

bool kg_red_in_tunnel_range(const struct kg_red_config *rc,
			    const struct kg_addr *a)
{
	if (a->family == AF_INET)
		return kg_prefix_contains(&rc->tunnel_range, a);
	return a->family == AF_INET6 && rc->tunnel_range6.a.family == AF_INET6 &&
	       kg_prefix_contains(&rc->tunnel_range6, a);
}

const struct kg_red_service *kg_red_service_by_name(
	const struct kg_red_config *rc, const char *name)
{
	for (size_t i = 0; i < rc->n_services; i++)
		if (strcmp(rc->services[i].name, name) == 0)
			return &rc->services[i];
	return NULL;
}
