/* SPDX-License-Identifier: MIT */
/* PIV APDU building and response parsing against fixed byte vectors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "piv_apdu.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ })
#define assert_apdu(a, ...) do { \
	static const uint8_t want_[] = { __VA_ARGS__ }; \
	assert_int_equal((a)->len, sizeof(want_)); \
	assert_memory_equal((a)->buf, want_, sizeof(want_)); \
} while (0)

static void test_select_sends_nine_byte_aid_with_le(void **state)
{
	struct piv_apdu a;

	(void)state;
	assert_int_equal(piv_build_select(&a), 0);
	assert_apdu(&a, 0x00, 0xa4, 0x04, 0x00, 0x09, 0xa0, 0x00, 0x00, 0x03,
		    0x08, 0x00, 0x00, 0x10, 0x00, 0x00);
}

static void test_verify_pads_pin_with_ff(void **state)
{
	struct piv_apdu a;

	(void)state;
	assert_int_equal(piv_build_verify(&a, "123456"), 0);
	assert_apdu(&a, 0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3', '4', '5',
		    '6', 0xff, 0xff);
	assert_int_equal(piv_build_verify(&a, NULL), 0);
	assert_apdu(&a, 0x00, 0x20, 0x00, 0x80);
	assert_int_equal(piv_build_logout(&a), 0);
	assert_apdu(&a, 0x00, 0x20, 0xff, 0x80);
}

static void test_bad_pins_are_refused_before_sending(void **state)
{
	struct piv_apdu a;

	(void)state;
	assert_int_equal(piv_build_verify(&a, "12345"), -EINVAL);
	assert_int_equal(piv_build_verify(&a, "123456789"), -EINVAL);
	assert_int_equal(piv_build_verify(&a, "12345a"), -EINVAL);
	assert_int_equal(piv_build_reset_retry(&a, "1234567", ""), -EINVAL);
	assert_int_equal(piv_build_change_ref(&a, 0x9b, "123456", "654321"),
			 -EINVAL);
}

static void test_change_and_reset_carry_two_padded_secrets(void **state)
{
	struct piv_apdu a;

	(void)state;
	assert_int_equal(piv_build_change_ref(&a, PIV_REF_PUK, "12345678",
					      "87654321"), 0);
	assert_apdu(&a, 0x00, 0x24, 0x00, 0x81, 0x10, '1', '2', '3', '4', '5',
		    '6', '7', '8', '8', '7', '6', '5', '4', '3', '2', '1');
	assert_int_equal(piv_build_reset_retry(&a, "12345678", "999999"), 0);
	assert_apdu(&a, 0x00, 0x2c, 0x00, 0x80, 0x10, '1', '2', '3', '4', '5',
		    '6', '7', '8', '9', '9', '9', '9', '9', '9', 0xff, 0xff);
}

static void test_get_data_and_get_response(void **state)
{
	struct piv_apdu a;

	(void)state;
	assert_int_equal(piv_build_get_data(&a, PIV_TAG_CERT_9A), 0);
	assert_apdu(&a, 0x00, 0xcb, 0x3f, 0xff, 0x05, 0x5c, 0x03, 0x5f, 0xc1,
		    0x05, 0x00);
	assert_int_equal(piv_build_get_data(&a, PIV_TAG_DISCOVERY), 0);
	assert_apdu(&a, 0x00, 0xcb, 0x3f, 0xff, 0x03, 0x5c, 0x01, 0x7e, 0x00);
	assert_int_equal(piv_build_get_response(&a, 0x2a), 0);
	assert_apdu(&a, 0x00, 0xc0, 0x00, 0x00, 0x2a);
}

static void test_sign_wraps_digest_in_dynamic_auth_template(void **state)
{
	uint8_t dg[32];
	struct piv_apdu a;

	(void)state;
	for (int i = 0; i < 32; i++)
		dg[i] = (uint8_t)i;
	assert_int_equal(piv_build_sign(&a, 0x9a, dg), 0);
	assert_int_equal(a.len, 5 + 38 + 1);
	assert_memory_equal(a.buf, BYTES(0x00, 0x87, 0x11, 0x9a, 0x26, 0x7c,
					 0x24, 0x82, 0x00, 0x81, 0x20), 11);
	assert_memory_equal(a.buf + 11, dg, 32);
	assert_int_equal(a.buf[a.len - 1], 0x00);
}

static void test_command_chaining_splits_at_255(void **state)
{
	uint8_t data[300];
	struct piv_apdu a;
	size_t next;

	(void)state;
	memset(data, 0x42, sizeof(data));
	assert_int_equal(piv_build_segment(&a, 0xdb, 0x3f, 0xff, data, 300, 0,
					   &next, 0), 0);
	assert_int_equal(next, 255);
	assert_memory_equal(a.buf, BYTES(0x10, 0xdb, 0x3f, 0xff, 0xff), 5);
	assert_int_equal(a.len, 260);
	assert_int_equal(piv_build_segment(&a, 0xdb, 0x3f, 0xff, data, 300,
					   next, &next, 0), 0);
	assert_int_equal(next, 300);
	assert_memory_equal(a.buf, BYTES(0x00, 0xdb, 0x3f, 0xff, 0x2d), 5);
	assert_int_equal(a.len, 50);
}

static void test_every_status_word_is_classified(void **state)
{
	static const struct { uint16_t sw; enum piv_sw_kind k; unsigned arg;
			      int err; } v[] = {
		{ 0x9000, PIV_SW_OK, 0, 0 },
		{ 0x6110, PIV_SW_MORE, 0x10, -EPROTO },
		{ 0x6100, PIV_SW_MORE, 0, -EPROTO },
		{ 0x63c2, PIV_SW_WRONG_PIN, 2, -EACCES },
		{ 0x63c1, PIV_SW_WRONG_PIN, 1, -EACCES },
		{ 0x63c0, PIV_SW_WRONG_PIN, 0, -EACCES },
		{ 0x6700, PIV_SW_WRONG_LENGTH, 0, -EINVAL },
		{ 0x6982, PIV_SW_NOT_SATISFIED, 0, -EPERM },
		{ 0x6983, PIV_SW_BLOCKED, 0, -EKEYREVOKED },
		{ 0x6a80, PIV_SW_BAD_DATA, 0, -EINVAL },
		{ 0x6a82, PIV_SW_NOT_FOUND, 0, -ENOENT },
		{ 0x6a86, PIV_SW_BAD_P1P2, 0, -EINVAL },
		{ 0x6a88, PIV_SW_REF_NOT_FOUND, 0, -ENOENT },
		{ 0x6d00, PIV_SW_INS_UNSUPPORTED, 0, -EOPNOTSUPP },
		{ 0x6e00, PIV_SW_CLA_UNSUPPORTED, 0, -EOPNOTSUPP },
		{ 0x6f00, PIV_SW_OTHER, 0, -EPROTO },
	};
	unsigned arg;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(piv_sw_kind(v[i].sw, &arg), v[i].k);
		assert_int_equal(arg, v[i].arg);
		assert_int_equal(piv_sw_errno(v[i].sw), v[i].err);
		assert_non_null(piv_sw_text(v[i].k));
	}
	assert_string_equal(piv_sw_text(PIV_SW_BLOCKED), "blocked");
}

static void test_chained_response_is_collected(void **state)
{
	uint8_t chunk[258];
	struct piv_resp r;
	uint8_t le = 0;

	(void)state;
	piv_resp_init(&r);
	memset(chunk, 0xaa, 256);
	chunk[256] = 0x61, chunk[257] = 0x00;       /* 256 or more left */
	assert_int_equal(piv_resp_feed(&r, chunk, 258, &le), 1);
	assert_int_equal(le, 0);
	memset(chunk, 0xbb, 256);
	chunk[256] = 0x61, chunk[257] = 0x05;
	assert_int_equal(piv_resp_feed(&r, chunk, 258, &le), 1);
	assert_int_equal(le, 5);
	assert_int_equal(piv_resp_feed(&r, BYTES(1, 2, 3, 4, 5, 0x90, 0x00), 7,
				       &le), 0);
	assert_int_equal(r.len, 517);
	assert_int_equal(r.sw, 0x9000);
	assert_int_equal(r.data[255], 0xaa);
	assert_int_equal(r.data[256], 0xbb);
	assert_int_equal(r.data[516], 5);
}

