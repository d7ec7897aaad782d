/* SPDX-License-Identifier: MIT */
#include "policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kg_policy_init(struct kg_policy *p)
{
	memset(p, 0, sizeof(*p));
}

static void user_free(struct kg_policy_user *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->services[i]);
	free(u->services);
	free(u->name);
	memset(u, 0, sizeof(*u));
}

void kg_policy_free(struct kg_policy *p)
{
	for (size_t i = 0; i < p->n_users; i++)
		user_free(&p->users[i]);
	free(p->users);
	free(p->head);
	free(p->svc);
	memset(p, 0, sizeof(*p));
}

const struct kg_service *kg_policy_service(const struct kg_policy *p,
					   const char *name)
{
	for (size_t i = 0; i < p->n_svc; i++)
		if (strcmp(p->svc[i].name, name) == 0)
			return &p->svc[i];
	return NULL;
}

/* FNV-1a of a user name: its chain. Names are the admin's records'
 * (and the lookups' come from authenticated sessions), so no seed. */
static size_t name_bucket(const struct kg_policy *p, const char *name)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32)) & (p->n_head - 1);
}

/* The link in its chain that points at user i (or the chain's end). */
static uint32_t *user_link(const struct kg_policy *p, const char *name)
{
	uint32_t *l = &p->head[name_bucket(p, name)];

	while (*l && strcmp(p->users[*l - 1].name, name) != 0)
		l = &p->users[*l - 1].next;
	return l;
}

static struct kg_policy_user *find_user(const struct kg_policy *p,
					const char *user)
{
	uint32_t *l;

	if (!p->n_head)
		return NULL;
	l = user_link(p, user);
	return *l ? &p->users[*l - 1] : NULL;
}

static void index_add(struct kg_policy *p, size_t i)
{
	size_t b = name_bucket(p, p->users[i].name);

	p->users[i].next = p->head[b];
	p->head[b] = (uint32_t)(i + 1);
}

/* Room for one user more: the array and the index double (the index is
 * rebuilt then), so n set_user calls cost O(n) in all. 0 or -ENOMEM
 * (nothing changed). */
