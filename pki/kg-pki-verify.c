/* SPDX-License-Identifier: MIT */
/*
 * kg-pki-verify: checks one PEM certificate with the kg_pki library, the
 * way the daemons do, and prints the status name. For admins (is this
 * certificate still good?) and end-to-end tests.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pki.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: kg-pki-verify --ca CA.pem --crl CRL.pem "
		"[--role user|green|red] [--time EPOCH] [--spki] CERT.pem\n"
		"Prints the status name (ok, revoked, expired, ...) and, with\n"
		"--spki, the SHA-256 SPKI pin and subject CN. Exit 0 if ok,\n"
		"1 if refused, 2 on usage or load errors.\n");
}

static int parse_role(const char *s, enum kg_pki_role *r)
{
	if (strcmp(s, "user") == 0)
		*r = KG_ROLE_USER;
	else if (strcmp(s, "green") == 0)
		*r = KG_ROLE_GREEN;
	else if (strcmp(s, "red") == 0)
		*r = KG_ROLE_RED;
	else
		return -EINVAL;
	return 0;
}

static void print_pin(X509 *cert)
{
	uint8_t pin[32];
	char cn[256];
	size_t i;

	if (kg_pki_spki_sha256(cert, pin) == 0) {
		printf("spki_sha256=");
		for (i = 0; i < sizeof(pin); i++)
			printf("%02x", pin[i]);
		printf("\n");
	}
	if (kg_pki_subject_cn(cert, cn, sizeof(cn)) == 0)
		printf("cn=%s\n", cn);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "crl", required_argument, NULL, 'c' },
		{ "role", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "spki", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *crl = NULL;
	enum kg_pki_role role = KG_ROLE_USER;
	enum kg_pki_status st;
	struct kg_pki *p;
	struct kg_err e;
	long long now = 0;
	X509 *cert = NULL;
	int c, spki = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': ca = optarg; break;
		case 'c': crl = optarg; break;
		case 'r':
			if (parse_role(optarg, &role) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 't': now = strtoll(optarg, NULL, 10); break;
		case 's': spki = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!ca || !crl || optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (kg_pki_load(&p, ca, crl, &e) < 0) {
		fprintf(stderr, "kg-pki-verify: %s\n", e.msg);
		return 2;
	}
	st = kg_pki_verify_pem_file(p, argv[optind], role, now, &cert);
	printf("%s\n", kg_pki_status_name(st));
	if (st != KG_PKI_OK)
		fprintf(stderr, "kg-pki-verify: %s: %s\n", argv[optind],
			kg_pki_strerror(st));
	if (cert && spki)
		print_pin(cert);
	X509_free(cert);
	kg_pki_free(p);
	return st == KG_PKI_OK ? 0 : 1;
}