static void test_response_without_status_or_too_long_is_refused(void **state)
{
	static uint8_t big[PIV_RESP_MAX + 2];
	struct piv_resp r;
	uint8_t le;

	(void)state;
	piv_resp_init(&r);
	assert_int_equal(piv_resp_feed(&r, BYTES(0x90), 1, &le), -EBADMSG);
	big[PIV_RESP_MAX] = 0x61;
	assert_int_equal(piv_resp_feed(&r, big, sizeof(big), &le), 1);
	assert_int_equal(piv_resp_feed(&r, BYTES(1, 0x90, 0x00), 3, &le),
			 -EMSGSIZE);
}

static void test_select_answer_is_recognised(void **state)
{
	static const uint8_t ok[] = { 0x61, 0x11, 0x4f, 0x06, 0x00, 0x00, 0x10,
		0x00, 0x01, 0x00, 0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00,
		0x03, 0x08 };
	static const uint8_t other[] = { 0x61, 0x04, 0x4f, 0x02, 0x12, 0x34 };

	(void)state;
	assert_int_equal(piv_parse_select(ok, sizeof(ok)), 0);
	assert_int_equal(piv_parse_select(other, sizeof(other)), -EBADMSG);
	assert_int_equal(piv_parse_select(ok, sizeof(ok) - 1), -EBADMSG);
	assert_int_equal(piv_parse_select(NULL, 0), -ENOENT);
}

