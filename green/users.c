/* SPDX-License-Identifier: MIT */
#include "users.h"

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const user_keys[] = {
	"knock_key", "tunnel_address", "tunnel_address6", "spki_sha256", "services", "mode",
	"sequence", "wg_public_key", NULL,
};

void kg_users_init(struct kg_users *u, uint32_t slot_s)
{
	memset(u, 0, sizeof(*u));
	u->slot_s = slot_s;
}

static void user_clear(struct kg_user *x)
{
	kg_conf_list_free(x->services, x->n_services);
	kg_wipe(x, sizeof(*x));
}

void kg_users_free(struct kg_users *u)
{
	for (size_t i = 0; i < u->n; i++)
		user_clear(&u->v[i]);
	free(u->v);
	free(u->by_name);
	kg_keyid_table_free(u->ids);
	kg_users_init(u, u->slot_s);
}

/* The record indexes (users.h, by_name): one open-addressing table a
 * key, all of the same size, in one block. FNV-1a: the keys come from
 * the admin's records, not from the network, so no secret is needed
 * against aimed collisions. */
enum { IX_NAME, IX_KEY, IX_TUN, IX_TUN6, IX_N };

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 1099511628211ULL;
	return h;
}

static size_t ix_hash(int k, const struct kg_user *x)
{
	uint64_t h = 1469598103934665603ULL + (uint64_t)k;
	const struct kg_addr *a = k == IX_TUN ? &x->tunnel : &x->tunnel6;

	if (k == IX_NAME)
		h = fnv(h, x->name, strlen(x->name));
	else if (k == IX_KEY)
		h = fnv(h, x->knock_key, KG_KEY_LEN);
	else
		h = fnv(fnv(h, &a->family, sizeof(a->family)), a->b,
			kg_addr_len(a));
	return (size_t)(h ^ (h >> 32));
}

static bool ix_same(int k, const struct kg_user *o, const struct kg_user *x)
{
	switch (k) {
	case IX_NAME:
		return !strcmp(o->name, x->name);
	case IX_KEY:
		return kg_memeq(o->knock_key, x->knock_key, KG_KEY_LEN);
	case IX_TUN:
		return kg_addr_eq(&o->tunnel, &x->tunnel);
	default:
		return kg_addr_eq(&o->tunnel6, &x->tunnel6);
	}
}

static uint32_t *ix_table(const struct kg_users *u, int k)
{
	return u->by_name + (size_t)k * (u->name_mask + 1);
}

/* An earlier user holding x's key k, or NULL. */
static struct kg_user *ix_find(const struct kg_users *u, int k,
			       const struct kg_user *x)
{
	const uint32_t *t;
	size_t i;

	if (!u->by_name)
		return NULL;
	t = ix_table(u, k);
	for (i = ix_hash(k, x) & u->name_mask; t[i]; i = (i + 1) & u->name_mask)
		if (ix_same(k, &u->v[t[i] - 1], x))
			return &u->v[t[i] - 1];
	return NULL;
}

static void ix_put(struct kg_users *u, size_t pos)
{
	for (int k = 0; k < IX_N; k++) {
		uint32_t *t = ix_table(u, k);
		size_t i;

		if (k == IX_TUN6 && !u->v[pos].tunnel6.family)
			continue;
		for (i = ix_hash(k, &u->v[pos]) & u->name_mask; t[i];
		     i = (i + 1) & u->name_mask)
			;
		t[i] = (uint32_t)(pos + 1);
	}
}

/* The indexes hold v[0..n) only (after a refused file). */
static void ix_rebuild(struct kg_users *u, size_t n)
{
	if (!u->by_name)
		return;
	memset(u->by_name, 0, IX_N * (u->name_mask + 1) * sizeof(*u->by_name));
	for (size_t i = 0; i < n; i++)
		ix_put(u, i);
}

/* Room for need users at load <= 1/2: the tables double and are
 * refilled with v[0..n). 0 or -ENOMEM (the old tables kept). */
static int ix_room(struct kg_users *u, size_t need)
{
	size_t size = 16;
	uint32_t *t;

	if (u->by_name && 2 * need <= u->name_mask + 1)
		return 0;
	while (size < 2 * need)
		size <<= 1;
	if (!(t = calloc(IX_N * size, sizeof(*t))))
		return -ENOMEM;
	free(u->by_name);
	u->by_name = t;
	u->name_mask = size - 1;
	ix_rebuild(u, u->n);
	return 0;
}

static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= KG_USER_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* "7001/tcp" */
static int parse_seq_port(const char *s, struct kg_seq_port *p)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || v == 0 || v > 65535 || *end != '/')
		return -EINVAL;
	if (!strcmp(end + 1, "tcp"))
		p->proto = IPPROTO_TCP;
	else if (!strcmp(end + 1, "udp"))
		p->proto = IPPROTO_UDP;
	else
		return -EINVAL;
	p->port = (uint16_t)v;
	return 0;
}

