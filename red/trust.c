/* SPDX-License-Identifier: MIT */
#include "red.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "pki.h"

void red_trust_free(struct red *r)
{
	for (size_t i = 0; i < KG_RED_MAX_GREENS; i++) {
		X509_free(r->green_cert[i]);
		r->green_cert[i] = NULL;
		r->st.green_cert[i] = NULL;
	}
	kg_pki_free(r->pki);
	kg_hostkey_free(r->key);
	r->pki = NULL;
	r->key = NULL;
}

/* Each green's certificate against the CA and its CRL, role green. A
 * refused one disables that green (its knocks are dropped), the others
 * keep working; with none left red could never grant: fatal. */
static int check_greens(struct red *r, struct kg_err *e)
{
	size_t ok = 0;

	for (size_t i = 0; i < r->cfg.n_greens; i++) {
		const struct kg_red_green *g = &r->cfg.greens[i];
		enum kg_pki_status s;

		s = kg_pki_verify_pem_file(r->pki, g->cert, KG_ROLE_GREEN, 0,
					   &r->green_cert[i]);
		if (s != KG_PKI_OK)
			r->green_cert[i] = NULL;
		kg_log_event(s == KG_PKI_OK ? KG_LOG_INFO : KG_LOG_ERR,
			     "green_cert", "green", g->id, "cert", g->cert,
			     "result", s == KG_PKI_OK ? "ok" : "refused",
			     "reason", s == KG_PKI_OK ? NULL : kg_pki_status_name(s));
		ok += s == KG_PKI_OK;
		r->st.green_cert[i] = r->green_cert[i];
	}
	if (ok == 0) {
		kg_err_set(e, "no green certificate passed the CA/CRL check");
		return -EACCES;
	}
	return 0;
}

int red_trust_load(struct red *r, struct kg_err *e)
{
	int rc;

	if ((rc = kg_pki_load(&r->pki, r->cfg.ca, r->cfg.crl, e)) ||
	    (rc = kg_hostkey_load(&r->key, r->cfg.host_key, e)))
		return rc;
	return check_greens(r, e);
}
