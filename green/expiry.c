/* SPDX-License-Identifier: MIT */
/*
 * Expiry warnings: the CRLs green checks with ([pki] crl, [site] crl)
 * lock everyone out once past their nextUpdate, and the CA, green's own
 * host certificate and the reds' certificates stop working at their
 * notAfter. expiry_warning_days before that, a warning record
 * (event=expiry) goes to the log, repeated daily while it lasts, and
 * STATUS= says so (green_admin_status_note). Files are read again on every
 * check, so a renewed CRL clears the warning without a reload.
 */
#include "admin_int.h"
#include "gate.h"
#include "green.h"
#include "log.h"
#include "pki.h"
#include "time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELOG_S 86400

void green_expiry_free(struct green_admin *a)
{
	for (size_t i = 0; i < a->n_exp; i++)
		free(a->exp[i].path);
	free(a->exp);
	a->exp = NULL;
	a->n_exp = 0;
}

static void add(struct green_admin *a, const char *what, const char *name,
		const char *path, bool crl)
{
	struct green_expiry *x;

	if (!path || !*path)
		return;
	x = &a->exp[a->n_exp];
	memset(x, 0, sizeof(*x));
	snprintf(x->what, sizeof(x->what), "%s", what);
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->path = strdup(path);
	x->crl = crl;
	if (x->path)
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

static void check_one(struct green_expiry *x, int64_t now, int64_t warn_s)
{
	struct kg_err e = { "" };
	char left[24], at[24];
	int state;

	x->error[0] = '\0';
	if (kg_pki_file_expiry(x->path, x->crl, &x->at, &e)) {
		snprintf(x->error, sizeof(x->error), "%s", e.msg);
		state = 2;
	} else {
		state = x->at <= now ? 2 : x->at - now <= warn_s ? 1 : 0;
	}
	if (state == 0) {
		if (x->state)
			kg_log_event(KG_LOG_NOTICE, "expiry", "result", "ok",
				     "what", x->what, "name", x->name,
				     "path", x->path);
		x->state = 0;
		return;
	}
	if (state == x->state && kg_mono_s() - x->logged_mono < RELOG_S)
		return;
	x->state = state;
	x->logged_mono = kg_mono_s();
	if (x->error[0]) {
		kg_log_event(KG_LOG_WARNING, "expiry", "result", "unreadable",
			     "what", x->what, "name", x->name, "path", x->path,
			     "error", x->error);
		return;
	}
	snprintf(left, sizeof(left), "%" PRId64, (x->at - now) / 86400);
	snprintf(at, sizeof(at), "%" PRId64, x->at);
	kg_log_event(KG_LOG_WARNING, "expiry",
		     "result", state == 2 ? "expired" : "warning",
		     "what", x->what, "name", x->name, "path", x->path,
		     "days_left", left, "at", at);
}

void green_expiry_check(struct green *g)
{
	struct green_admin *a = g->admin;
	int64_t now = kg_wall_s();
	int64_t warn_s = (int64_t)g->conf.admin.expiry_warning_days * 86400;

	for (size_t i = 0; i < a->n_exp; i++)
		check_one(&a->exp[i], now, warn_s);
}

void green_expiry_note(const struct green *g, char *buf, size_t cap)
{
	const struct green_admin *a = g->admin;
	const struct green_expiry *worst = NULL;
	int64_t now = kg_wall_s();

	buf[0] = '\0';
	for (size_t i = 0; a && i < a->n_exp; i++) {
		const struct green_expiry *x = &a->exp[i];

		if (!x->state)
			continue;
		if (!worst || x->state > worst->state ||
		    (x->state == worst->state && x->at < worst->at))
			worst = x;
	}
	if (!worst)
		return;
	if (worst->error[0])
		snprintf(buf, cap, "; WARNING: %s %s unreadable", worst->what,
			 worst->path);
	else if (worst->at <= now)
		snprintf(buf, cap, "; WARNING: %s %s expired", worst->what,
			 worst->path);
	else
		snprintf(buf, cap, "; WARNING: %s %s expires in %" PRId64 " days",
			 worst->what, worst->path, (worst->at - now) / 86400);
}