static void test_certificate_object_with_long_length(void **state)
{
	uint8_t obj[300 + 20];
	const uint8_t *cert;
	size_t n = 0, clen;

	(void)state;
	memcpy(obj, BYTES(0x53, 0x82, 0x01, 0x35, 0x70, 0x82, 0x01, 0x2c), 8);
	n = 8;
	memset(obj + n, 0x30, 300);
	n += 300;
	memcpy(obj + n, BYTES(0x71, 0x01, 0x00, 0xfe, 0x00), 5);
	n += 5;
	assert_int_equal(piv_parse_cert_object(obj, n, &cert, &clen), 0);
	assert_int_equal(clen, 300);
	assert_ptr_equal(cert, obj + 8);
	obj[n - 3] = 0x01;   /* gzip */
	assert_int_equal(piv_parse_cert_object(obj, n, &cert, &clen), -EOPNOTSUPP);
	assert_int_equal(piv_parse_cert_object(obj, n - 1, &cert, &clen), -EBADMSG);
	assert_int_equal(piv_parse_cert_object(BYTES(0x53, 0x02, 0x71, 0x00), 4,
					       &cert, &clen), -ENOENT);
}

static void test_sign_response_yields_der_signature(void **state)
{
	uint8_t r[4 + 70];
	const uint8_t *sig;
	size_t n;

	(void)state;
	r[0] = 0x7c, r[1] = 72, r[2] = 0x82, r[3] = 70, r[4] = 0x30;
	memset(r + 5, 0x02, 69);
	assert_int_equal(piv_parse_sign_response(r, 74, &sig, &n), 0);
	assert_int_equal(n, 70);
	assert_ptr_equal(sig, r + 4);
	r[4] = 0x31;
	assert_int_equal(piv_parse_sign_response(r, 74, &sig, &n), -EBADMSG);
	assert_int_equal(piv_parse_sign_response(BYTES(0x7c, 0x02, 0x81, 0x00),
						 4, &sig, &n), -ENOENT);
	assert_int_equal(piv_parse_sign_response(BYTES(0x7c, 0x84, 0, 0, 0, 1),
						 6, &sig, &n), -EBADMSG);
}

static void test_tlv_reader_refuses_overruns(void **state)
{
	const uint8_t *v;
	size_t pos = 0, n;
	uint32_t tag;

	(void)state;
	assert_int_equal(piv_tlv_next(BYTES(0x5f, 0xc1, 0x05, 0x01, 0xaa), 5,
				      &pos, &tag, &v, &n), 0);
	assert_int_equal(tag, 0x5fc105);
	assert_int_equal(n, 1);
	pos = 0;
	assert_int_equal(piv_tlv_next(BYTES(0x70, 0x82, 0x01), 3, &pos, &tag,
				      &v, &n), -EBADMSG);
	pos = 0;
	assert_int_equal(piv_tlv_next(BYTES(0x70, 0x05, 0x01), 3, &pos, &tag,
				      &v, &n), -EBADMSG);
	pos = 0;
	assert_int_equal(piv_tlv_next(BYTES(0x5f, 0xc1, 0xc1, 0xc1), 4, &pos,
				      &tag, &v, &n), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select_sends_nine_byte_aid_with_le),
		cmocka_unit_test(test_verify_pads_pin_with_ff),
		cmocka_unit_test(test_bad_pins_are_refused_before_sending),
		cmocka_unit_test(test_change_and_reset_carry_two_padded_secrets),
		cmocka_unit_test(test_get_data_and_get_response),
		cmocka_unit_test(test_sign_wraps_digest_in_dynamic_auth_template),
		cmocka_unit_test(test_command_chaining_splits_at_255),
		cmocka_unit_test(test_every_status_word_is_classified),
		cmocka_unit_test(test_chained_response_is_collected),
		cmocka_unit_test(test_response_without_status_or_too_long_is_refused),
		cmocka_unit_test(test_select_answer_is_recognised),
		cmocka_unit_test(test_certificate_object_with_long_length),
		cmocka_unit_test(test_sign_response_yields_der_signature),
		cmocka_unit_test(test_tlv_reader_refuses_overruns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
