/* SPDX-License-Identifier: MIT */
/* The virtual card's interpreter and card file, without pcscd. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "piv_apdu.h"
#include "vcard.h"

struct fx {
	struct vcard v;
	uint8_t out[VCARD_OUT_MAX];
	size_t n;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	vcard_init(&f->v);
	piv_pin_pad("123456", f->v.pin);
	piv_pin_pad("12345678", f->v.puk);
	f->v.key = EVP_EC_gen("P-256");
	f->v.cert_len = 600;   /* opaque bytes: the card does not parse it */
	for (size_t i = 0; i < f->v.cert_len; i++)
		f->v.cert[i] = (uint8_t)i;
	*state = f;
	return f->v.key ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vcard_free(&f->v);
	free(f);
	return 0;
}

/* Sends a built APDU; returns the status word. */
static uint16_t send(struct fx *f, const struct piv_apdu *a)
{
	assert_int_equal(vcard_apdu(&f->v, a->buf, a->len, f->out,
				    sizeof(f->out), &f->n), 0);
	assert_true(f->n >= 2);
	return (uint16_t)(f->out[f->n - 2] << 8 | f->out[f->n - 1]);
}

static uint16_t send_raw(struct fx *f, const uint8_t *p, size_t n)
{
	struct piv_apdu a;

	memcpy(a.buf, p, n);
	a.len = n;
	return send(f, &a);
}

static uint16_t verify(struct fx *f, const char *pin)
{
	struct piv_apdu a;

	assert_int_equal(piv_build_verify(&a, pin), 0);
	return send(f, &a);
}

static void test_select_answers_piv_template(void **state)
{
	struct fx *f = *state;
	struct piv_apdu a;

	piv_build_select(&a);
	assert_int_equal(send(f, &a), 0x9000);
	assert_int_equal(piv_parse_select(f->out, f->n - 2), 0);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0, 0xa4, 4, 0, 5,
				  0xa0, 0, 0, 3, 9 }, 10), 0x6a82);
}

static void test_wrong_pins_count_down_then_block(void **state)
{
	struct fx *f = *state;

	assert_int_equal(verify(f, NULL), 0x63c3);
	assert_int_equal(verify(f, "000000"), 0x63c2);
	assert_true(f->v.dirty);
	assert_int_equal(verify(f, "000000"), 0x63c1);
	assert_int_equal(verify(f, "000000"), 0x6983);
	assert_int_equal(verify(f, "123456"), 0x6983);
	assert_int_equal(verify(f, NULL), 0x6983);
	assert_int_equal(f->v.pin_left, 0);
}

static void test_right_pin_restores_counter(void **state)
{
	struct fx *f = *state;

	assert_int_equal(verify(f, "000000"), 0x63c2);
	assert_int_equal(verify(f, "123456"), 0x9000);
	assert_int_equal(f->v.pin_left, 3);
	assert_int_equal(verify(f, NULL), 0x9000);
}

static void test_malformed_pin_spends_no_try(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_raw(f, (const uint8_t[]){ 0, 0x20, 0, 0x80, 8,
				  '1', 'x', '3', '4', '5', '6', 0xff, 0xff }, 13),
			 0x6a80);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0, 0x20, 0, 0x80, 4,
				  '1', '2', '3', '4' }, 9), 0x6700);
	assert_int_equal(f->v.pin_left, 3);
}

static void test_puk_resets_blocked_pin(void **state)
{
	struct fx *f = *state;
	struct piv_apdu a;

	f->v.pin_left = 0;
	piv_build_reset_retry(&a, "87654321", "654321");
	assert_int_equal(send(f, &a), 0x63c2);
	piv_build_reset_retry(&a, "12345678", "654321");
	assert_int_equal(send(f, &a), 0x9000);
	assert_int_equal(f->v.pin_left, 3);
	assert_int_equal(f->v.puk_left, 3);
	assert_int_equal(verify(f, "123456"), 0x63c2);
	assert_int_equal(verify(f, "654321"), 0x9000);
}

static void test_change_pin_needs_old_pin(void **state)
{
	struct fx *f = *state;
	struct piv_apdu a;

	piv_build_change_ref(&a, PIV_REF_PIN, "111111", "222222");
	assert_int_equal(send(f, &a), 0x63c2);
	piv_build_change_ref(&a, PIV_REF_PIN, "123456", "222222");
	assert_int_equal(send(f, &a), 0x9000);
	assert_int_equal(verify(f, "222222"), 0x9000);
}

