/* SPDX-License-Identifier: MIT */
/*
 * kg_pki against real certificates: the group setup provisions a lab with
 * the provisioning scripts (and the odd certificates of mkcerts.sh) in a
 * fresh temporary directory; every test checks one outcome by its code.
 */
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>

#include "conf.h"
#include "pki.h"

static char dir[] = "/tmp/kg-pki-test.XXXXXX";
static struct kg_pki *pki;

static char *path(const char *rel)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, rel);
	return p;
}

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int setup(void **state)
{
	struct kg_err e;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	if (run("bash %s/tests/unit/pki/mkcerts.sh %s %s", KG_TEST_TOP,
		KG_TEST_TOP, dir) != 0)
		return -1;
	if (kg_pki_load(&pki, path("green/ca.pem"), path("green/crl.pem"), &e) < 0) {
		fprintf(stderr, "load: %s\n", e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_pki_free(pki);
	if (getenv("KG_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", dir);
	else
		run("rm -rf %s", dir);
	return 0;
}

static X509 *read_pem(const char *rel)
{
	FILE *f = fopen(path(rel), "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

/* DER of a PEM file; caller frees. */
static uint8_t *read_der(const char *rel, size_t *len)
{
	X509 *x = read_pem(rel);
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	X509_free(x);
	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

static enum kg_pki_status verify_at(const char *rel, enum kg_pki_role role,
				    int64_t now)
{
	enum kg_pki_status st;
	uint8_t *der;
	size_t len;

	der = read_der(rel, &len);
	st = kg_pki_verify_der(pki, der, len, role, now, NULL);
	OPENSSL_free(der);
	return st;
}

static enum kg_pki_status verify(const char *rel, enum kg_pki_role role)
{
	return verify_at(rel, role, 0);
}

static void test_good_user_cert_is_accepted_and_pinned_by_record(void **state)
{
	const struct kg_conf_item *it;
	struct kg_conf c;
	struct kg_err e;
	uint8_t pin[32], *der;
	char hex[65], cn[64];
	X509 *x = NULL;
	size_t len, i;

	(void)state;
	der = read_der("users/alice/alice.pem", &len);
	assert_int_equal(kg_pki_verify_der(pki, der, len, KG_ROLE_USER, 0, &x),
			 KG_PKI_OK);
	OPENSSL_free(der);
	assert_non_null(x);
	assert_int_equal(kg_pki_subject_cn(x, cn, sizeof(cn)), 0);
	assert_string_equal(cn, "alice");
	assert_int_equal(kg_pki_subject_cn(x, cn, 3), -ENOSPC);
	assert_int_equal(kg_pki_spki_sha256(x, pin), 0);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", pin[i]);
	X509_free(x);
	/* The record the script wrote pins this very key. */
	assert_int_equal(kg_conf_load(&c, path("green/users.d/alice.conf"), &e), 0);
	it = kg_conf_find(&c, "user alice", "spki_sha256");
	assert_non_null(it);
	assert_string_equal(it->value, hex);
	kg_conf_free(&c);
	assert_int_equal(verify("users/bob/bob.pem", KG_ROLE_USER), KG_PKI_OK);
	assert_int_equal(kg_pki_verify_pem_file(pki, path("users/bob/bob.pem"),
						KG_ROLE_USER, 0, NULL), KG_PKI_OK);
}

static void test_record_and_profile_have_the_contract_keys(void **state)
{
	static const char *rec_keys[] = { "knock_key", "tunnel_address",
		"spki_sha256", "services", "mode" };
	static const char *prof_keys[] = { "user", "green_id", "green_address",
		"knock_port", "green_wg_public_key", "green_wg_port",
		"green_tunnel_address", "control_port", "knock_key",
		"tunnel_address", "ca" };
	const struct kg_conf_item *a, *b;
	struct kg_conf rec, prof;
	struct kg_err e;
	size_t i;

	(void)state;
	assert_int_equal(kg_conf_load(&rec, path("green/users.d/alice.conf"), &e), 0);
	assert_int_equal(kg_conf_load(&prof, path("users/alice/profile/profile.conf"), &e), 0);
	for (i = 0; i < sizeof(rec_keys) / sizeof(rec_keys[0]); i++)
		assert_non_null(kg_conf_find(&rec, "user alice", rec_keys[i]));
	for (i = 0; i < sizeof(prof_keys) / sizeof(prof_keys[0]); i++)
		assert_non_null(kg_conf_find(&prof, "profile", prof_keys[i]));
	a = kg_conf_find(&rec, "user alice", "knock_key");
	b = kg_conf_find(&prof, "profile", "knock_key");
	assert_int_equal(strlen(a->value), 64);
	assert_string_equal(a->value, b->value);
	assert_string_equal(kg_conf_find(&rec, "user alice", "tunnel_address")->value,
			    "10.88.1.10");
	assert_string_equal(kg_conf_find(&prof, "profile", "green_id")->value, "green1");
	kg_conf_free(&rec);
	kg_conf_free(&prof);
	assert_int_equal(access(path("users/alice/profile/ca.pem"), R_OK), 0);
}

static void test_expired_cert_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify("test/expired.pem", KG_ROLE_USER), KG_PKI_EXPIRED);
}

static void test_not_yet_valid_cert_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify("test/future.pem", KG_ROLE_USER),
			 KG_PKI_NOT_YET_VALID);
}

static void test_revoked_user_is_refused_and_record_is_gone(void **state)
{
	(void)state;
	assert_int_equal(access(path("test/carol-record-before-revoke.conf"), F_OK), 0);
	assert_int_equal(access(path("green/users.d/carol.conf"), F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(verify("users/carol/carol.pem", KG_ROLE_USER), KG_PKI_REVOKED);
	/* Red got the same CRL. */
	assert_int_equal(run("cmp -s %s %s", path("red/crl.pem"), path("ca/crl.pem")), 0);
}

static void test_cert_from_other_ca_is_refused(void **state)
{
	(void)state;
	/* Same CA name, other key: only the key identifies our CA. */
	assert_int_equal(verify("users/mallory/mallory.pem", KG_ROLE_USER),
			 KG_PKI_UNKNOWN_CA);
}

static void test_self_signed_cert_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify("test/selfie.pem", KG_ROLE_USER), KG_PKI_SELF_SIGNED);
}

static void test_wrong_eku_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify("test/wrongeku.pem", KG_ROLE_USER), KG_PKI_BAD_EKU);
	assert_int_equal(verify("test/wrongeku.pem", KG_ROLE_GREEN), KG_PKI_BAD_EKU);
}

