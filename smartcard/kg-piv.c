/* SPDX-License-Identifier: MIT */
/*
 * kg-piv: exercise a PIV card through piv_card.h (diagnostics and the
 * end-to-end tests). Secrets come from files or the environment
 * (KG_PIN, KG_PUK, KG_NEW_PIN) and are never printed.
 *
 *   kg-piv [--reader S] status | cert OUT.der | verify | sign HEX OUT.der
 *          | change-pin | unblock | session SECONDS
 * Exit: 0 ok, 1 error, 2 usage, 3 wrong PIN/PUK, 4 blocked, 5 removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "conf.h"
#include "piv_card.h"

static int exit_code(int rc)
{
	switch (rc) {
	case 0: return 0;
	case -EACCES: return 3;
	case -EKEYREVOKED: return 4;
	case -ECONNRESET: return 5;
	default: return 1;
	}
}

/* "$NAME_FILE" names a file whose first line is the secret, else $NAME. */
static int secret(const char *name, char *out, size_t cap)
{
	char var[64];
	const char *file, *s;
	FILE *f;

	snprintf(var, sizeof(var), "%s_FILE", name);
	file = getenv(var);
	if (file && (f = fopen(file, "r"))) {
		s = fgets(out, (int)cap, f);
		fclose(f);
		if (!s)
			return -ENOENT;
		out[strcspn(out, "\r\n")] = 0;
		return 0;
	}
	s = getenv(name);
	if (!s) {
		fprintf(stderr, "kg-piv: set %s or %s\n", var, name);
		return -ENOENT;
	}
	snprintf(out, cap, "%s", s);
	return 0;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, n, f) == n;

	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -EIO;
}

static int cmd_status(struct piv_card *c, struct kg_err *e)
{
	int tries, verified, rc = piv_card_pin_status(c, &tries, &verified, e);

	if (rc == 0)
		printf("reader: %s\npin_tries_left: %d\n", piv_card_reader(c), tries);
	return rc;
}

static int cmd_verify(struct piv_card *c, struct kg_err *e)
{
	char pin[32];
	int tries = -1, rc = secret("KG_PIN", pin, sizeof(pin));

	if (rc)
		return rc;
	rc = piv_card_verify_pin(c, pin, &tries, e);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (rc == 0)
		printf("PIN verified\n");
	return rc;
}

static int cmd_cert(struct piv_card *c, const char *out, struct kg_err *e)
{
	uint8_t *der;
	size_t n;
	int rc = piv_card_read_cert(c, &der, &n, e);

	if (rc)
		return rc;
	rc = write_file(out, der, n);
	if (rc == 0)
		printf("certificate: %zu bytes -> %s\n", n, out);
	free(der);
	return rc;
}

static int cmd_sign(struct piv_card *c, const char *hex, const char *out,
		    struct kg_err *e)
{
	uint8_t dg[PIV_DIGEST_LEN], sig[PIV_SIG_MAX];
	size_t n;
	int rc;

	if (kg_hex_decode(hex, dg, sizeof(dg))) {
		kg_err_set(e, "digest must be 64 hex digits");
		return -EINVAL;
	}
	rc = cmd_verify(c, e);
	if (rc == 0)
		rc = piv_card_sign(c, dg, sig, &n, e);
	if (rc == 0)
		rc = write_file(out, sig, n);
	if (rc == 0)
		printf("signature: %zu bytes -> %s\n", n, out);
	return rc;
}

static int cmd_two(struct piv_card *c, int unblock, struct kg_err *e)
{
	char a[32], b[32];
	int tries = -1, rc;

	rc = secret(unblock ? "KG_PUK" : "KG_PIN", a, sizeof(a));
	if (rc == 0)
		rc = secret("KG_NEW_PIN", b, sizeof(b));
	if (rc == 0)
		rc = unblock ? piv_card_unblock_pin(c, a, b, &tries, e) :
			       piv_card_change_pin(c, a, b, &tries, e);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	if (rc == 0)
		printf("%s\n", unblock ? "PIN unblocked" : "PIN changed");
	return rc;
}

/* Holds a verified session until the card is pulled, then proves the
 * next operation fails with "card removed". */
static int cmd_session(struct piv_card *c, const char *secs, struct kg_err *e)
{
	uint8_t dg[PIV_DIGEST_LEN] = { 0 }, sig[PIV_SIG_MAX];
	size_t n;
	int rc = cmd_verify(c, e);

	if (rc)
		return rc;
	printf("session ready\n");
	fflush(stdout);
	rc = piv_card_wait_removed(c, (unsigned)atoi(secs) * 1000, e);
	if (rc <= 0) {
		if (rc == 0)
			kg_err_set(e, "card still present after %s s", secs);
		return rc ? rc : -ETIMEDOUT;
	}
	printf("card removal noticed\n");
	rc = piv_card_sign(c, dg, sig, &n, e);
	if (rc == 0) {
		kg_err_set(e, "signing still worked after removal");
		return -EPROTO;
	}
	printf("sign after removal: %s\n", e->msg);
	return rc == -ECONNRESET ? 0 : rc;
}

int main(int argc, char **argv)
{
	struct kg_err e = { "" };
	struct piv_card c;
	const char *reader = NULL, *cmd;
	int rc;

	if (argc > 2 && !strcmp(argv[1], "--reader"))
		reader = argv[2], argv += 2, argc -= 2;
	if (argc < 2)
		goto usage;
	cmd = argv[1];
	rc = piv_card_open(&c, reader, &e);
	if (rc) {
		fprintf(stderr, "kg-piv: %s\n", e.msg);
		return exit_code(rc);
	}
	if (!strcmp(cmd, "status"))
		rc = cmd_status(&c, &e);
	else if (!strcmp(cmd, "verify"))
		rc = cmd_verify(&c, &e);
	else if (!strcmp(cmd, "cert") && argc == 3)
		rc = cmd_cert(&c, argv[2], &e);
	else if (!strcmp(cmd, "sign") && argc == 4)
		rc = cmd_sign(&c, argv[2], argv[3], &e);
	else if (!strcmp(cmd, "change-pin"))
		rc = cmd_two(&c, 0, &e);
	else if (!strcmp(cmd, "unblock"))
		rc = cmd_two(&c, 1, &e);
	else if (!strcmp(cmd, "session") && argc == 3)
		rc = cmd_session(&c, argv[2], &e);
	else
		rc = -EINVAL, snprintf(e.msg, sizeof(e.msg), "bad command");
	piv_card_close(&c);
	if (rc)
		fprintf(stderr, "kg-piv: %s\n", e.msg);
	return exit_code(rc);
usage:
	fprintf(stderr, "usage: kg-piv [--reader S] status|verify|cert OUT|"
		"sign HEX OUT|change-pin|unblock|session SECS\n");
	return 2;
}
