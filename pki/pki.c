/* SPDX-License-Identifier: MIT */
/* Status names and loading the trust anchor (one CA) and its CRL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

static const struct {
	const char *name;
	const char *text;
} statuses[] = {
	[KG_PKI_OK] = { "ok", "certificate accepted" },
	[KG_PKI_MALFORMED] = { "malformed", "not a parseable certificate or signature" },
	[KG_PKI_UNKNOWN_CA] = { "unknown_ca", "not issued by our CA" },
	[KG_PKI_SELF_SIGNED] = { "self_signed", "self-signed certificate that is not our CA" },
	[KG_PKI_EXPIRED] = { "expired", "certificate has expired" },
	[KG_PKI_NOT_YET_VALID] = { "not_yet_valid", "certificate is not valid yet" },
	[KG_PKI_REVOKED] = { "revoked", "certificate is revoked (on our CRL)" },
	[KG_PKI_CRL_EXPIRED] = { "crl_expired", "our CRL is past its next update: refusing every certificate until it is renewed" },
	[KG_PKI_CRL_INVALID] = { "crl_invalid", "CRL missing, unparseable, not yet valid or not signed by our CA" },
	[KG_PKI_BAD_KEY_USAGE] = { "bad_key_usage", "key usage does not allow digital signatures by an end entity" },
	[KG_PKI_BAD_EKU] = { "bad_eku", "extended key usage does not allow this use" },
	[KG_PKI_WRONG_ROLE] = { "wrong_role", "certificate is for another role (user, green or red)" },
	[KG_PKI_BAD_KEY_TYPE] = { "bad_key_type", "key is not ECDSA P-256" },
	[KG_PKI_BAD_SIGNATURE] = { "bad_signature", "signature does not verify" },
	[KG_PKI_INTERNAL] = { "internal", "internal OpenSSL failure" },
};

const char *kg_pki_status_name(enum kg_pki_status s)
{
	if ((unsigned)s >= sizeof(statuses) / sizeof(statuses[0]))
		return "unknown";
	return statuses[s].name;
}

const char *kg_pki_strerror(enum kg_pki_status s)
{
	if ((unsigned)s >= sizeof(statuses) / sizeof(statuses[0]))
		return "unknown status";
	return statuses[s].text;
}

int kg_pki_key_is_p256(EVP_PKEY *k)
{
	char group[64];
	size_t len = 0;

	if (!k || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC)
		return 0;
	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
					    group, sizeof(group), &len))
		return 0;
	return strcmp(group, "prime256v1") == 0;
}

X509 *kg_pki_ca(const struct kg_pki *p)
{
	return p ? p->ca : NULL;
}

void kg_pki_free(struct kg_pki *p)
{
	if (!p)
		return;
	X509_free(p->ca);
	X509_CRL_free(p->crl);
	free(p);
}

/* The anchor must be a CA with a P-256 key that signed itself: anything
 * else in ca.pem is a provisioning mistake worth stopping the daemon for. */
static int check_ca(X509 *ca, const char *name, struct kg_err *e)
{
	EVP_PKEY *k = X509_get0_pubkey(ca);

	if (X509_check_ca(ca) == 0) {
		kg_err_set(e, "%s: not a CA certificate", name);
		return -EINVAL;
	}
	if (!kg_pki_key_is_p256(k)) {
		kg_err_set(e, "%s: CA key is not ECDSA P-256", name);
		return -EINVAL;
	}
	if (X509_verify(ca, k) != 1) {
		kg_err_set(e, "%s: CA certificate is not self-signed", name);
		return -EINVAL;
	}
	return 0;
}

static int check_crl(X509_CRL *crl, X509 *ca, const char *name,
		     struct kg_err *e)
{
	if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca))) {
		kg_err_set(e, "%s: CRL issuer is not our CA", name);
		return -EINVAL;
	}
	if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
		kg_err_set(e, "%s: CRL signature does not verify with our CA", name);
		return -EINVAL;
	}
	if (!X509_CRL_get0_nextUpdate(crl)) {
		kg_err_set(e, "%s: CRL has no nextUpdate", name);
		return -EINVAL;
	}
	return 0;
}

int kg_pki_load_mem(struct kg_pki **out, const void *ca_pem, size_t ca_len,
		    const void *crl_pem, size_t crl_len, struct kg_err *e)
{
	struct kg_pki *p = NULL;
	BIO *b = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (ca_len > INT32_MAX || crl_len > INT32_MAX) {
		kg_err_set(e, "CA or CRL too large");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	b = BIO_new_mem_buf(ca_pem, (int)ca_len);
	if (!p || !b)
		goto out;
	rc = -EINVAL;
	p->ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!p->ca) {
		kg_err_set(e, "CA: no PEM certificate");
		goto out;
	}
	rc = check_ca(p->ca, "CA", e);
	if (rc < 0)
		goto out;
	if (crl_pem) {
		BIO_free(b);
		b = BIO_new_mem_buf(crl_pem, (int)crl_len);
		rc = -ENOMEM;
		if (!b)
			goto out;
		rc = -EINVAL;
		p->crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
		if (!p->crl) {
			kg_err_set(e, "CRL: no PEM CRL");
			goto out;
		}
		rc = check_crl(p->crl, p->ca, "CRL", e);
		if (rc < 0)
			goto out;
	}
	*out = p;
	p = NULL;
	rc = 0;
out:
	BIO_free(b);
	kg_pki_free(p);
	return rc;
}

/* Whole small file into memory; PEM CA/CRL files are a few KB. */
static int slurp(const char *path, char **buf, size_t *len, struct kg_err *e)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 1u << 20, n;
	int rc = 0;

	*buf = NULL;
	if (!f) {
		rc = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return rc;
	}
	*buf = malloc(cap);
	if (!*buf) {
		rc = -ENOMEM;
		goto out;
	}
	n = fread(*buf, 1, cap, f);
	if (ferror(f) || n == cap) {
		rc = ferror(f) ? -EIO : -EFBIG;
		kg_err_set(e, "%s: %s", path, ferror(f) ? "read error" : "file too large");
		free(*buf);
		*buf = NULL;
		goto out;
	}
	*len = n;
out:
	fclose(f);
	return rc;
}

int kg_pki_load(struct kg_pki **out, const char *ca_pem, const char *crl_pem,
		struct kg_err *e)
{
	char *ca = NULL, *crl = NULL;
	size_t ca_len = 0, crl_len = 0;
	struct kg_err sub;
	int rc;

	*out = NULL;
	rc = slurp(ca_pem, &ca, &ca_len, e);
	if (rc < 0)
		return rc;
	if (crl_pem) {
		rc = slurp(crl_pem, &crl, &crl_len, e);
		if (rc < 0)
			goto out;
	}
	rc = kg_pki_load_mem(out, ca, ca_len, crl, crl_len, &sub);
	if (rc < 0)
		kg_err_set(e, "%s, %s: %s", ca_pem, crl_pem ? crl_pem : "(no CRL)",
			   sub.msg);
out:
	free(ca);
	free(crl);
	return rc;
}