static int parse_sequence(const struct kg_conf *c, const char *sec,
			  struct kg_user *x, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, sec, "sequence");
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (!it) {
		kg_err_set(e, "%s: [%s] mode = sequence needs 'sequence'", c->path, sec);
		return -EINVAL;
	}
	if (!strncmp(it->value, "onetime:", 8)) {
		char *end;
		unsigned long len = strtoul(it->value + 8, &end, 10);

		if (*end || len < 2 || len > KG_SEQ_MAX)
			goto bad;
		x->seq_onetime = true;
		x->seq_len = len;
		return 0;
	}
	rc = kg_conf_list(c, sec, "sequence", &v, &n, e);
	if (rc)
		return rc;
	if (n < 2 || n > KG_SEQ_MAX)
		goto bad_free;
	for (size_t i = 0; i < n; i++)
		if (parse_seq_port(v[i], &x->seq[i]))
			goto bad_free;
	x->seq_len = n;
	kg_conf_list_free(v, n);
	return 0;
bad_free:
	kg_conf_list_free(v, n);
bad:
	kg_err_set(e, "%s:%u: sequence: 2 to %d PORT/tcp|udp items or onetime:N, got '%s'",
		   c->path, it->line, KG_SEQ_MAX, it->value);
	return -EINVAL;
}

static int parse_mode(const struct kg_conf *c, const char *sec,
		      struct kg_user *x, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, sec, "mode");
	const char *wg;
	int rc;

	if (!it || !strcmp(it->value, "spa")) {
		x->mode = KG_MODE_SPA;
		if (kg_conf_find(c, sec, "sequence")) {
			it = kg_conf_find(c, sec, "sequence");
			kg_err_set(e, "%s:%u: sequence given but mode is not 'sequence'",
				   c->path, it->line);
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(it->value, "sequence")) {
		kg_err_set(e, "%s:%u: mode: 'spa' or 'sequence', got '%s'",
			   c->path, it->line, it->value);
		return -EINVAL;
	}
	x->mode = KG_MODE_SEQUENCE;
	rc = parse_sequence(c, sec, x, e);
	if (rc)
		return rc;
	rc = kg_conf_str(c, sec, "wg_public_key", NULL, &wg, e);
	if (rc)
		return -EINVAL;
	if (kg_base64_decode(wg, x->wg_pub, KG_KEY_LEN)) {
		it = kg_conf_find(c, sec, "wg_public_key");
		kg_err_set(e, "%s:%u: wg_public_key: base64 of 32 bytes, got '%s'",
			   c->path, it->line, wg);
		return -EINVAL;
	}
	x->has_wg_pub = true;
	return 0;
}

static int parse_user(const struct kg_conf *c, const char *name,
		      struct kg_user *x, struct kg_err *e)
{
	char sec[KG_USER_NAME_MAX + 8];
	const char *s;
	int rc;

	memset(x, 0, sizeof(*x));
	snprintf(sec, sizeof(sec), "user %s", name);
	if (!name_ok(name)) {
		kg_err_set(e, "%s: [user %.80s]: name must be 1-63 of [a-z0-9._-]",
			   c->path, name);
		return -EINVAL;
	}
	snprintf(x->name, sizeof(x->name), "%s", name);
	rc = kg_conf_check_keys(c, sec, user_keys, e);
	if (!rc)
		rc = kg_conf_hex(c, sec, "knock_key", true, x->knock_key, KG_KEY_LEN, e);
	if (!rc)
		rc = kg_conf_hex(c, sec, "spki_sha256", true, x->spki_sha256,
				 KG_SHA256_LEN, e);
	if (!rc)
		rc = kg_conf_str(c, sec, "tunnel_address", NULL, &s, e);
	if (!rc && kg_addr_parse(s, &x->tunnel)) {
		kg_err_set(e, "%s:%u: tunnel_address: an IP address, got '%s'", c->path,
			   kg_conf_find(c, sec, "tunnel_address")->line, s);
		rc = -EINVAL;
	}
	if (!rc)
		rc = kg_conf_str(c, sec, "tunnel_address6", "", &s, e);
	if (!rc && *s && (kg_addr_parse(s, &x->tunnel6) ||
			  x->tunnel6.family != AF_INET6)) {
		kg_err_set(e, "%s:%u: tunnel_address6: an IPv6 address, got '%s'",
			   c->path, kg_conf_find(c, sec, "tunnel_address6")->line, s);
		rc = -EINVAL;
	}
	if (!rc)
		rc = kg_conf_list(c, sec, "services", &x->services, &x->n_services, e);
	if (!rc)
		rc = parse_mode(c, sec, x, e);
	if (rc) {
		user_clear(x);
		return rc == -ENOMEM ? rc : -EINVAL;
	}
	return 0;
}

