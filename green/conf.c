/* SPDX-License-Identifier: MIT */
/* green.conf: the section table, loading, shared helpers. */
#include "green.h"
#include "gate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Every section green knows, and its parser. A later area adds a line;
 * sections owned by other parsers (user records) are not in this file. */
static const struct {
	const char *name;
	int (*parse)(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e);
} sections[] = {
	{ "green", green_conf_green },
	{ "ips", green_conf_ips },
	{ "wireguard", green_conf_wireguard },
	{ "knock", green_conf_knock },
	{ "pki", green_conf_pki },
	{ "session", green_conf_session },
	{ "service", green_conf_services },   /* [service NAME] */
	{ "site", green_conf_site },
	{ "red", green_conf_red },     /* [red NAME] */
	{ "admin", green_conf_admin },
};

#define N_SECTIONS (sizeof(sections) / sizeof(sections[0]))

static bool known(const char *section)
{
	for (size_t i = 0; i < N_SECTIONS; i++) {
		size_t n = strlen(sections[i].name);

		/* "kind" or "kind NAME" */
		if (!strncmp(sections[i].name, section, n) &&
		    (section[n] == '\0' || section[n] == ' '))
			return true;
	}
	return false;
}

/* The WireGuard shards take wg_port .. wg_port + wg_shards - 1 and names
 * wg_interface + "sK": the site link (default port 51821) must not. */
static int shards_apart(const struct green_conf *c, const char *path,
			struct kg_err *e)
{
	if (c->wg_shards <= 1 || !c->site.enabled)
		return 0;
	if (c->site.listen_port >= c->wg_port &&
	    c->site.listen_port < c->wg_port + c->wg_shards) {
		kg_err_set(e, "%s: [site] listen_port %u is one of the WireGuard shards' ports %u..%u "
			   "(wg_port + wg_shards - 1): move wg_port or listen_port",
			   path, c->site.listen_port, c->wg_port,
			   c->wg_port + c->wg_shards - 1);
		return -EINVAL;
	}
	for (unsigned k = 1; c->site.interface && k < c->wg_shards; k++) {
		char name[16];

		green_shard_ifname(c->wg_interface, k, name);
		if (!strcmp(name, c->site.interface)) {
			kg_err_set(e, "%s: [site] interface %s is WireGuard shard %u's name",
				   path, name, k);
			return -EINVAL;
		}
	}
	return 0;
}

int green_conf_load(struct green_conf *c, const char *path, struct kg_err *e)
{
	struct kg_conf conf;
	int r;

	memset(c, 0, sizeof(*c));
	r = kg_conf_load(&conf, path, e);
	if (r)
		goto out;
	/* A misspelt section must not be ignored silently. */
	for (size_t i = 0; i < conf.n; i++) {
		if (!known(conf.items[i].section)) {
			kg_err_set(e, "%s:%u: unknown section '[%s]'", path,
				   conf.items[i].line, conf.items[i].section);
			r = -EINVAL;
			goto out;
		}
	}
	for (size_t i = 0; i < N_SECTIONS; i++) {
		r = sections[i].parse(c, &conf, e);
		if (r)
			goto out;
	}
	r = shards_apart(c, path, e);
out:
	kg_conf_free(&conf);
	return r;
}

void green_conf_free(struct green_conf *c)
{
	free(c->wg_interface);
	free(c->mgmt);
	free(c->vrrp_peers);
	kg_conf_list_free(c->mgmt_ifaces, c->n_mgmt_ifaces);
	free(c->mgmt_ports);
	free(c->never_ban);
	green_gate_conf_free(c->gate);
	green_conf_site_free(&c->site);
	green_conf_admin_free(&c->admin);
	memset(c, 0, sizeof(*c));
}

int green_conf_prefixes(const struct kg_conf *conf, const char *section,
			const char *key, struct kg_prefix **out, size_t *n,
			struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(conf, section, key);
	char **v = NULL;
	size_t nv = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = kg_conf_list(conf, section, key, &v, &nv, e);
	if (r || !nv)
		goto out;
	*out = calloc(nv, sizeof(**out));
	if (!*out) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nv; i++) {
		if (kg_prefix_parse(v[i], &(*out)[i])) {
			kg_err_set(e, "%s:%u: %s: expected an address or prefix, got '%s'",
				   conf->path, it ? it->line : 0, key, v[i]);
			free(*out);
			*out = NULL;
			r = -EINVAL;
			goto out;
		}
	}
	*n = nv;
out:
	kg_conf_list_free(v, nv);
	return r;
}
