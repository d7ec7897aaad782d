/* SPDX-License-Identifier: MIT */
/*
 * The gate's config sections:
 *   [wireguard] private_key
 *   [knock]     users_dir, window, replay_cache, sequence, sequence_timeout
 *   [pki]       ca, crl
 *   [session]   read by kg_session_conf_read (session.c)
 *   [service NAME] read by kg_policy_load_services (policy.c)
 */
#include "gate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int gate_conf(struct green_conf *c, struct green_gate_conf **out)
{
	if (!c->gate) {
		c->gate = calloc(1, sizeof(*c->gate));
		if (!c->gate)
			return -ENOMEM;
		kg_policy_init(&c->gate->services);
	}
	*out = c->gate;
	return 0;
}

static int dup_str(const struct kg_conf *conf, const char *section,
		   const char *key, const char *def, char **out,
		   struct kg_err *e)
{
	const char *s;
	int r = kg_conf_str(conf, section, key, def, &s, e);

	if (r)
		return r;
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int green_conf_wireguard(struct green_conf *c, const struct kg_conf *conf,
			 struct kg_err *e)
{
	static const char *const keys[] = { "private_key", NULL };
	struct green_gate_conf *gc;
	int r;

	if ((r = gate_conf(c, &gc)) ||
	    (r = kg_conf_check_keys(conf, "wireguard", keys, e)))
		return r;
	return dup_str(conf, "wireguard", "private_key",
		       "/etc/knockgate/wg.key", &gc->wg_private_key, e);
}

int green_conf_knock(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e)
{
	static const char *const keys[] = {
		"users_dir", "window", "replay_cache", "sequence",
		"sequence_timeout", "prefilter", NULL
	};
	struct green_gate_conf *gc;
	uint64_t v;
	int r;

	if ((r = gate_conf(c, &gc)) ||
	    (r = kg_conf_check_keys(conf, "knock", keys, e)) ||
	    (r = dup_str(conf, "knock", "users_dir", "/etc/knockgate/users.d",
			 &gc->users_dir, e)))
		return r;
	/* The key-id slot must cover the window (knock_check.h). */
	if ((r = kg_conf_uint(conf, "knock", "window", false,
			      KG_KNOCK_WINDOW_DEFAULT, 5, KG_KNOCK_SLOT_DEFAULT,
			      &v, e)))
		return r;
	gc->window_s = (uint32_t)v;
	if ((r = kg_conf_uint(conf, "knock", "replay_cache", false, 65536,
			      16, 16777216, &v, e)))
		return r;
	gc->replay_cache = (uint32_t)v;
	if ((r = kg_conf_uint(conf, "knock", "sequence_timeout", false, 10,
			      1, 300, &v, e)))
		return r;
	gc->sequence_timeout_ms = (uint32_t)v * 1000;
	gc->enabled = kg_conf_has_section(conf, "knock");
	if ((r = kg_conf_bool(conf, "knock", "prefilter", true, &gc->prefilter, e)))
		return r;
	return kg_conf_bool(conf, "knock", "sequence", false, &gc->sequence, e);
}

int green_conf_pki(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e)
{
	static const char *const keys[] = { "ca", "crl", "bundle", NULL };
	struct green_gate_conf *gc;
	int r;

	if ((r = gate_conf(c, &gc)) ||
	    (r = kg_conf_check_keys(conf, "pki", keys, e)) ||
	    (r = dup_str(conf, "pki", "ca", "/etc/knockgate/ca.pem", &gc->ca, e)) ||
	    (r = dup_str(conf, "pki", "bundle", "", &gc->bundle, e)))
		return r;
	if (gc->bundle[0] && gc->bundle[0] != '/') {
		kg_err_set(e, "%s: [pki] bundle: an absolute path expected, got '%s'",
			   conf->path ? conf->path : "?", gc->bundle);
		return -EINVAL;
	}
	return dup_str(conf, "pki", "crl", "/etc/knockgate/crl.pem", &gc->crl, e);
}

int green_conf_session(struct green_conf *c, const struct kg_conf *conf,
		       struct kg_err *e)
{
	struct green_gate_conf *gc;
	int r;

	if ((r = gate_conf(c, &gc)) ||
	    (r = kg_session_conf_read(conf, &gc->sess, e)))
		return r;
	/* One control port: the table's ([green]) and the server's. */
	if (kg_conf_find(conf, "session", "control_port") &&
	    gc->sess.control_port != c->control_port) {
		kg_err_set(e, "%s: [session] control_port %u differs from [green] control_port %u",
			   conf->path, gc->sess.control_port, c->control_port);
		return -EINVAL;
	}
	gc->sess.control_port = c->control_port;
	return 0;
}

int green_conf_services(struct green_conf *c, const struct kg_conf *conf,
			struct kg_err *e)
{
	struct green_gate_conf *gc;
	int r;

	if ((r = gate_conf(c, &gc)))
		return r;
	return kg_policy_load_services(&gc->services, conf, e);
}

void green_gate_conf_free(struct green_gate_conf *gc)
{
	if (!gc)
		return;
	free(gc->wg_private_key);
	free(gc->users_dir);
	free(gc->ca);
	free(gc->crl);
	free(gc->bundle);
	kg_policy_free(&gc->services);
	free(gc);
}