static int users_reserve(struct kg_policy *p)
{
	struct kg_policy_user *grown;

	if (p->n_users == p->cap_users) {
		size_t cap = p->cap_users ? 2 * p->cap_users : 16;

		grown = realloc(p->users, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		p->users = grown;
		p->cap_users = cap;
	}
	if (p->n_users + 1 > p->n_head) {
		size_t n = p->n_head ? 2 * p->n_head : 16;
		uint32_t *h = calloc(n, sizeof(*h));

		if (!h)
			return -ENOMEM;
		free(p->head);
		p->head = h;
		p->n_head = n;
		for (size_t i = 0; i < p->n_users; i++)
			index_add(p, i);
	}
	return 0;
}

static int read_service(const struct kg_conf *c, const char *section,
			const char *name, struct kg_service *s,
			struct kg_err *e)
{
	static const char *const keys[] = { "red", "address", NULL };
	const char *red, *addr;
	int rc;

	if (!kg_ctrl_name_ok((const uint8_t *)name, strlen(name))) {
		kg_err_set(e, "%s: [%s]: service names are [a-z0-9_.-]{1,32}",
			   c->path, section);
		return -EINVAL;
	}
	rc = kg_conf_check_keys(c, section, keys, e) ?:
	     kg_conf_str(c, section, "red", NULL, &red, e) ?:
	     kg_conf_str(c, section, "address", NULL, &addr, e);
	if (rc)
		return rc;
	if (strlen(red) >= sizeof(s->red_id) ||
	    kg_addr_parse(addr, &s->red_addr)) {
		kg_err_set(e, "%s: [%s]: bad red or address '%.60s'", c->path,
			   section, addr);
		return -EINVAL;
	}
	strcpy(s->name, name);
	strcpy(s->red_id, red);
	return 0;
}

int kg_policy_load_services(struct kg_policy *p, const struct kg_conf *c,
			    struct kg_err *e)
{
	const char *name;
	size_t it = 0;
	int rc;

	while ((name = kg_conf_next_section(c, "service", &it))) {
		char section[128];
		struct kg_service *grown;

		snprintf(section, sizeof(section), "service %s", name);
		if (kg_policy_service(p, name)) {
			kg_err_set(e, "%s: service '%.40s' twice", c->path, name);
			return -EEXIST;
		}
		grown = realloc(p->svc, (p->n_svc + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		p->svc = grown;
		if ((rc = read_service(c, section, name, &p->svc[p->n_svc], e)))
			return rc;
		p->n_svc++;
	}
	return 0;
}

static int copy_list(struct kg_policy_user *u, const char *const *services,
		     size_t n)
{
	u->services = calloc(n ? n : 1, sizeof(char *));
	if (!u->services)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!(u->services[i] = strdup(services[i])))
			return -ENOMEM;
		u->n++;
	}
	return 0;
}

int kg_policy_set_user(struct kg_policy *p, const char *user,
		       const char *const *services, size_t n, struct kg_err *e)
{
	struct kg_policy_user nu = { 0 }, *old;
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (!kg_policy_service(p, services[i])) {
			kg_err_set(e, "user %.64s: unknown service '%.40s'",
				   user, services[i]);
			return -ENOENT;
		}
	}
	if (!(nu.name = strdup(user)) || (rc = copy_list(&nu, services, n))) {
		user_free(&nu);
		return -ENOMEM;
	}
	if ((old = find_user(p, user))) {
		nu.next = old->next;
		user_free(old);
		*old = nu;
		return 0;
	}
	if (users_reserve(p)) {
		user_free(&nu);
		return -ENOMEM;
	}
	p->users[p->n_users] = nu;
	index_add(p, p->n_users++);
	return 0;
}

int kg_policy_load_user(struct kg_policy *p, const struct kg_conf *rec,
			const char *user, struct kg_err *e)
{
	char section[128];
	char **v = NULL;
	size_t n = 0;
	int rc;

	snprintf(section, sizeof(section), "user %s", user);
	rc = kg_conf_list(rec, section, "services", &v, &n, e);
	if (rc == 0) {
		rc = kg_policy_set_user(p, user, (const char *const *)v, n, e);
		if (rc == -ENOENT)
			kg_err_set(e, "%s: [%s] services: unknown service",
				   rec->path, section);
	}
	kg_conf_list_free(v, n);
	return rc;
}

int kg_policy_remove_user(struct kg_policy *p, const char *user)
{
	uint32_t *l, i, last;

	if (!p->n_head || !*(l = user_link(p, user)))
		return -ENOENT;
	i = *l - 1;
	*l = p->users[i].next;
	user_free(&p->users[i]);
	last = (uint32_t)--p->n_users;
	if (i != last) {
		/* the last user moves into the hole: its chain follows */
		l = user_link(p, p->users[last].name);
		*l = p->users[last].next;
		p->users[i] = p->users[last];
		index_add(p, i);
	}
	return 0;
}

bool kg_policy_allows(const struct kg_policy *p, const char *user,
		      const char *service)
{
	const struct kg_policy_user *u = find_user(p, user);

	if (!u || !kg_policy_service(p, service))
		return false;
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->services[i], service) == 0)
			return true;
	return false;
}

void kg_policy_user_services(const struct kg_policy *p, const char *user,
			     const char **names, size_t cap, size_t *n)
{
	const struct kg_policy_user *u = find_user(p, user);

	*n = 0;
	if (!u)
		return;
	for (size_t i = 0; i < p->n_svc && *n < cap; i++)
		if (kg_policy_allows(p, user, p->svc[i].name))
			names[(*n)++] = p->svc[i].name;
}
