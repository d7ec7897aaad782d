/* SPDX-License-Identifier: MIT */
/* The [admin] section: admin socket, metrics file, expiry warnings. */
#include "green.h"
#include "admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const admin_keys[] = {
	"socket", "metrics_file", "metrics_interval", "expiry_warning_days",
	"host_certificate", NULL
};

/* An absolute path, or "off" (NULL); def when absent. */
static int path(const struct kg_conf *conf, const char *key, const char *def,
		char **out, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(conf, "admin", key);
	const char *v;
	int r = kg_conf_str(conf, "admin", key, def, &v, e);

	*out = NULL;
	if (r)
		return r;
	if (!*v || !strcmp(v, "off"))
		return 0;
	if (v[0] != '/') {
		kg_err_set(e, "%s:%u: %s: expected an absolute path or 'off', got '%s'",
			   conf->path, it ? it->line : 0, key, v);
		return -EINVAL;
	}
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

int green_conf_admin(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e)
{
	struct green_admin_conf *a = &c->admin;
	uint64_t iv, days;
	int r;

	if ((r = kg_conf_check_keys(conf, "admin", admin_keys, e)) ||
	    (r = path(conf, "socket", GREEN_ADMIN_SOCKET, &a->socket, e)) ||
	    (r = path(conf, "metrics_file", GREEN_ADMIN_METRICS,
		      &a->metrics_file, e)) ||
	    (r = path(conf, "host_certificate", "", &a->host_cert, e)) ||
	    (r = kg_conf_uint(conf, "admin", "metrics_interval", false, 5, 1,
			      3600, &iv, e)) ||
	    (r = kg_conf_uint(conf, "admin", "expiry_warning_days", false, 14,
			      0, 3650, &days, e)))
		return r;
	a->metrics_interval = (unsigned)iv;
	a->expiry_warning_days = (unsigned)days;
	return 0;
}

void green_conf_admin_free(struct green_admin_conf *a)
{
	free(a->socket);
	free(a->metrics_file);
	free(a->host_cert);
	memset(a, 0, sizeof(*a));
}
