/* SPDX-License-Identifier: MIT */
/*
 * Certificate verification against our one CA and its CRL. OpenSSL does
 * the chain, validity and CRL work with a store holding only our CA (no
 * system trust); its error codes are mapped to our statuses so callers
 * can log exactly why a certificate was refused.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

static enum kg_pki_status map_verify_error(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return KG_PKI_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return KG_PKI_NOT_YET_VALID;
	case X509_V_ERR_CERT_REVOKED:
		return KG_PKI_REVOKED;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return KG_PKI_CRL_EXPIRED;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
	case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
	case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
		return KG_PKI_CRL_INVALID;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
		return KG_PKI_SELF_SIGNED;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		return KG_PKI_BAD_SIGNATURE;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return KG_PKI_UNKNOWN_CA;
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return KG_PKI_MALFORMED;
	case X509_V_ERR_INVALID_CA:
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		return KG_PKI_BAD_KEY_USAGE;
	case X509_V_ERR_OUT_OF_MEM:
		return KG_PKI_INTERNAL;
	default:
		return KG_PKI_UNKNOWN_CA;
	}
}

/* Checked before any chain work, so that an expired CRL refuses every
 * certificate with one clear reason (the admin must renew it). */
static enum kg_pki_status check_crl_time(const struct kg_pki *p, time_t now)
{
	const ASN1_TIME *next, *last;

	if (!p->crl)
		return KG_PKI_CRL_INVALID;
	last = X509_CRL_get0_lastUpdate(p->crl);
	next = X509_CRL_get0_nextUpdate(p->crl);
	if (!last || !next)
		return KG_PKI_CRL_INVALID;
	/* X509_cmp_time: -1 earlier or equal, 1 later, 0 unreadable. */
	if (X509_cmp_time(last, &now) != -1)
		return KG_PKI_CRL_INVALID;
	switch (X509_cmp_time(next, &now)) {
	case 1:
		return KG_PKI_OK;
	case -1:
		return KG_PKI_CRL_EXPIRED;
	default:
		return KG_PKI_CRL_INVALID;
	}
}

/* A certificate that signed itself and is not our CA: name it as such
 * rather than "unknown CA", it is a typical forgery attempt. */
static int is_foreign_self_signed(X509 *cert, X509 *ca)
{
	if (X509_cmp(cert, ca) == 0)
		return 0;
	if (X509_NAME_cmp(X509_get_subject_name(cert),
			  X509_get_issuer_name(cert)))
		return 0;
	return X509_verify(cert, X509_get0_pubkey(cert)) == 1;
}

static enum kg_pki_status verify_chain(const struct kg_pki *p, X509 *cert,
				       time_t now)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	enum kg_pki_status st = KG_PKI_INTERNAL;
	int ok;

	if (!store || !ctx || !X509_STORE_add_cert(store, p->ca) ||
	    !X509_STORE_add_crl(store, p->crl))
		goto out;
	if (!X509_STORE_CTX_init(ctx, store, cert, NULL))
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, now);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK |
				    X509_V_FLAG_X509_STRICT);
	X509_VERIFY_PARAM_set_depth(param, 0); /* leaf, then our CA */
	ok = X509_verify_cert(ctx);
	if (ok == 1)
		st = KG_PKI_OK;
	else if (ok == 0)
		st = map_verify_error(X509_STORE_CTX_get_error(ctx));
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return st;
}

static enum kg_pki_status verify_x509(const struct kg_pki *p, X509 *cert,
				      enum kg_pki_role role, int64_t now)
{
	time_t t = now ? (time_t)now : time(NULL);
	enum kg_pki_status st;

	st = check_crl_time(p, t);
	if (st != KG_PKI_OK)
		return st;
	if (is_foreign_self_signed(cert, p->ca))
		return KG_PKI_SELF_SIGNED;
	st = verify_chain(p, cert, t);
	if (st != KG_PKI_OK)
		return st;
	if (!kg_pki_key_is_p256(X509_get0_pubkey(cert)))
		return KG_PKI_BAD_KEY_TYPE;
	return kg_pki_check_role(cert, role);
}

enum kg_pki_status kg_pki_verify_der(const struct kg_pki *p, const uint8_t *der,
				     size_t len, enum kg_pki_role role,
				     int64_t now, X509 **out)
{
	const unsigned char *q = der;
	enum kg_pki_status st;
	X509 *cert;

	if (out)
		*out = NULL;
	if (!p || !der || len == 0 || len > LONG_MAX)
		return KG_PKI_MALFORMED;
	cert = d2i_X509(NULL, &q, (long)len);
	/* Trailing bytes would let two different inputs pass as one cert. */
	if (!cert || q != der + len) {
		X509_free(cert);
		return KG_PKI_MALFORMED;
	}
	st = verify_x509(p, cert, role, now);
	if (st == KG_PKI_OK && out)
		*out = cert;
	else
		X509_free(cert);
	return st;
}

enum kg_pki_status kg_pki_verify_pem_file(const struct kg_pki *p,
					  const char *path,
					  enum kg_pki_role role, int64_t now,
					  X509 **out)
{
	enum kg_pki_status st;
	X509 *cert;
	FILE *f;

	if (out)
		*out = NULL;
	f = fopen(path, "r");
	if (!f)
		return KG_PKI_MALFORMED;
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!cert)
		return KG_PKI_MALFORMED;
	st = p ? verify_x509(p, cert, role, now) : KG_PKI_INTERNAL;
	if (st == KG_PKI_OK && out)
		*out = cert;
	else
		X509_free(cert);
	return st;
}
