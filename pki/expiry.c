/* SPDX-License-Identifier: MIT */
/* When a certificate or CRL file stops being usable (pki.h). */
#include "pki.h"

#include <errno.h>
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
