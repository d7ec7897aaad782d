/* SPDX-License-Identifier: MIT */
/* lib/crypto against published vectors (RFC 8439, 5869, 7748, 4231). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <cmocka.h>

#include "lib/crypto.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* RFC 8439 section 2.8.2. */
static void test_aead_matches_rfc8439_and_refuses_flipped_bit(void **st)
{
	uint8_t key[32], nonce[12], ad[12], ct[128], tag[16], pt[128], exp[16];
	const char *msg = "Ladies and Gentlemen of the class of '99: If I could "
			  "offer you only one tip for the future, sunscreen "
			  "would be it.";
	size_t n = strlen(msg);

	(void)st;
	unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
	      key, 32);
	unhex("070000004041424344454647", nonce, 12);
	unhex("50515253c0c1c2c3c4c5c6c7", ad, 12);
	unhex("1ae10b594f09e26a7e902ecbd0600691", exp, 16);
	assert_int_equal(kg_aead_seal(key, nonce, ad, 12, msg, n, ct, tag), 0);
	assert_memory_equal(tag, exp, 16);
	assert_int_equal(ct[0], 0xd3);
	assert_int_equal(kg_aead_open(key, nonce, ad, 12, ct, n, tag, pt), 0);
	assert_memory_equal(pt, msg, n);
	/* In place (pt aliases ct). */
	memcpy(pt, ct, n);
	assert_int_equal(kg_aead_open(key, nonce, ad, 12, pt, n, tag, pt), 0);
	assert_memory_equal(pt, msg, n);
	ad[0] ^= 1;
	assert_int_equal(kg_aead_open(key, nonce, ad, 12, ct, n, tag, pt),
			 -EBADMSG);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pt[i], 0);
}

/* RFC 5869 test case 1. */
static void test_hkdf_matches_rfc5869(void **st)
{
	uint8_t ikm[22], salt[13], info[10], okm[42], exp[42];

	(void)st;
	memset(ikm, 0x0b, sizeof(ikm));
	unhex("000102030405060708090a0b0c", salt, 13);
	unhex("f0f1f2f3f4f5f6f7f8f9", info, 10);
	unhex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	      "34007208d5b887185865", exp, 42);
	assert_int_equal(kg_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42),
			 0);
	assert_memory_equal(okm, exp, 42);
}

/* Expected value from Python's hmac module (an independent HMAC). */
static void test_hmac_matches_independent_implementation(void **st)
{
	uint8_t key[32], out[32], exp[32];

	(void)st;
	memset(key, 0x0b, 32);
	unhex("cc2b6e43b092526c09f6b2db76c7dc2867ebfdf7d1b170f2d8f73a3894792e12",
	      exp, 32);
	assert_int_equal(kg_hmac_sha256(key, "abc", 3, out), 0);
	assert_memory_equal(out, exp, 32);
}

/* RFC 7748 section 6.1 (Alice). */
static void test_x25519_public_matches_rfc7748(void **st)
{
	uint8_t priv[32], pub[32], exp[32];

	(void)st;
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	      priv, 32);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	      exp, 32);
	assert_int_equal(kg_x25519_public(priv, pub), 0);
	assert_memory_equal(pub, exp, 32);
	assert_int_equal(kg_x25519_generate(priv, pub), 0);
	assert_int_equal(priv[0] & 7, 0);
	assert_int_equal(priv[31] & 0xc0, 0x40);
}

static void test_base64_roundtrip_and_strictness(void **st)
{
	uint8_t key[32], back[32];
	char s[45];

	(void)st;
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i * 7 + 1);
	kg_base64_encode(key, 32, s);
	assert_int_equal(strlen(s), 44);
	assert_int_equal(kg_base64_decode(s, back, 32), 0);
	assert_memory_equal(key, back, 32);
	assert_int_equal(kg_base64_decode(s, back, 31), -EINVAL);
	s[43] = 'A';
	assert_int_equal(kg_base64_decode(s, back, 32), -EINVAL);
	s[43] = '=';
	s[42] ^= 1; /* non-zero unused bits, or a different char */
	if (kg_base64_decode(s, back, 32) == 0)
		assert_memory_not_equal(key, back, 32);
	s[42] ^= 1;
	s[10] = '*';
	assert_int_equal(kg_base64_decode(s, back, 32), -EINVAL);
}

static void test_memeq_and_sha256(void **st)
{
	uint8_t h[32], e[32];
	const void *parts[2] = { "a", "bc" };
	size_t lens[2] = { 1, 2 };

	(void)st;
	unhex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	      e, 32);
	kg_sha256("abc", 3, h);
	assert_memory_equal(h, e, 32);
	kg_sha256_parts(parts, lens, 2, h);
	assert_true(kg_memeq(h, e, 32));
	h[31] ^= 1;
	assert_false(kg_memeq(h, e, 32));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_matches_rfc8439_and_refuses_flipped_bit),
		cmocka_unit_test(test_hkdf_matches_rfc5869),
		cmocka_unit_test(test_hmac_matches_independent_implementation),
		cmocka_unit_test(test_x25519_public_matches_rfc7748),
		cmocka_unit_test(test_base64_roundtrip_and_strictness),
		cmocka_unit_test(test_memeq_and_sha256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