static void test_rsa_key_is_refused(void **state)
{
	(void)state;
	assert_int_equal(verify("test/rsa.pem", KG_ROLE_USER), KG_PKI_BAD_KEY_TYPE);
}

static void test_ca_cert_is_refused_as_end_entity(void **state)
{
	(void)state;
	assert_int_equal(verify("ca/ca.pem", KG_ROLE_USER), KG_PKI_BAD_KEY_USAGE);
}

static void test_host_roles_are_not_interchangeable(void **state)
{
	(void)state;
	assert_int_equal(verify("green/host.pem", KG_ROLE_GREEN), KG_PKI_OK);
	assert_int_equal(verify("red/host.pem", KG_ROLE_RED), KG_PKI_OK);
	assert_int_equal(verify("red/green.pem", KG_ROLE_GREEN), KG_PKI_OK);
	assert_int_equal(verify("red/host.pem", KG_ROLE_GREEN), KG_PKI_WRONG_ROLE);
	assert_int_equal(verify("green/host.pem", KG_ROLE_RED), KG_PKI_WRONG_ROLE);
	assert_int_equal(verify("users/alice/alice.pem", KG_ROLE_GREEN), KG_PKI_WRONG_ROLE);
	assert_int_equal(verify("users/alice/alice.pem", KG_ROLE_RED), KG_PKI_WRONG_ROLE);
	assert_int_equal(verify("green/host.pem", KG_ROLE_USER), KG_PKI_WRONG_ROLE);
	assert_int_equal(verify("red/host.pem", KG_ROLE_USER), KG_PKI_WRONG_ROLE);
}

static void test_expired_crl_refuses_every_cert(void **state)
{
	/* Lab CRLs live 30 days, certificates a year or more. */
	int64_t later = (int64_t)time(NULL) + 40 * 86400;

	(void)state;
	assert_int_equal(verify_at("users/alice/alice.pem", KG_ROLE_USER, later),
			 KG_PKI_CRL_EXPIRED);
	assert_int_equal(verify_at("green/host.pem", KG_ROLE_GREEN, later),
			 KG_PKI_CRL_EXPIRED);
	assert_int_equal(verify_at("users/alice/alice.pem", KG_ROLE_USER,
				   (int64_t)time(NULL) + 20 * 86400), KG_PKI_OK);
}

