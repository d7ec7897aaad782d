/* SPDX-License-Identifier: MIT */
/* Shared between the pki/ files; not part of the public interface. */
#ifndef KG_PKI_INT_H
#define KG_PKI_INT_H

#include <openssl/x509.h>

#include "pki.h"

/*
 * Role marks in host certificates (extendedKeyUsage), under the UUID arc
 * 2.25.<decimal of 2a6493bc-49ce-494e-90fd-f7c4a14c701f>: .1 green, .2 red.
 * provisioning/lib.sh writes the same values; docs/pki.md lists them.
 */
#define KG_OID_ARC "2.25.56349801940768029519906603991703515167"
#define KG_OID_ROLE_GREEN KG_OID_ARC ".1"
#define KG_OID_ROLE_RED KG_OID_ARC ".2"

struct kg_pki {
	X509 *ca;
	X509_CRL *crl;      /* NULL: loaded without a CRL, every check fails */
};

/* True if the key is ECDSA on P-256. */
int kg_pki_key_is_p256(EVP_PKEY *k);

/* Key usage, EKU and role of an already chain-verified leaf. */
enum kg_pki_status kg_pki_check_role(X509 *cert, enum kg_pki_role role);

#endif