static void test_sign_needs_pin_and_verifies(void **state)
{
	struct fx *f = *state;
	uint8_t dg[PIV_DIGEST_LEN];
	const uint8_t *sig;
	size_t slen;
	struct piv_apdu a;
	EVP_PKEY_CTX *ctx;

	memset(dg, 0x5a, sizeof(dg));
	piv_build_sign(&a, PIV_KEY_AUTH, dg);
	assert_int_equal(send(f, &a), 0x6982);
	assert_int_equal(verify(f, "123456"), 0x9000);
	assert_int_equal(send(f, &a), 0x9000);
	assert_int_equal(piv_parse_sign_response(f->out, f->n - 2, &sig, &slen), 0);
	ctx = EVP_PKEY_CTX_new(f->v.key, NULL);
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
	assert_int_equal(EVP_PKEY_verify(ctx, sig, slen, dg, sizeof(dg)), 1);
	dg[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(ctx, sig, slen, dg, sizeof(dg)), 1);
	EVP_PKEY_CTX_free(ctx);
	piv_build_sign(&a, 0x9c, dg);
	assert_int_equal(send(f, &a), 0x6a88);
	vcard_reset(&f->v);   /* power cycle forgets the PIN */
	piv_build_sign(&a, PIV_KEY_AUTH, dg);
	assert_int_equal(send(f, &a), 0x6982);
}

static void test_certificate_comes_back_through_get_response(void **state)
{
	struct fx *f = *state;
	struct piv_resp r;
	struct piv_apdu a;
	const uint8_t *cert;
	size_t clen;
	uint8_t le;
	int rc;

	piv_resp_init(&r);
	piv_build_get_data(&a, PIV_TAG_CERT_9A);
	send(f, &a);
	assert_int_equal(f->n, 258);
	while ((rc = piv_resp_feed(&r, f->out, f->n, &le)) == 1) {
		piv_build_get_response(&a, le);
		send(f, &a);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(r.sw, 0x9000);
	assert_int_equal(piv_parse_cert_object(r.data, r.len, &cert, &clen), 0);
	assert_int_equal(clen, 600);
	assert_memory_equal(cert, f->v.cert, 600);
	piv_build_get_response(&a, 0);
	assert_int_equal(send(f, &a), 0x6985);
}

static void test_discovery_chuid_ccc_and_unknown_objects(void **state)
{
	struct fx *f = *state;
	struct piv_apdu a;

	piv_build_get_data(&a, PIV_TAG_DISCOVERY);
	assert_int_equal(send(f, &a), 0x9000);
	assert_int_equal(f->out[0], 0x7e);
	piv_build_get_data(&a, PIV_TAG_CHUID);
	assert_int_equal(send(f, &a), 0x9000);
	piv_build_get_data(&a, PIV_TAG_CCC);
	assert_int_equal(send(f, &a), 0x9000);
	piv_build_get_data(&a, 0x5fc10a);
	assert_int_equal(send(f, &a), 0x6a82);
	f->v.cert_len = 0;
	piv_build_get_data(&a, PIV_TAG_CERT_9A);
	assert_int_equal(send(f, &a), 0x6a82);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0, 0xcb, 0, 0, 3, 0x5c,
				  1, 0x7e }, 8), 0x6a86);
}

static void test_command_chaining_is_reassembled(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x10, 0x20, 0, 0x80, 4,
				  '1', '2', '3', '4' }, 9), 0x9000);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x00, 0x20, 0, 0x80, 4,
				  '5', '6', 0xff, 0xff }, 9), 0x9000);
	assert_true(f->v.pin_ok);
}

static void test_unknown_class_and_instruction(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x80, 0xca, 0, 0 }, 4),
			 0x6e00);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x00, 0xf7, 0, 0x9a }, 4),
			 0x6d00);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x00, 0x20, 0 }, 3),
			 0x6700);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0, 0x20, 0, 0x80, 9,
				  1 }, 6), 0x6700);
}

