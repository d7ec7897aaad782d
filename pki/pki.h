/* SPDX-License-Identifier: MIT */
/*
 * Checking what the organisation's CA issued, over OpenSSL 3. Trust is
 * the one CA file given: never the system store. Every refusal has its
 * own code and message (kg_pki_strerror); callers log the code's name.
 *
 * Roles are marked in certificates by the provisioning scripts
 * (docs/pki.md): a user certificate has EKU clientAuth and keyUsage
 * digitalSignature; host certificates carry a knockgate role (green or
 * red) so that a red certificate cannot act as green.
 */
#ifndef KG_PKI_H
#define KG_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "err.h"

enum kg_pki_status {
	KG_PKI_OK = 0,
	KG_PKI_MALFORMED,        /* not a parseable certificate / signature */
	KG_PKI_UNKNOWN_CA,       /* does not chain to our CA */
	KG_PKI_SELF_SIGNED,      /* self-signed, not our CA */
	KG_PKI_EXPIRED,
	KG_PKI_NOT_YET_VALID,
	KG_PKI_REVOKED,
	KG_PKI_CRL_EXPIRED,      /* our CRL is past nextUpdate: refuse all */
	KG_PKI_CRL_INVALID,      /* CRL missing, unparseable or not by our CA */
	KG_PKI_BAD_KEY_USAGE,
	KG_PKI_BAD_EKU,
	KG_PKI_WRONG_ROLE,
	KG_PKI_BAD_KEY_TYPE,     /* not ECDSA P-256 */
	KG_PKI_BAD_SIGNATURE,
	KG_PKI_INTERNAL,         /* OpenSSL failed for another reason */
};

enum kg_pki_role {
	KG_ROLE_USER,
	KG_ROLE_GREEN,
	KG_ROLE_RED,
};

/* Short stable name ("revoked", "expired", ...) for log records, and a
 * sentence for people. Never NULL. */
const char *kg_pki_status_name(enum kg_pki_status s);
const char *kg_pki_strerror(enum kg_pki_status s);

struct kg_pki;

/* Loads the CA certificate and CRL (PEM files). The CRL must be signed by
 * the CA. Returns 0, or -errno with e set (file and reason). *out is owned
 * by the caller: kg_pki_free(). Reload = load a new one and swap. */
int kg_pki_load(struct kg_pki **out, const char *ca_pem, const char *crl_pem,
		struct kg_err *e);
void kg_pki_free(struct kg_pki *p);
/* The CA certificate (borrowed: valid while p is; NULL if p is): the key
 * that signs revocation bundles (green/bundle_load.c). */
X509 *kg_pki_ca(const struct kg_pki *p);
/* The same from PEM bytes in memory (fuzzers, tests); crl_pem may be NULL,
 * and then every verification says KG_PKI_CRL_INVALID. */
int kg_pki_load_mem(struct kg_pki **out, const void *ca_pem, size_t ca_len,
		    const void *crl_pem, size_t crl_len, struct kg_err *e);

/* Verifies a DER certificate for a role at time now (0 = current time):
 * chain to the CA only, validity, CRL, key usage/EKU, role, P-256 key.
 * On KG_PKI_OK and if out is not NULL, *out is the parsed certificate
 * (caller frees with X509_free). */
enum kg_pki_status kg_pki_verify_der(const struct kg_pki *p, const uint8_t *der,
				     size_t len, enum kg_pki_role role,
				     int64_t now, X509 **out);
/* The same for a PEM file (host certificates in configs); a file that
 * cannot be read or holds no PEM certificate is KG_PKI_MALFORMED. */
enum kg_pki_status kg_pki_verify_pem_file(const struct kg_pki *p,
					  const char *path,
					  enum kg_pki_role role, int64_t now,
					  X509 **out);

/* ECDSA P-256 over a 32-byte digest, DER signature. */
enum kg_pki_status kg_pki_verify_sig(X509 *cert, const uint8_t digest[32],
				     const uint8_t *sig, size_t sig_len);

/* SHA-256 of the certificate's SubjectPublicKeyInfo (DER): the pin kept in
 * user records. 0 or -EIO. */
int kg_pki_spki_sha256(X509 *cert, uint8_t out[32]);
/* The subject CN into buf (NUL-terminated); 0, or -ENOENT/-ENOSPC. */
int kg_pki_subject_cn(X509 *cert, char *buf, size_t cap);

/* When the PEM file at path stops being usable: a CRL's nextUpdate
 * (crl true) or a certificate's notAfter, in seconds since the epoch.
 * Nothing is verified (expiry warnings only). 0, or -errno / -EINVAL with
 * e set. */
int kg_pki_file_expiry(const char *path, bool crl, int64_t *out,
		       struct kg_err *e);

/* A file watched for expiry (green/expiry.c, red/expiry.c). */
struct kg_expiry {
	char what[16];        /* "crl", "ca", "host_cert", "red_cert", ... */
	char name[40];        /* a section or host id */
	char *path;           /* owned (kg_expiry_clear) */
	bool crl;
	int64_t at;           /* wall seconds; valid if !error[0] */
	char error[160];      /* why it could not be read */
	int state;            /* 0 fine, 1 warning, 2 expired or unreadable */
	int64_t logged_mono;  /* last warning record (kg_mono_s) */
};
/* Fills x (path copied). 0 or -ENOMEM. */
int kg_expiry_set(struct kg_expiry *x, const char *what, const char *name,
		  const char *path, bool crl);
void kg_expiry_clear(struct kg_expiry *x);
/* Reads x's file again; within warn_s seconds of its end (or past it, or
 * unreadable) logs event=expiry result=warning|expired|unreadable, again
 * a day later while it lasts or at once when the state changes; back to
 * fine logs result=ok. now: wall seconds. */
void kg_expiry_check(struct kg_expiry *x, int64_t now, int64_t warn_s);
/* The worst of v[n] for STATUS=: "" or "; WARNING: crl PATH expires in 3
 * days" (or "expired", "unreadable"), into buf. */
void kg_expiry_note(const struct kg_expiry *v, size_t n, int64_t now,
		    char *buf, size_t cap);
/* "ok", "warning", "expired", "unreadable". */
const char *kg_expiry_state_name(const struct kg_expiry *x);

/* Host keys (PEM, ECDSA P-256) for signing second knocks and answers. */
struct kg_hostkey;
int kg_hostkey_load(struct kg_hostkey **out, const char *key_pem,
		    struct kg_err *e);
void kg_hostkey_free(struct kg_hostkey *k);
/* Signs the digest; sig must hold 72 bytes (max DER P-256 signature);
 * *sig_len gets the length. 0 or -EIO. */
int kg_hostkey_sign(const struct kg_hostkey *k, const uint8_t digest[32],
		    uint8_t *sig, size_t *sig_len);

#endif
