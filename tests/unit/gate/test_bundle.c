/* SPDX-License-Identifier: MIT */
/* The revocation bundle's parser: fields, the signed span, and a named
 * reason for each kind of malformed input. (Signature, serial and apply
 * are end to end: t-greens-revoke.sh.) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bundle.h"

static const char good[] =
	"KGBUNDLE 1\nserial 7\ngreen green1\ncrl 5\nCRL!!\n"
	"user alice 13\n[user alice]\n\nuser bob 3\nbob\nsig 4\nSIGN";

static int parse(const char *t, size_t n, struct kg_bundle *b, const char **why)
{
	return kg_bundle_parse((const uint8_t *)t, n, b, why);
}

static void test_good_bundle_fields(void **st)
{
	struct kg_bundle b;
	const char *why;

	(void)st;
	assert_int_equal(parse(good, sizeof(good) - 1, &b, &why), 0);
	assert_int_equal(b.serial, 7);
	assert_string_equal(b.green, "green1");
	assert_int_equal(b.crl_len, 5);
	assert_memory_equal(b.crl, "CRL!!", 5);
	assert_int_equal(b.n_users, 2);
	assert_string_equal(b.users[0].name, "alice");
	assert_int_equal(b.users[0].rec_len, 13);
	assert_string_equal(b.users[1].name, "bob");
	assert_int_equal(b.sig_len, 4);
	assert_memory_equal(b.sig, "SIGN", 4);
	/* the signature covers everything before its own line */
	assert_int_equal(b.signed_len, strstr(good, "sig 4\n") - good);
	kg_bundle_free(&b);
}

static void refused(const char *t, const char *reason)
{
	struct kg_bundle b;
	const char *why;

	assert_int_equal(parse(t, strlen(t), &b, &why), -EINVAL);
	assert_string_equal(why, reason);
	assert_null(b.users);
}

static void test_malformed_bundles_are_refused_with_a_reason(void **st)
{
	char t[sizeof(good)];

	(void)st;
	refused("", "not_a_bundle");
	refused("KGBUNDLE 2\n", "not_a_bundle");
	refused("KGBUNDLE 1\nserial 0\n", "bad_serial");
	refused("KGBUNDLE 1\nserial 01\n", "bad_serial");
	refused("KGBUNDLE 1\nserial -1\n", "bad_serial");
	refused("KGBUNDLE 1\nserial 99999999999999999999\n", "bad_serial");
	refused("KGBUNDLE 1\nserial 1\ngreen ../g\n", "bad_green");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 9\nX\nsig 1\nS", "bad_crl");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nXY", "bad_crl");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nuser ../a 1\nX\nsig 1\nS", "bad_user");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nuser a 0\n\nsig 1\nS", "bad_user");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nuser a 1\nX\nuser a 1\nY\nsig 1\nS",
		"duplicate_user");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nwho a 1\nX\nsig 1\nS", "bad_line");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nsig 2\nS", "bad_sig");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\nsig 1\nS\n", "trailing_bytes");
	refused("KGBUNDLE 1\nserial 1\ngreen g\ncrl 1\nX\n", "bad_line");
	/* every truncation of a good bundle is refused */
	for (size_t n = 0; n < sizeof(good) - 1; n++) {
		struct kg_bundle b;
		const char *why;

		memcpy(t, good, n);
		assert_int_not_equal(parse(t, n, &b, &why), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_bundle_fields),
		cmocka_unit_test(test_malformed_bundles_are_refused_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
