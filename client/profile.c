/* SPDX-License-Identifier: MIT */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyid.h"

static const char *const keys[] = {
	"user", "green_id", "green_address", "knock_port", "green_wg_public_key",
	"green_wg_port", "green_tunnel_address", "control_port", "knock_key",
	"tunnel_address", "ca", "knock_slot", NULL,
};

static int get_addr(const struct kg_conf *c, const char *key,
		    struct kg_addr *a, struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, "profile", key, NULL, &s, e);

	if (rc)
		return rc;
	if (kg_addr_parse(s, a)) {
		kg_err_set(e, "%s:%u: %s: an IP address, got '%s'", c->path,
			   kg_conf_find(c, "profile", key)->line, key, s);
		return -EINVAL;
	}
	return 0;
}

static int get_port(const struct kg_conf *c, const char *key, uint64_t def,
		    uint16_t *port, struct kg_err *e)
{
	uint64_t v;
	int rc = kg_conf_uint(c, "profile", key, false, def, 1, 65535, &v, e);

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

static int get_wg_key(const struct kg_conf *c, uint8_t pub[KG_KEY_LEN],
		      struct kg_err *e)
{
	const char *s;
	int rc = kg_conf_str(c, "profile", "green_wg_public_key", NULL, &s, e);

	if (rc)
		return rc;
	if (kg_base64_decode(s, pub, KG_KEY_LEN)) {
		kg_err_set(e, "%s:%u: green_wg_public_key: base64 of 32 bytes, got '%s'",
			   c->path, kg_conf_find(c, "profile", "green_wg_public_key")->line, s);
		return -EINVAL;
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
		rc = get_name(c, "green_id", p->green_id, sizeof(p->green_id), e);
	if (!rc)
		rc = get_addr(c, "green_address", &p->green_address, e);
	if (!rc)
		rc = get_port(c, "knock_port", 62201, &p->knock_port, e);
	if (!rc)
		rc = get_wg_key(c, p->green_wg_pub, e);
	if (!rc)
		rc = get_port(c, "green_wg_port", 51820, &p->green_wg_port, e);
	if (!rc)
		rc = get_addr(c, "green_tunnel_address", &p->green_tunnel, e);
	if (!rc)
		rc = get_port(c, "control_port", 4433, &p->control_port, e);
	if (!rc)
		rc = kg_conf_hex(c, "profile", "knock_key", true, p->knock_key,
				 KG_KEY_LEN, e);
	if (!rc)
		rc = get_addr(c, "tunnel_address", &p->tunnel_address, e);
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
