/* SPDX-License-Identifier: MIT */
/*
 * knockgate card: what is on the smart card (reader, certificate subject,
 * issuer, expiry, PIN tries left). Reads only public data; never asks for
 * or prints the PIN.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "commands.h"
#include "piv_card.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: knockgate card [--reader SUBSTR]\n\n"
		"Shows the reader, the slot 9A certificate's subject, issuer and\n"
		"expiry, and how many PIN tries are left. --reader picks the first\n"
		"reader whose name contains SUBSTR (default: the first reader).\n");
}

static void print_name(const char *label, const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	if (!b)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253);
	len = BIO_get_mem_data(b, &p);
	printf("%s: %.*s\n", label, (int)len, p);
	BIO_free(b);
}

static void print_cert(const uint8_t *der, size_t n)
{
	const uint8_t *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)n);
	struct tm tm;
	char when[64];
	int days = 0, secs = 0;

	if (!x) {
		printf("certificate: unreadable (%zu bytes)\n", n);
		return;
	}
	print_name("subject", X509_get_subject_name(x));
	print_name("issuer", X509_get_issuer_name(x));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 &&
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm)) {
		ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
		printf("expires: %s (%s)\n", when,
		       days < 0 || (days == 0 && secs < 0) ? "expired" : "valid");
	}
	X509_free(x);
}

static int show(const char *reader)
{
	struct kg_err e = { "" };
	struct piv_card c;
	uint8_t *der = NULL;
	size_t n = 0;
	int tries = 0, verified = 0, rc;

	rc = piv_card_open(&c, reader, &e);
	if (rc) {
		fprintf(stderr, "knockgate card: %s\n", e.msg);
		return 1;
	}
	printf("reader: %s\n", piv_card_reader(&c));
	rc = piv_card_read_cert(&c, &der, &n, &e);
	if (rc == 0)
		print_cert(der, n);
	else
		printf("certificate: none (%s)\n", e.msg);
	free(der);
	rc = piv_card_pin_status(&c, &tries, &verified, &e);
	if (rc)
		fprintf(stderr, "knockgate card: %s\n", e.msg);
	else if (verified)
		printf("pin_tries_left: verified\n");
	else if (tries == 0)
		printf("pin_tries_left: 0 (blocked: unblock with the PUK)\n");
	else
		printf("pin_tries_left: %d\n", tries);
	piv_card_close(&c);
	return rc ? 1 : 0;
}

int card_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "reader", 1, 0, 'r' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
	const char *reader = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': reader = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return show(reader);
}