static void test_crl_not_yet_valid_refuses_every_cert(void **state)
{
	/* The scripts backdate lastUpdate by one hour; before that, the CRL
	 * cannot be trusted to be complete. */
	int64_t before = (int64_t)time(NULL) - 2 * 3600;

	(void)state;
	assert_int_equal(verify_at("users/alice/alice.pem", KG_ROLE_USER, before),
			 KG_PKI_CRL_INVALID);
	assert_int_equal(verify_at("users/alice/alice.pem", KG_ROLE_USER,
				   (int64_t)time(NULL) - 1800), KG_PKI_OK);
}

static void test_leaf_or_foreign_ca_is_refused_as_trust_anchor(void **state)
{
	struct kg_pki *p;
	struct kg_err e;

	(void)state;
	assert_int_equal(kg_pki_load(&p, path("users/alice/alice.pem"),
				     path("ca/crl.pem"), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a CA"));
	assert_int_equal(kg_pki_load(&p, path("other-ca/ca.pem"),
				     path("ca/crl.pem"), &e), -EINVAL);
	assert_int_equal(kg_pki_load(&p, path("other-ca/ca.pem"),
				     path("other-ca/crl.pem"), &e), 0);
	assert_int_equal(kg_pki_verify_pem_file(p, path("users/alice/alice.pem"),
						KG_ROLE_USER, 0, NULL), KG_PKI_UNKNOWN_CA);
	kg_pki_free(p);
}

static char *slurp(const char *rel, size_t *len)
{
	FILE *f = fopen(path(rel), "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

static void test_missing_or_foreign_crl_is_refused(void **state)
{
	struct kg_pki *p;
	struct kg_err e;
	size_t ca_len, crl_len;
	char *ca = slurp("green/ca.pem", &ca_len);
	char *crl = slurp("other-ca/crl.pem", &crl_len);
	uint8_t *der;
	size_t len;

	(void)state;
	assert_int_equal(kg_pki_load_mem(&p, ca, ca_len, crl, crl_len, &e), -EINVAL);
	assert_null(p);
	assert_non_null(strstr(e.msg, "CRL"));
	assert_int_equal(kg_pki_load_mem(&p, ca, ca_len, NULL, 0, &e), 0);
	der = read_der("users/alice/alice.pem", &len);
	assert_int_equal(kg_pki_verify_der(p, der, len, KG_ROLE_USER, 0, NULL),
			 KG_PKI_CRL_INVALID);
	OPENSSL_free(der);
	kg_pki_free(p);
	assert_int_equal(kg_pki_load(&p, path("nonexistent.pem"), NULL, &e), -ENOENT);
	free(ca);
	free(crl);
}

static void test_malformed_der_is_refused(void **state)
{
	static const uint8_t junk[] = { 0x30, 0x82, 0x01, 0x00, 0x01 };
	uint8_t *der, *longer;
	size_t len;

	(void)state;
	assert_int_equal(kg_pki_verify_der(pki, junk, sizeof(junk), KG_ROLE_USER,
					   0, NULL), KG_PKI_MALFORMED);
	assert_int_equal(kg_pki_verify_der(pki, junk, 0, KG_ROLE_USER, 0, NULL),
			 KG_PKI_MALFORMED);
	der = read_der("users/alice/alice.pem", &len);
	/* A trailing byte makes it another input: refuse, don't ignore. */
	longer = calloc(1, len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	assert_int_equal(kg_pki_verify_der(pki, longer, len + 1, KG_ROLE_USER, 0,
					   NULL), KG_PKI_MALFORMED);
	free(longer);
	/* One flipped bit in the CA's signature over the certificate. */
	der[len - 2] ^= 0x01;
	assert_int_equal(kg_pki_verify_der(pki, der, len, KG_ROLE_USER, 0, NULL),
			 KG_PKI_BAD_SIGNATURE);
	OPENSSL_free(der);
}

static void test_host_signature_verifies_and_flipped_bit_is_refused(void **state)
{
	struct kg_hostkey *k;
	struct kg_err e;
	uint8_t digest[32], sig[72];
	size_t sig_len = 0;
	X509 *green = read_pem("green/host.pem");
	X509 *red = read_pem("red/host.pem");

	(void)state;
	memset(digest, 0xa5, sizeof(digest));
	assert_int_equal(kg_hostkey_load(&k, path("green/host.key"), &e), 0);
	assert_int_equal(kg_hostkey_sign(k, digest, sig, &sig_len), 0);
	assert_true(sig_len > 8 && sig_len <= 72);
	assert_int_equal(kg_pki_verify_sig(green, digest, sig, sig_len), KG_PKI_OK);
	assert_int_equal(kg_pki_verify_sig(red, digest, sig, sig_len),
			 KG_PKI_BAD_SIGNATURE);
	digest[31] ^= 0x01;
	assert_int_equal(kg_pki_verify_sig(green, digest, sig, sig_len),
			 KG_PKI_BAD_SIGNATURE);
	digest[31] ^= 0x01;
	sig[sig_len - 1] ^= 0x01;
	assert_int_equal(kg_pki_verify_sig(green, digest, sig, sig_len),
			 KG_PKI_BAD_SIGNATURE);
	assert_int_equal(kg_pki_verify_sig(green, digest, sig, 3), KG_PKI_MALFORMED);
	kg_hostkey_free(k);
	assert_int_equal(kg_hostkey_load(&k, path("test/rsa.key"), &e), -EINVAL);
	assert_non_null(strstr(e.msg, "P-256"));
	X509_free(green);
	X509_free(red);
}

static int key_files, loose_keys;

static int check_mode(const char *fpath, const struct stat *sb, int type,
		      struct FTW *ftw)
{
	size_t n = strlen(fpath);

	(void)ftw;
	if (type == FTW_F && n > 4 && strcmp(fpath + n - 4, ".key") == 0) {
		key_files++;
		if (sb->st_mode & 077) {
			fprintf(stderr, "readable by others: %s\n", fpath);
			loose_keys++;
		}
	}
	return 0;
}

static void test_no_private_key_is_readable_by_others(void **state)
{
	(void)state;
	assert_int_equal(nftw(dir, check_mode, 16, FTW_PHYS), 0);
	/* ca, other-ca, green host/wg/site, red host/site, 4 users, tests */
	assert_true(key_files >= 12);
	assert_int_equal(loose_keys, 0);
}

static void test_scripts_refuse_to_overwrite_a_ca(void **state)
{
	size_t before_len, after_len;
	char *before = slurp("ca/ca.key", &before_len), *after;

	(void)state;
	assert_int_not_equal(run("%s/provisioning/kg-ca-init %s 2>/dev/null",
				 KG_TEST_TOP, path("ca")), 0);
	assert_int_not_equal(run("%s/provisioning/kg-lab %s 2>/dev/null",
				 KG_TEST_TOP, dir), 0);
	after = slurp("ca/ca.key", &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);
	free(before);
	free(after);
}

static void test_status_names_are_distinct(void **state)
{
	int i, j;

	(void)state;
	for (i = KG_PKI_OK; i <= KG_PKI_INTERNAL; i++) {
		assert_string_not_equal(kg_pki_status_name(i), "unknown");
		assert_non_null(kg_pki_strerror(i));
		for (j = KG_PKI_OK; j < i; j++)
			assert_string_not_equal(kg_pki_status_name(i),
						kg_pki_status_name(j));
	}
	assert_string_equal(kg_pki_status_name(999), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_user_cert_is_accepted_and_pinned_by_record),
		cmocka_unit_test(test_record_and_profile_have_the_contract_keys),
		cmocka_unit_test(test_expired_cert_is_refused),
		cmocka_unit_test(test_not_yet_valid_cert_is_refused),
		cmocka_unit_test(test_revoked_user_is_refused_and_record_is_gone),
		cmocka_unit_test(test_cert_from_other_ca_is_refused),
		cmocka_unit_test(test_self_signed_cert_is_refused),
		cmocka_unit_test(test_wrong_eku_is_refused),
		cmocka_unit_test(test_rsa_key_is_refused),
		cmocka_unit_test(test_ca_cert_is_refused_as_end_entity),
		cmocka_unit_test(test_host_roles_are_not_interchangeable),
		cmocka_unit_test(test_expired_crl_refuses_every_cert),
		cmocka_unit_test(test_crl_not_yet_valid_refuses_every_cert),
		cmocka_unit_test(test_missing_or_foreign_crl_is_refused),
		cmocka_unit_test(test_leaf_or_foreign_ca_is_refused_as_trust_anchor),
		cmocka_unit_test(test_malformed_der_is_refused),
		cmocka_unit_test(test_host_signature_verifies_and_flipped_bit_is_refused),
		cmocka_unit_test(test_no_private_key_is_readable_by_others),
		cmocka_unit_test(test_scripts_refuse_to_overwrite_a_ca),
		cmocka_unit_test(test_status_names_are_distinct),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
