/* SPDX-License-Identifier: MIT */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyid.h"

static const char *const keys[] = {
	"user", "green_id", "green_address", "knock_port", "green_wg_public_key",
	"green_wg_port", "green_tunnel_address", "control_port", "knock_key",
	"tunnel_address", "tunnel_address6", "ca", "knock_slot", NULL,
};

static const char *const green_keys[] = {
	"green_address", "knock_port", "green_wg_public_key", "green_wg_port",
	"green_tunnel_address", "control_port", "knock_key", "tunnel_address",
	"tunnel_address6", NULL,
};

static int get_addr(const struct kg_conf *c, const char *sec, const char *key,
		    struct kg_addr *a, struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, sec, key, NULL, &s, e);

	if (rc)
		return rc;
	if (kg_addr_parse(s, a)) {
		kg_err_set(e, "%s:%u: %s: an IP address, got '%s'", c->path,
			   kg_conf_find(c, sec, key)->line, key, s);
		return -EINVAL;
	}
	return 0;
}

static int get_port(const struct kg_conf *c, const char *sec, const char *key,
		    uint64_t def, uint16_t *port, struct kg_err *e)
{
	uint64_t v;
	int rc = kg_conf_uint(c, sec, key, false, def, 1, 65535, &v, e);

	*port = (uint16_t)v;
	return rc;
}

static int get_name(const struct kg_conf *c, const char *key, char *out,
		    size_t n, struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, "profile", key, NULL, &s, e);

	if (rc)
		return rc;
	if (!s[0] || strlen(s) >= n) {
		kg_err_set(e, "%s:%u: %s: 1 to %zu characters, got '%s'", c->path,
			   kg_conf_find(c, "profile", key)->line, key, n - 1, s);
		return -EINVAL;
	}
	snprintf(out, n, "%s", s);
	return 0;
}

static int get_wg_key(const struct kg_conf *c, const char *sec,
		      uint8_t pub[KG_KEY_LEN], struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, sec, "green_wg_public_key", NULL, &s, e);

	if (rc)
		return rc;
	if (kg_base64_decode(s, pub, KG_KEY_LEN)) {
		kg_err_set(e, "%s:%u: green_wg_public_key: base64 of 32 bytes, got '%s'",
			   c->path, kg_conf_find(c, sec, "green_wg_public_key")->line, s);
		return -EINVAL;
	}
	return 0;
}

/* One green's keys from section sec ([profile] or [green NAME]). */
static int parse_green(struct kg_profile_green *g, const struct kg_conf *c,
		       const char *sec, struct kg_err *e)
{
	int rc = get_addr(c, sec, "green_address", &g->green_address, e);

	if (!rc)
		rc = get_port(c, sec, "knock_port", 62201, &g->knock_port, e);
	if (!rc)
		rc = get_wg_key(c, sec, g->green_wg_pub, e);
	if (!rc)
		rc = get_port(c, sec, "green_wg_port", 51820, &g->green_wg_port, e);
	if (!rc)
		rc = get_addr(c, sec, "green_tunnel_address", &g->green_tunnel, e);
	if (!rc)
		rc = get_port(c, sec, "control_port", 4433, &g->control_port, e);
	if (!rc)
		rc = kg_conf_hex(c, sec, "knock_key", true, g->knock_key,
				 KG_KEY_LEN, e);
	if (!rc)
		rc = get_addr(c, sec, "tunnel_address", &g->tunnel_address, e);
	if (!rc && kg_conf_find(c, sec, "tunnel_address6")) {
		rc = get_addr(c, sec, "tunnel_address6", &g->tunnel_address6, e);
		if (!rc && g->tunnel_address6.family != AF_INET6) {
			kg_err_set(e, "%s:%u: tunnel_address6: an IPv6 address",
				   c->path, kg_conf_find(c, sec, "tunnel_address6")->line);
			rc = -EINVAL;
		}
	}
	return rc;
}

/* The further greens, [green NAME] in file order after [profile]'s. */
static int parse_more_greens(struct kg_profile *p, const struct kg_conf *c,
			     struct kg_err *e)
{
	char sec[128];
	const char *name;
	size_t i = 0;
	int rc;

	while ((name = kg_conf_next_section(c, "green", &i))) {
		struct kg_profile_green *g = &p->greens[p->n_greens];

		snprintf(sec, sizeof(sec), "green %s", name);
		if (p->n_greens == KG_PROFILE_MAX_GREENS) {
			kg_err_set(e, "%s: [%s]: at most %d greens", c->path, sec,
				   KG_PROFILE_MAX_GREENS);
			return -EINVAL;
		}
		if (!name[0] || strlen(name) >= sizeof(g->green_id)) {
			kg_err_set(e, "%s: [%s]: a green id of 1 to %zu characters",
				   c->path, sec, sizeof(g->green_id) - 1);
			return -EINVAL;
		}
		for (size_t j = 0; j < p->n_greens; j++)
			if (strcmp(p->greens[j].green_id, name) == 0) {
				kg_err_set(e, "%s: [%s]: green %s listed twice",
					   c->path, sec, name);
				return -EINVAL;
			}
		snprintf(g->green_id, sizeof(g->green_id), "%s", name);
		if ((rc = kg_conf_check_keys(c, sec, green_keys, e)) ||
		    (rc = parse_green(g, c, sec, e)))
			return rc;
		p->n_greens++;
	}
	return 0;
}

