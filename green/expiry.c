/* SPDX-License-Identifier: MIT */
/*
 * Expiry warnings on green: the CRLs green checks with ([pki] crl, [site]
 * crl) lock everyone out once past their nextUpdate, and the CA, green's
 * own host certificate and the reds' certificates stop working at their
 * notAfter. expiry_warning_days before that, a warning record
 * (event=expiry) goes to the log, repeated daily while it lasts, and
 * STATUS= says so (green_admin_status_note). Files are read again on every
 * check, so a renewed CRL clears the warning without a reload. The
 * checking itself is kg_expiry_* (pki/expiry.c), shared with red.
 */
#include "admin_int.h"
#include "gate.h"
#include "green.h"
#include "log.h"
#include "pki.h"
#include "time.h"

#include <stdlib.h>
#include <string.h>

void green_expiry_free(struct green_admin *a)
{
	for (size_t i = 0; i < a->n_exp; i++)
		kg_expiry_clear(&a->exp[i]);
	free(a->exp);
	a->exp = NULL;
	a->n_exp = 0;
}

static void add(struct green_admin *a, const char *what, const char *name,
		const char *path, bool crl)
{
	if (path && *path && !kg_expiry_set(&a->exp[a->n_exp], what, name,
					      path, crl))
		a->n_exp++;
}

void green_expiry_setup(struct green *g)
{
	struct green_admin *a = g->admin;
	const struct green_conf *c = &g->conf;
	size_t cap = 5 + c->site.n_reds;

	green_expiry_free(a);
	a->exp = calloc(cap, sizeof(*a->exp));
	if (!a->exp) {
		kg_log(KG_LOG_ERR, "expiry: out of memory");
		return;
	}
	if (c->gate) {
		add(a, "crl", "pki", c->gate->crl, true);
		add(a, "ca", "pki", c->gate->ca, false);
	}
	if (c->site.enabled) {
		add(a, "crl", "site", c->site.crl, true);
		for (size_t i = 0; i < c->site.n_reds; i++)
			add(a, "red_cert", c->site.reds[i].id,
			    c->site.reds[i].cert, false);
	}
	add(a, "host_cert", "green", c->admin.host_cert, false);
}

void green_expiry_check(struct green *g)
{
	struct green_admin *a = g->admin;
	int64_t warn_s = (int64_t)g->conf.admin.expiry_warning_days * 86400;

	for (size_t i = 0; i < a->n_exp; i++)
		kg_expiry_check(&a->exp[i], kg_wall_s(), warn_s);
}

void green_expiry_note(const struct green *g, char *buf, size_t cap)
{
	buf[0] = '\0';
	if (g->admin)
		kg_expiry_note(g->admin->exp, g->admin->n_exp, kg_wall_s(),
			       buf, cap);
}
