/* SPDX-License-Identifier: MIT */
/*
 * The revocation bundle: the CRL and every user record of one green,
 * made on the provisioning machine (provisioning/kg-bundle-make), signed
 * with the CA's key and numbered with a rising serial, so a green takes
 * them from nobody but the CA and never goes back to an older set. This
 * file only parses (pure, no I/O, fuzzed by tests/fuzz/fuzz_bundle.c);
 * bundle_load.c verifies and applies. Layout (docs/pki.md, "Revocation
 * bundle"), each header line ending in '\n', numbers in decimal:
 *
 *   KGBUNDLE 1
 *   serial N             1 .. 2^63-1
 *   green ID             the green it is for
 *   crl LEN              then LEN bytes (the CRL, PEM) and '\n'
 *   user NAME LEN        per user: LEN bytes (its record) and '\n'
 *   sig LEN              then LEN bytes: the CA's ECDSA P-256 signature
 *                        (DER) over SHA-256 of everything before "sig"
 */
#ifndef KG_GREEN_BUNDLE_H
#define KG_GREEN_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#define KG_BUNDLE_MAX (4u << 20)          /* whole file */
#define KG_BUNDLE_MAX_USERS 4096
#define KG_BUNDLE_CRL_MAX (2u << 20)
#define KG_BUNDLE_USER_MAX 4096           /* one record */
#define KG_BUNDLE_NAME_MAX 63
#define KG_BUNDLE_SIG_MAX 80

struct kg_bundle_user {
	char name[KG_BUNDLE_NAME_MAX + 1];
	const uint8_t *rec;                   /* into the parsed buffer */
	size_t rec_len;
};

struct kg_bundle {
	uint64_t serial;
	char green[KG_BUNDLE_NAME_MAX + 1];
	const uint8_t *crl;                   /* into the parsed buffer */
	size_t crl_len;
	struct kg_bundle_user *users;         /* kg_bundle_free */
	size_t n_users;
	size_t signed_len;                    /* bytes covered by sig */
	const uint8_t *sig;
	size_t sig_len;
};

/* Parses buf (kept by the caller for as long as *b is used). 0, or
 * -EINVAL with *why a short reason (static string), or -ENOMEM. On error
 * *b holds nothing to free. */
int kg_bundle_parse(const uint8_t *buf, size_t len, struct kg_bundle *b,
		    const char **why);
void kg_bundle_free(struct kg_bundle *b);

#endif
