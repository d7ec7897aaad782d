/* SPDX-License-Identifier: MIT */
/* When a certificate or CRL file stops being usable, and the warnings
 * before that (pki.h). */
#include "pki.h"
#include "log.h"
#include "time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>

/* ASN1_TIME -> seconds since the epoch. */
static int asn1_epoch(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int kg_pki_file_expiry(const char *path, bool crl, int64_t *out,
		       struct kg_err *e)
{
	FILE *f = fopen(path, "re");
	X509_CRL *c = NULL;
	X509 *x = NULL;
	int r;

	if (!f) {
		r = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return r;
	}
	if (crl)
		c = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	else
		x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!c && !x) {
		kg_err_set(e, "%s: no PEM %s", path, crl ? "CRL" : "certificate");
		return -EINVAL;
	}
	r = crl ? asn1_epoch(X509_CRL_get0_nextUpdate(c), out) :
		  asn1_epoch(X509_get0_notAfter(x), out);
	if (r)
		kg_err_set(e, "%s: %s unreadable", path,
			   crl ? "nextUpdate missing or" : "notAfter");
	X509_CRL_free(c);
	X509_free(x);
	return r;
}

#define RELOG_S 86400

int kg_expiry_set(struct kg_expiry *x, const char *what, const char *name,
		  const char *path, bool crl)
{
	memset(x, 0, sizeof(*x));
	snprintf(x->what, sizeof(x->what), "%s", what);
	snprintf(x->name, sizeof(x->name), "%s", name);
	x->crl = crl;
	x->path = strdup(path);
	return x->path ? 0 : -ENOMEM;
}

void kg_expiry_clear(struct kg_expiry *x)
{
	free(x->path);
	memset(x, 0, sizeof(*x));
}

const char *kg_expiry_state_name(const struct kg_expiry *x)
{
	if (x->error[0])
		return "unreadable";
	return x->state == 2 ? "expired" : x->state == 1 ? "warning" : "ok";
}

void kg_expiry_check(struct kg_expiry *x, int64_t now, int64_t warn_s)
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
	if (state == x->state && x->logged_mono &&
	    kg_mono_s() - x->logged_mono < RELOG_S)
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

void kg_expiry_note(const struct kg_expiry *v, size_t n, int64_t now,
		    char *buf, size_t cap)
{
	const struct kg_expiry *worst = NULL;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!v[i].state)
			continue;
		if (!worst || v[i].state > worst->state ||
		    (v[i].state == worst->state && v[i].at < worst->at))
			worst = &v[i];
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
