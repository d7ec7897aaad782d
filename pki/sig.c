/* SPDX-License-Identifier: MIT */
/*
 * ECDSA P-256 over 32-byte digests: verifying with a certificate's key,
 * signing with a host key, and the certificate facts user records pin
 * (SPKI hash, subject CN).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "pki_int.h"

struct kg_hostkey {
	EVP_PKEY *key;
};

enum kg_pki_status kg_pki_verify_sig(X509 *cert, const uint8_t digest[32],
				     const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY *k = cert ? X509_get0_pubkey(cert) : NULL;
	EVP_PKEY_CTX *ctx = NULL;
	enum kg_pki_status st;
	int r;

	if (!k || !sig || sig_len == 0 || sig_len > 72)
		return KG_PKI_MALFORMED;
	if (!kg_pki_key_is_p256(k))
		return KG_PKI_BAD_KEY_TYPE;
	ctx = EVP_PKEY_CTX_new(k, NULL);
	if (!ctx || EVP_PKEY_verify_init(ctx) != 1) {
		st = KG_PKI_INTERNAL;
		goto out;
	}
	/* No digest set: the input is the 32-byte digest itself. */
	r = EVP_PKEY_verify(ctx, sig, sig_len, digest, 32);
	/* r < 0 is a signature that is not valid DER: as bad as a wrong one
	 * for the caller, but named apart so logs tell garbage from forgery. */
	st = r == 1 ? KG_PKI_OK : r == 0 ? KG_PKI_BAD_SIGNATURE : KG_PKI_MALFORMED;
out:
	EVP_PKEY_CTX_free(ctx);
	return st;
}

int kg_pki_spki_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len, rc = -EIO;

	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	if (len <= 0)
		return -EIO;
	if (EVP_Digest(der, (size_t)len, out, &n, EVP_sha256(), NULL) == 1 &&
	    n == 32)
		rc = 0;
	OPENSSL_free(der);
	return rc;
}

int kg_pki_subject_cn(X509 *cert, char *buf, size_t cap)
{
	X509_NAME *name = X509_get_subject_name(cert);
	const ASN1_STRING *s;
	int i, len;

	i = name ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
	if (i < 0)
		return -ENOENT;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	len = ASN1_STRING_length(s);
	if (len <= 0)
		return -ENOENT;
	if ((size_t)len >= cap)
		return -ENOSPC;
	memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
	buf[len] = '\0';
	/* An embedded NUL would let "alice\0x" pass as "alice". */
	if (strlen(buf) != (size_t)len)
		return -ENOENT;
	return 0;
}

int kg_hostkey_load(struct kg_hostkey **out, const char *key_pem,
		    struct kg_err *e)
{
	struct kg_hostkey *k;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(key_pem, "r");
	if (!f) {
		rc = -errno;
		kg_err_set(e, "%s: %s", key_pem, strerror(errno));
		return rc;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		fclose(f);
		return -ENOMEM;
	}
	k->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k->key || !kg_pki_key_is_p256(k->key)) {
		kg_err_set(e, "%s: %s", key_pem, k->key ?
			   "host key is not ECDSA P-256" : "no PEM private key");
		kg_hostkey_free(k);
		return -EINVAL;
	}
	*out = k;
	return 0;
}

void kg_hostkey_free(struct kg_hostkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->key);
	free(k);
}

int kg_hostkey_sign(const struct kg_hostkey *k, const uint8_t digest[32],
		    uint8_t *sig, size_t *sig_len)
{
	EVP_PKEY_CTX *ctx;
	size_t len = 72;
	int rc = -EIO;

	ctx = EVP_PKEY_CTX_new(k->key, NULL);
	if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_sign(ctx, sig, &len, digest, 32) == 1) {
		*sig_len = len;
		rc = 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
