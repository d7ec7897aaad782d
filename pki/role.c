/* SPDX-License-Identifier: MIT */
/*
 * What a chain-verified certificate may be used for. Users: keyUsage
 * digitalSignature and EKU clientAuth, no knockgate host role. Hosts:
 * keyUsage digitalSignature and the EKU role mark of the wanted host
 * (docs/pki.md). A certificate marked for another role is WRONG_ROLE,
 * one with no usable EKU at all is BAD_EKU (anyExtendedKeyUsage counts
 * for nothing: our CA never issues it).
 */
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "pki_int.h"

struct eku_marks {
	int client_auth, green, red;
};

static int oid_is(const ASN1_OBJECT *o, const char *dotted)
{
	char buf[128];
	int n = OBJ_obj2txt(buf, sizeof(buf), o, 1);

	return n > 0 && (size_t)n < sizeof(buf) && strcmp(buf, dotted) == 0;
}

/* -1: no EKU extension or unparseable; 0 with marks filled otherwise. */
static int read_eku(X509 *cert, struct eku_marks *m)
{
	EXTENDED_KEY_USAGE *eku;
	int crit = 0, i;

	memset(m, 0, sizeof(*m));
	eku = X509_get_ext_d2i(cert, NID_ext_key_usage, &crit, NULL);
	if (!eku)
		return -1;
	for (i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);

		if (OBJ_obj2nid(o) == NID_client_auth)
			m->client_auth = 1;
		else if (oid_is(o, KG_OID_ROLE_GREEN))
			m->green = 1;
		else if (oid_is(o, KG_OID_ROLE_RED))
			m->red = 1;
	}
	EXTENDED_KEY_USAGE_free(eku);
	return 0;
}

/* End-entity signing key: digitalSignature present, not a CA. */
static int key_usage_ok(X509 *cert)
{
	uint32_t ku;

	if (X509_check_ca(cert) != 0)
		return 0;
	if (!(X509_get_extension_flags(cert) & EXFLAG_KUSAGE))
		return 0;
	ku = X509_get_key_usage(cert);
	return (ku & KU_DIGITAL_SIGNATURE) != 0;
}

enum kg_pki_status kg_pki_check_role(X509 *cert, enum kg_pki_role role)
{
	struct eku_marks m;
	int mine, other_host;

	if (!key_usage_ok(cert))
		return KG_PKI_BAD_KEY_USAGE;
	if (read_eku(cert, &m) < 0)
		return KG_PKI_BAD_EKU;
	switch (role) {
	case KG_ROLE_USER:
		if (m.green || m.red)
			return KG_PKI_WRONG_ROLE;
		return m.client_auth ? KG_PKI_OK : KG_PKI_BAD_EKU;
	case KG_ROLE_GREEN:
	case KG_ROLE_RED:
		mine = role == KG_ROLE_GREEN ? m.green : m.red;
		other_host = role == KG_ROLE_GREEN ? m.red : m.green;
		/* A cert marked for both roles is a provisioning error; refuse
		 * it rather than let red's key speak as green. */
		if (mine && !other_host)
			return KG_PKI_OK;
		if (other_host || m.client_auth)
			return KG_PKI_WRONG_ROLE;
		return KG_PKI_BAD_EKU;
	}
	return KG_PKI_WRONG_ROLE;
}