int kg_profile_parse(struct kg_profile *p, const struct kg_conf *c,
		     const char *dir, struct kg_err *e)
{
	const char *ca = NULL;
	uint64_t slot = 0;
	int rc, n;

	memset(p, 0, sizeof(*p));
	if (!kg_conf_has_section(c, "profile")) {
		kg_err_set(e, "%s: no [profile] section", c->path);
		return -EINVAL;
	}
	n = snprintf(p->dir, sizeof(p->dir), "%s", dir);
	rc = n < 0 || (size_t)n >= sizeof(p->dir) ? -ENAMETOOLONG : 0;
	if (!rc)
		rc = kg_conf_check_keys(c, "profile", keys, e);
	if (!rc)
		rc = get_name(c, "user", p->user, sizeof(p->user), e);
	if (!rc)
		rc = get_name(c, "green_id", p->greens[0].green_id,
			      sizeof(p->greens[0].green_id), e);
	if (!rc)
		rc = parse_green(&p->greens[0], c, "profile", e);
	if (!rc) {
		p->n_greens = 1;
		rc = parse_more_greens(p, c, e);
	}
	if (!rc)
		rc = kg_conf_str(c, "profile", "ca", "ca.pem", &ca, e);
	if (!rc)
		rc = kg_conf_uint(c, "profile", "knock_slot", false,
				  KG_KEYID_SLOT_DEFAULT, 1, 86400, &slot, e);
	if (!rc) {
		p->knock_slot = (uint32_t)slot;
		n = snprintf(p->ca_path, sizeof(p->ca_path), "%s%s%s",
			     ca[0] == '/' ? "" : dir, ca[0] == '/' ? "" : "/", ca);
		if (n < 0 || (size_t)n >= sizeof(p->ca_path))
			rc = -ENAMETOOLONG;
	}
	if (!rc)
		kg_profile_use(p, 0);
	for (size_t i = 0; !rc && i < c->n; i++) {
		const struct kg_conf_item *it = &c->items[i];

		if (strcmp(it->section, "forward"))
			continue;
		if (p->n_fwd == KG_PROFILE_FWD_MAX ||
		    strlen(it->key) >= sizeof(p->fwd_service[0]) ||
		    strlen(it->value) >= sizeof(p->fwd_value[0])) {
			kg_err_set(e, "%s:%u: [forward] %s: at most %d entries of "
				   "SERVICE = [ADDR:]PORT", c->path, it->line,
				   it->key, KG_PROFILE_FWD_MAX);
			rc = -EINVAL;
			break;
		}
		strcpy(p->fwd_service[p->n_fwd], it->key);
		strcpy(p->fwd_value[p->n_fwd++], it->value);
	}
	if (rc)
		kg_profile_wipe(p);
	return rc == -ENOMEM || rc == -ENAMETOOLONG ? rc : rc ? -EINVAL : 0;
}

void kg_profile_use(struct kg_profile *p, size_t i)
{
	const struct kg_profile_green *g = &p->greens[i < p->n_greens ? i : 0];

	p->cur = i < p->n_greens ? i : 0;
	memcpy(p->green_id, g->green_id, sizeof(p->green_id));
	p->green_address = g->green_address;
	p->knock_port = g->knock_port;
	memcpy(p->green_wg_pub, g->green_wg_pub, KG_KEY_LEN);
	p->green_wg_port = g->green_wg_port;
	p->green_tunnel = g->green_tunnel;
	p->control_port = g->control_port;
	memcpy(p->knock_key, g->knock_key, KG_KEY_LEN);
	p->tunnel_address = g->tunnel_address;
	p->tunnel_address6 = g->tunnel_address6;
}

int kg_profile_load(struct kg_profile *p, const char *dir, struct kg_err *e)
{
	char path[PATH_MAX];
	struct kg_conf c;
	int rc, n = snprintf(path, sizeof(path), "%s/profile.conf", dir);

	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	rc = kg_conf_load(&c, path, e);
	if (!rc)
		rc = kg_profile_parse(p, &c, dir, e);
	kg_conf_free(&c);
	return rc;
}

void kg_profile_wipe(struct kg_profile *p)
{
	kg_wipe(p, sizeof(*p));
}