/* yubico-piv-tool -a status asks these; the serial comes from the GUID. */
static void test_yubikey_version_and_serial(void **state)
{
	struct fx *f = *state;

	memset(f->v.guid, 0, sizeof(f->v.guid));
	f->v.guid[0] = 0x81;
	f->v.guid[3] = 0x2a;
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x00, 0xfd, 0, 0 }, 4),
			 0x9000);
	assert_int_equal(f->n, 3 + 2);
	assert_int_equal(f->out[0], 5);
	assert_int_equal(send_raw(f, (const uint8_t[]){ 0x00, 0xf8, 0, 0 }, 4),
			 0x9000);
	assert_int_equal(f->n, 4 + 2);
	assert_memory_equal(f->out, ((const uint8_t[]){ 0x01, 0, 0, 0x2a }), 4);
}

/* Decodes FASC-N character i: 4 data bits LSB first, odd parity. */
static int fascn_char(const uint8_t b[25], unsigned i)
{
	unsigned v = 0, ones = 0;

	for (unsigned k = 0; k < 5; k++) {
		unsigned bit = (b[(i * 5 + k) / 8] >> (7 - (i * 5 + k) % 8)) & 1;

		ones += bit;
		if (k < 4)
			v |= bit << k;
	}
	return ones % 2 ? (int)v : -1;
}

/* A well-formed FASC-N (sentinels, parity, LRC) whose first 8 bytes,
 * OpenSC's serial, differ from card to card and from all-unassigned. */
static void test_fascn_per_card(void **state)
{
	uint8_t g1[16], g2[16], a[25], b[25], d4[8];
	unsigned lrc = 0;

	(void)state;
	for (int i = 0; i < 16; i++) {
		g1[i] = (uint8_t)(i * 37 + 1);
		g2[i] = (uint8_t)(i * 53 + 7);
	}
	vcard_fascn(g1, a);
	vcard_fascn(g2, b);
	for (unsigned i = 0; i < 40; i++) {
		int c = fascn_char(a, i);

		assert_true(c >= 0);
		if (i < 39)
			lrc ^= (unsigned)c;
		else
			assert_int_equal((unsigned)c, lrc);
	}
	assert_int_equal(fascn_char(a, 0), 0xb);
	assert_int_equal(fascn_char(a, 5), 0xd);
	assert_int_equal(fascn_char(a, 38), 0xf);
	assert_true(fascn_char(a, 1) <= 9);
	memset(d4, 0xd4, sizeof(d4));
	assert_memory_not_equal(a, d4, 8);
	assert_memory_not_equal(a, b, 8);
}

static void test_card_file_round_trip_keeps_block(void **state)
{
	struct fx *f = *state;
	char dir[] = "/tmp/kg-vcard-test.XXXXXX", path[64];
	/* the sed below edits exactly this file */
	struct kg_err e = { "" };
	struct vcard *w = malloc(sizeof(*w));
	struct stat st;

	assert_non_null(w);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/card", dir);
	f->v.pin_left = 0;
	f->v.puk_left = 2;
	assert_int_equal(vcard_save(&f->v, path, &e), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(vcard_load(w, path, &e), 0);
	assert_int_equal(w->pin_left, 0);
	assert_int_equal(w->puk_left, 2);
	assert_memory_equal(w->pin, f->v.pin, PIV_PIN_LEN);
	assert_int_equal(w->cert_len, f->v.cert_len);
	assert_int_equal(EVP_PKEY_eq(w->key, f->v.key), 1);
	vcard_free(w);
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "sed -i 's/^pin_tries_left = 0/"
			 "pin_tries_lef = 0/' %s", path);
		assert_int_equal(system(cmd), 0);
	}
	assert_int_equal(vcard_load(w, path, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "pin_tries_lef"));
	unlink(path);
	rmdir(dir);
	free(w);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_select_answers_piv_template),
		T(test_yubikey_version_and_serial),
		cmocka_unit_test(test_fascn_per_card),
		T(test_wrong_pins_count_down_then_block),
		T(test_right_pin_restores_counter),
		T(test_malformed_pin_spends_no_try),
		T(test_puk_resets_blocked_pin),
		T(test_change_pin_needs_old_pin),
		T(test_sign_needs_pin_and_verifies),
		T(test_certificate_comes_back_through_get_response),
		T(test_discovery_chuid_ccc_and_unknown_objects),
		T(test_command_chaining_is_reassembled),
		T(test_unknown_class_and_instruction),
		T(test_card_file_round_trip_keeps_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