/* Through the indexes: O(1) a record, however many are enrolled. */
static int check_unique(const struct kg_users *u, const struct kg_user *x,
			const char *path, struct kg_err *e)
{
	static const char *const what[IX_N] = {
		"user name", "knock_key", "tunnel_address", "tunnel_address6",
	};

	for (int k = 0; k < IX_N; k++) {
		const struct kg_user *o;

		if (k == IX_TUN6 && !x->tunnel6.family)
			continue;
		if ((o = ix_find(u, k, x))) {
			kg_err_set(e, "%s: [user %s]: %s already used by user '%s'",
				   path, x->name, what[k], o->name);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_sections(const struct kg_conf *c, struct kg_err *e)
{
	for (size_t i = 0; i < c->n; i++) {
		if (strncmp(c->items[i].section, "user ", 5)) {
			kg_err_set(e, "%s:%u: only [user NAME] sections belong here, got [%s]",
				   c->path, c->items[i].line, c->items[i].section);
			return -EINVAL;
		}
	}
	return 0;
}

int kg_users_add_conf(struct kg_users *u, const struct kg_conf *c,
		      struct kg_err *e)
{
	size_t first = u->n, i = 0;
	const char *name;
	int rc = check_sections(c, e);

	while (!rc && (name = kg_conf_next_section(c, "user", &i))) {
		struct kg_user x, *v;

		rc = parse_user(c, name, &x, e);
		if (rc)
			break;
		rc = check_unique(u, &x, c->path, e);
		if (!rc)
			rc = ix_room(u, u->n + 1);
		if (!rc && u->n == u->cap) {
			/* Geometric growth: enrolling 10,000 users stays linear. */
			size_t cap = u->cap ? 2 * u->cap : 16;

			v = realloc(u->v, cap * sizeof(*v));
			if (v) {
				u->v = v;
				u->cap = cap;
			} else {
				rc = -ENOMEM;
			}
		}
		if (rc) {
			user_clear(&x);
			break;
		}
		u->v[u->n++] = x;
		ix_put(u, u->n - 1);
	}
	if (rc) {
		ix_rebuild(u, first);
		while (u->n > first)
			user_clear(&u->v[--u->n]);
	}
	return rc;
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && !strcmp(d->d_name + n - 5, ".conf");
}

int kg_users_load_dir(struct kg_users *u, const char *dir, struct kg_err *e)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, conf_filter, alphasort), rc = 0;

	if (n < 0) {
		rc = -errno;
		kg_err_set(e, "%s: cannot read users directory: %s", dir, strerror(-rc));
		return rc;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct kg_conf c;

		if (!rc) {
			snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
			rc = kg_conf_load(&c, path, e);
			if (!rc)
				rc = kg_users_add_conf(u, &c, e);
			kg_conf_free(&c);
		}
		free(names[i]);
	}
	free(names);
	if (rc)
		kg_users_free(u);
	return rc;
}

struct kg_user *kg_users_find(const struct kg_users *u, const char *name)
{
	struct kg_user key;

	if (strlen(name) >= sizeof(key.name))
		return NULL;
	strcpy(key.name, name);
	return ix_find(u, IX_NAME, &key);
}

int kg_users_ids_update(struct kg_users *u, uint64_t now_s, bool force)
{
	const uint8_t **keys;
	int rc;

	if (!u->ids) {
		rc = kg_keyid_table_new(u->slot_s, &u->ids);
		if (rc)
			return rc;
		force = true;
	}
	/* Users added since the last build must be found at once. */
	force = force || !u->ids_built || u->n != u->ids_n;
	if (!force && now_s / u->slot_s == u->ids_slot)
		return 0;   /* the per-packet case: no work */
	u->ids_built = false;
	keys = calloc(u->n ? u->n : 1, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (size_t i = 0; i < u->n; i++)
		keys[i] = u->v[i].knock_key;
	rc = kg_keyid_table_update(u->ids, keys, u->n, now_s, force, NULL);
	free(keys);
	if (!rc) {
		u->ids_built = true;
		u->ids_slot = now_s / u->slot_s;
		u->ids_n = u->n;
	}
	return rc;
}

struct kg_user *kg_users_by_id(const struct kg_users *u, uint64_t id,
			       uint64_t *slot)
{
	uint32_t idx;

	if (!u->ids || !kg_keyid_lookup(u->ids, id, &idx, slot) || idx >= u->n)
		return NULL;
	return &u->v[idx];
}
