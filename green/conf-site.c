/* SPDX-License-Identifier: MIT */
/*
 * [site] (green's end of the WireGuard site link, the signed second
 * knock) and [red NAME] (one red host each). The [site] section turns the
 * feature on; without it green runs as before (knock, tunnel, card only).
 */
#include "green.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_keys[] = {
	"id", "interface", "private_key", "listen_port", "address", "address6",
	"host_key", "ca", "crl", "answer_port", "lease", "retry_ms",
	"max_sends", "max_grants", NULL
};

static const char *const red_keys[] = {
	"address", "knock_port", "site_address", "site_address6", "site_port",
	"site_public_key", "cert", "hop_prefix", NULL
};

static int dup_str(const struct kg_conf *conf, const char *sec,
		   const char *key, const char *def, char **out,
		   struct kg_err *e)
{
	const char *v;
	int r = kg_conf_str(conf, sec, key, def, &v, e);

	if (r || !v)
		return r;
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int get_id(const struct kg_conf *conf, const char *sec,
		  const char *key, const char *v, char *out, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(conf, sec, key);

	if (!v || !*v || strlen(v) > KG_SK_ID_MAX) {
		kg_err_set(e, "%s:%u: %s: expected a host id of 1..%d characters",
			   conf->path, it ? it->line : 0, key, KG_SK_ID_MAX);
		return -EINVAL;
	}
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int get_port(const struct kg_conf *conf, const char *sec,
		    const char *key, uint16_t def, uint16_t *out,
		    struct kg_err *e)
{
	uint64_t v;
	int r = kg_conf_uint(conf, sec, key, false, def, 1, 65535, &v, e);

	*out = (uint16_t)v;
	return r;
}

static int get_u(const struct kg_conf *conf, const char *key, unsigned def,
		 unsigned min, unsigned max, unsigned *out, struct kg_err *e)
{
	uint64_t v;
	int r = kg_conf_uint(conf, "site", key, false, def, min, max, &v, e);

	*out = (unsigned)v;
	return r;
}

static int host_part(const char *v, struct kg_addr *a)
{
	char buf[KG_ADDR_STRLEN + 8];

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return -EINVAL;
	buf[strcspn(buf, "/")] = '\0';
	return kg_addr_parse(buf, a);
}

/* An address (want_len 0) or prefix value; a bare address as prefix gets
 * its full length. */
static int get_addr_fam(const struct kg_conf *conf, const char *sec,
		    const char *key, bool required, struct kg_prefix *out,
		    int family, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(conf, sec, key);
	const char *v;
	int r = kg_conf_str(conf, sec, key, required ? NULL : "", &v, e);

	if (r || !*v)
		return r;
	if (kg_prefix_parse(v, out) || out->a.family != family) {
		kg_err_set(e, "%s:%u: %s: expected an IPv%d address, got '%s'",
			   conf->path, it ? it->line : 0, key,
			   family == AF_INET ? 4 : 6, v);
		return -EINVAL;
	}
	/* kg_prefix_parse clears the host bits: keep the address itself
	 * (green's end of the link is 10.89.0.1 in 10.89.0.1/30; knocks are
	 * sent from it and red accepts them only from it) */
	return host_part(v, &out->a);
}

static int get_addr(const struct kg_conf *conf, const char *sec,
		    const char *key, bool required, struct kg_prefix *out,
		    struct kg_err *e)
{
	return get_addr_fam(conf, sec, key, required, out, AF_INET, e);
}

int green_conf_site(struct green_conf *c, const struct kg_conf *conf,
		    struct kg_err *e)
{
	struct green_site_conf *s = &c->site;
	const char *id;
	int r;

	if (!kg_conf_has_section(conf, "site"))
		return 0;
	s->enabled = true;
	if ((r = kg_conf_check_keys(conf, "site", site_keys, e)) ||
	    (r = kg_conf_str(conf, "site", "id", NULL, &id, e)) ||
	    (r = get_id(conf, "site", "id", id, s->id, e)) ||
	    (r = dup_str(conf, "site", "interface", "kg-site", &s->interface, e)) ||
	    (r = dup_str(conf, "site", "private_key", NULL, &s->private_key, e)) ||
	    (r = get_port(conf, "site", "listen_port", 51821, &s->listen_port, e)) ||
	    (r = get_addr(conf, "site", "address", true, &s->address, e)) ||
	    (r = get_addr_fam(conf, "site", "address6", false, &s->address6,
			      AF_INET6, e)) ||
	    (r = dup_str(conf, "site", "host_key", NULL, &s->host_key, e)) ||
	    (r = dup_str(conf, "site", "ca", "", &s->ca, e)) ||
	    (r = dup_str(conf, "site", "crl", "", &s->crl, e)) ||
	    (r = get_port(conf, "site", "answer_port", 62203, &s->answer_port, e)) ||
	    (r = get_u(conf, "lease", 60, 10, 3600, &s->lease, e)) ||
	    (r = get_u(conf, "retry_ms", 500, 50, 10000, &s->retry_ms, e)) ||
	    (r = get_u(conf, "max_sends", 4, 1, 20, &s->max_sends, e)) ||
	    (r = get_u(conf, "max_grants", 4096, 1, 1 << 20, &s->max_grants, e)))
		return r;
	if (strlen(s->interface) >= 16) {
		kg_err_set(e, "%s: [site] interface: at most 15 characters", conf->path);
		return -EINVAL;
	}
	if (s->address.len > 30) {
		kg_err_set(e, "%s: [site] address: give the link's prefix (e.g. 10.89.0.1/30)",
			   conf->path);
		return -EINVAL;
	}
	return 0;
}

/* hop_prefix: where red shuffles IPv6 grants' addresses; green routes it
 * over the site link (WireGuard allowed IPs) and takes hops into it. */
static int hop_prefix(const struct kg_conf *conf, const char *sec,
		      struct green_red *red, struct kg_err *e)
{
	const char *v;
	int r;

	if ((r = kg_conf_str(conf, sec, "hop_prefix", "", &v, e)) || !v[0])
		return r;
	if (kg_prefix_parse(v, &red->hop_prefix) ||
	    red->hop_prefix.a.family != AF_INET6 ||
	    red->hop_prefix.len < 64 || red->hop_prefix.len > 126) {
		kg_err_set(e, "%s: [%s] hop_prefix: expected an IPv6 prefix, /64 to /126, got '%s'",
			   conf->path, sec, v);
		return -EINVAL;
	}
	if (red->site_address6.family != AF_INET6) {
		kg_err_set(e, "%s: [%s] hop_prefix: needs site_address6",
			   conf->path, sec);
		return -EINVAL;
	}
	return 0;
}

static int one_red(struct green_red *red, const struct kg_conf *conf,
		   const char *name, struct kg_err *e)
{
	char sec[KG_SK_ID_MAX + 8];
	struct kg_prefix a = { 0 }, sa = { 0 }, sa6 = { 0 };
	const char *pub;
	int r;

	snprintf(sec, sizeof(sec), "red %s", name);
	if ((r = get_id(conf, sec, "name", name, red->id, e)) ||
	    (r = kg_conf_check_keys(conf, sec, red_keys, e)) ||
	    (r = get_addr(conf, sec, "address", true, &a, e)) ||
	    (r = get_port(conf, sec, "knock_port", 62202, &red->knock_port, e)) ||
	    (r = get_addr(conf, sec, "site_address", true, &sa, e)) ||
	    (r = get_addr_fam(conf, sec, "site_address6", false, &sa6, AF_INET6, e)) ||
	    (r = get_port(conf, sec, "site_port", 51821, &red->site_port, e)) ||
	    (r = kg_conf_str(conf, sec, "site_public_key", NULL, &pub, e)) ||
	    (r = dup_str(conf, sec, "cert", NULL, &red->cert, e)))
		return r;
	red->address = a.a;
	red->site_address = sa.a;
	red->site_address6 = sa6.a;
	if ((r = hop_prefix(conf, sec, red, e)))
		return r;
	if (kg_base64_decode(pub, red->site_public_key, KG_KEY_LEN)) {
		kg_err_set(e, "%s: [%s] site_public_key: expected a base64 WireGuard key",
			   conf->path, sec);
		return -EINVAL;
	}
	return 0;
}

int green_conf_red(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e)
{
	struct green_site_conf *s = &c->site;
	const char *name;
	size_t i = 0;
	int r;

	while ((name = kg_conf_next_section(conf, "red", &i))) {
		struct green_red *n;

		if (!s->enabled) {
			kg_err_set(e, "%s: [red %s] needs a [site] section", conf->path, name);
			return -EINVAL;
		}
		if (green_site_red(s, name)) {
			kg_err_set(e, "%s: [red %s] given twice", conf->path, name);
			return -EINVAL;
		}
		n = realloc(s->reds, (s->n_reds + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->reds = n;
		memset(&n[s->n_reds], 0, sizeof(*n));
		r = one_red(&n[s->n_reds], conf, name, e);
		s->n_reds++;
		if (r)
			return r;
	}
	if (s->enabled && !s->n_reds) {
		kg_err_set(e, "%s: [site] without any [red NAME] section", conf->path);
		return -EINVAL;
	}
	return 0;
}

const struct green_red *green_site_red(const struct green_site_conf *s,
				       const char *id)
{
	for (size_t i = 0; i < s->n_reds; i++)
		if (!strcmp(s->reds[i].id, id))
			return &s->reds[i];
	return NULL;
}

void green_conf_site_free(struct green_site_conf *s)
{
	for (size_t i = 0; i < s->n_reds; i++)
		free(s->reds[i].cert);
	free(s->reds);
	free(s->interface);
	free(s->private_key);
	free(s->host_key);
	free(s->ca);
	free(s->crl);
	memset(s, 0, sizeof(*s));
}

void green_ruleset_site(FILE *f, const struct green_site_conf *s)
{
	char a[KG_ADDR_STRLEN];
	unsigned rate;

	if (!s->enabled)
		return;
	/* Red answers each knock once (resends included): as many answers as
	 * green can have knocks pending, spread over a retry interval, with
	 * the same as burst. Sized for the grants, not per source. */
	rate = s->max_grants * 2 * 1000 / s->retry_ms;
	if (rate < 20)
		rate = 20;
	/* Red's answers come inside the site link only (from any port: red
	 * sends each from a fresh socket) to our answer socket; its site-link
	 * WireGuard packets from its inside address to our site port. Every
	 * other packet to the answer port is dropped here, uncounted, so a
	 * forged "answer" costs green nothing and bans nobody. */
	for (size_t i = 0; i < s->n_reds; i++) {
		const struct green_red *r = &s->reds[i];

		kg_addr_str(&r->site_address, a);
		fprintf(f, "\t\tiifname \"%s\" ip saddr %s udp dport %u limit rate %u/second burst %u packets accept\n",
			s->interface, a, s->answer_port, rate, 2 * s->max_grants);
	}
	fprintf(f, "\t\tudp dport %u drop\n", s->answer_port);
	for (size_t i = 0; i < s->n_reds; i++) {
		const struct green_red *r = &s->reds[i];

		kg_addr_str(&r->address, a);
		fprintf(f, "\t\tip saddr %s udp sport %u udp dport %u accept\n",
			a, r->site_port, s->listen_port);
	}
}
