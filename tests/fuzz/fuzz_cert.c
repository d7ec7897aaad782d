/* SPDX-License-Identifier: MIT */
/*
 * Certificates from the network (a card's certificate sent by a client
 * over the control channel) into kg_pki_verify_der, then the helpers a
 * daemon calls on an accepted certificate. The trust anchor is a fixed
 * test CA (made by provisioning/kg-ca-init) and the time is fixed, so runs
 * are reproducible; corpus/cert/ holds DER certificates from that CA.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "pki.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char test_ca_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBqTCCAVCgAwIBAgIUHjE4VGyR7cfEibKZ6bDUxyK45XgwCgYIKoZIzj0EAwIw\n"
	"ITEfMB0GA1UEAwwWa25vY2tnYXRlIGZ1enogdGVzdCBDQTAeFw0yNjExMjIwMjI5\n"
	"NTdaFw0zNjExMTkwMjI5NTdaMCExHzAdBgNVBAMMFmtub2NrZ2F0ZSBmdXp6IHRl\n"
	"c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAR1U5Kz3sf6haOOqWgHsMP7\n"
	"mEcorgYDZT647iMBRJN1DSjunIB/YMVXlG10tvXf86GsvFJGnaB4WyXp7h5yM7n5\n"
	"o2YwZDASBgNVHRMBAf8ECDAGAQH/AgEAMA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4E\n"
	"FgQUkxVGxNJRJ50YFId9J4RsGevTqa0wHwYDVR0jBBgwFoAUkxVGxNJRJ50YFId9\n"
	"J4RsGevTqa0wCgYIKoZIzj0EAwIDRwAwRAIgJ2jI8T4vKfZQnrVG9+vRo8AUVxyI\n"
	"yTu62A6SPOHDhRsCIFygUaH7cKLTaXia4Zfa2HeywXIlL2GdP0P9XxRrL41J\n"
	"-----END CERTIFICATE-----\n"
;

static const char test_crl_pem[] =
	"-----BEGIN X509 CRL-----\n"
	"MIHbMIGCAgEBMAoGCCqGSM49BAMCMCExHzAdBgNVBAMMFmtub2NrZ2F0ZSBmdXp6\n"
	"IHRlc3QgQ0EXDTI2MTEyMjAyMjk1N1oXDTM2MTExOTAyMjk1N1qgMDAuMB8GA1Ud\n"
	"IwQYMBaAFJMVRsTSUSedGBSHfSeEbBnr06mtMAsGA1UdFAQEAgIQADAKBggqhkjO\n"
	"PQQDAgNIADBFAiAPViM3+ehxDmM2Htq4HHsvIQluYiWHRbE1dEcHeuaH9gIhAOko\n"
	"l3f31hyTrLbCHV+IgAILtuOhKcWH7VF85xeblugB\n"
	"-----END X509 CRL-----\n"
;

/* 2026-11-23: inside the CA's, the CRL's and the corpus certificates' validity. */
#define FUZZ_NOW 1795400000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kg_pki *pki;
	static const enum kg_pki_role roles[] = { KG_ROLE_USER, KG_ROLE_GREEN,
						  KG_ROLE_RED };
	uint8_t digest[32] = { 0 }, pin[32], sig[8] = { 0x30, 0x06, 0x02, 0x01,
							0x01, 0x02, 0x01, 0x01 };
	struct kg_err e;
	char cn[64];
	X509 *cert;
	size_t i;

	if (!pki && kg_pki_load_mem(&pki, test_ca_pem, strlen(test_ca_pem),
				    test_crl_pem, strlen(test_crl_pem), &e) < 0)
		__builtin_trap();
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		cert = NULL;
		if (kg_pki_verify_der(pki, data, size, roles[i], FUZZ_NOW,
				      &cert) != KG_PKI_OK)
			continue;
		(void)kg_pki_spki_sha256(cert, pin);
		(void)kg_pki_subject_cn(cert, cn, sizeof(cn));
		(void)kg_pki_verify_sig(cert, digest, sig, sizeof(sig));
		X509_free(cert);
	}
	return 0;
}
