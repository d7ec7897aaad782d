/* SPDX-License-Identifier: MIT */
/* The [ips] section: when a source is banned, for how long, caps. */
#include "green.h"

#include <errno.h>

static const char *const ips_keys[] = {
	"scan_ports", "scan_window", "ban_time", "invalid_knocks",
	"max_sources", "max_bans", "never_ban",
	NULL
};

static int get_u(const struct kg_conf *conf, const char *key, uint64_t def,
		 uint64_t min, uint64_t max, unsigned *out, struct kg_err *e)
{
	uint64_t v;
	int r = kg_conf_uint(conf, "ips", key, false, def, min, max, &v, e);

	*out = (unsigned)v;
	return r;
}

int green_conf_ips(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e)
{
	struct kg_ips_config *i = &c->ips;
	unsigned ms, mb;
	int r;

	if ((r = kg_conf_check_keys(conf, "ips", ips_keys, e)) ||
	    (r = get_u(conf, "scan_ports", 10, 1, 1024, &i->scan_ports, e)) ||
	    (r = get_u(conf, "scan_window", 60, 1, 86400, &i->window_s, e)) ||
	    (r = get_u(conf, "ban_time", 3600, 1, 30 * 86400, &i->ban_s, e)) ||
	    (r = get_u(conf, "invalid_knocks", 5, 1, 1024, &i->invalid_knocks, e)) ||
	    (r = get_u(conf, "max_sources", 65536, 1, 1 << 20, &ms, e)) ||
	    (r = get_u(conf, "max_bans", 65536, 1, 1 << 20, &mb, e)))
		return r;
	i->max_sources = ms;
	i->max_bans = mb;
	r = green_conf_prefixes(conf, "ips", "never_ban", &c->never_ban,
				&c->n_never_ban, e);
	i->never_ban = c->never_ban;
	i->n_never_ban = c->n_never_ban;
	return r;
}
