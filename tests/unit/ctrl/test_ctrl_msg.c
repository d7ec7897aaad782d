/* SPDX-License-Identifier: MIT */
/* Control messages: every type round-trips; every malformed body is
 * refused with its own reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "ctrl.h"

static uint8_t frame[KG_CTRL_MAX_FRAME];
static size_t frame_len;

#define V(s) ((struct kg_ctrl_view){ (const uint8_t *)(s), sizeof(s) - 1 })

static const uint8_t sig[70] = { 0x30, 0x44, 0x02, 0x20, 1, 2, 3 };
static const uint8_t cert[300] = { 0x30, 0x82, 0x01, 0x28 };

/* Builds m, checks the header, parses the body back into out. */
static void roundtrip(const struct kg_ctrl_msg *m, struct kg_ctrl_msg *out)
{
	const char *why = "unset";
	size_t body;

	assert_int_equal(kg_ctrl_build(m, frame, sizeof(frame), &frame_len), 0);
	assert_int_equal(kg_ctrl_frame_len(frame, frame_len, KG_CTRL_MAX_BODY,
					   &body), 0);
	assert_int_equal(body + KG_CTRL_HDR_LEN, frame_len);
	assert_int_equal(kg_ctrl_parse(frame + 4, body, out, &why), 0);
	assert_null(why);
	assert_int_equal(out->type, m->type);
}

static void assert_view(struct kg_ctrl_view a, struct kg_ctrl_view b)
{
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
}

static void test_hello_roundtrip(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_HELLO }, o;

	(void)st;
	m.cert = (struct kg_ctrl_view){ cert, sizeof(cert) };
	roundtrip(&m, &o);
	assert_view(o.cert, m.cert);
}

static void test_challenge_and_reproof_request_roundtrip(void **st)
{
	uint8_t types[] = { KG_CTRL_CHALLENGE, KG_CTRL_REPROOF_REQ };

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		struct kg_ctrl_msg m = { .type = types[i] }, o;

		memset(m.nonce, 0xa0 + (int)i, sizeof(m.nonce));
		roundtrip(&m, &o);
		assert_memory_equal(o.nonce, m.nonce, 32);
	}
}

static void test_proof_and_reproof_roundtrip(void **st)
{
	uint8_t types[] = { KG_CTRL_PROOF, KG_CTRL_REPROOF };

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		struct kg_ctrl_msg m = { .type = types[i] }, o;

		m.sig = (struct kg_ctrl_view){ sig, sizeof(sig) };
		roundtrip(&m, &o);
		assert_view(o.sig, m.sig);
	}
}

static void test_session_roundtrip_with_services(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_SESSION }, o;

	(void)st;
	m.session_id = 0x1122334455667788ull;
	m.idle_timeout = 600;
	m.expires = 28800;
	m.reproof_interval = 300;
	memset(m.nonce, 7, 32);
	m.services[0] = V("web");
	m.services[1] = V("ssh");
	m.n_services = 2;
	roundtrip(&m, &o);
	assert_true(o.session_id == m.session_id);
	assert_int_equal(o.idle_timeout, 600);
	assert_int_equal(o.expires, 28800);
	assert_int_equal(o.reproof_interval, 300);
	assert_memory_equal(o.nonce, m.nonce, 32);
	assert_int_equal(o.n_services, 2);
	assert_view(o.services[0], m.services[0]);
	assert_view(o.services[1], m.services[1]);
}

static void test_service_request_roundtrip(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_SERVICE_REQ }, o;

	(void)st;
	memset(m.nonce, 9, 32);
	m.service = V("web");
	m.sig = (struct kg_ctrl_view){ sig, 8 };
	roundtrip(&m, &o);
	assert_memory_equal(o.nonce, m.nonce, 32);
	assert_view(o.service, m.service);
	assert_view(o.sig, m.sig);
}

static void test_grant_roundtrip_v4_and_v6(void **st)
{
	const char *addrs[] = { "203.0.113.2", "2001:db8:113::2" };

	(void)st;
	for (size_t i = 0; i < 2; i++) {
		struct kg_ctrl_msg m = { .type = KG_CTRL_GRANT }, o;

		m.service = V("ssh");
		assert_int_equal(kg_addr_parse(addrs[i], &m.grant.addr), 0);
		m.grant.port = 40123;
		m.grant.lease = 86400;
		memset(m.nonce, 3, 32);
		roundtrip(&m, &o);
		assert_view(o.service, m.service);
		assert_true(kg_addr_eq(&o.grant.addr, &m.grant.addr));
		assert_int_equal(o.grant.port, 40123);
		assert_true(o.grant.lease == 86400);
		assert_memory_equal(o.nonce, m.nonce, 32);
	}
}

static void test_refused_close_error_roundtrip(void **st)
{
	struct kg_ctrl_msg r = { .type = KG_CTRL_REFUSED }, c = { .type = KG_CTRL_CLOSE },
			   e = { .type = KG_CTRL_ERROR }, o;

	(void)st;
	r.service = V("db");
	r.code = KG_CODE_NOT_ALLOWED;
	memset(r.nonce, 4, 32);
	roundtrip(&r, &o);
	assert_int_equal(o.code, KG_CODE_NOT_ALLOWED);
	assert_view(o.service, r.service);
	assert_memory_equal(o.nonce, r.nonce, 32);

	c.code = KG_CODE_REVOKED;
	roundtrip(&c, &o);
	assert_int_equal(o.code, KG_CODE_REVOKED);
	assert_string_equal(kg_ctrl_code_name(o.code), "revoked");

	e.code = KG_CODE_PROTOCOL;
	e.text = V("unexpected message");
	roundtrip(&e, &o);
	assert_int_equal(o.code, KG_CODE_PROTOCOL);
	assert_view(o.text, e.text);
	e.text = (struct kg_ctrl_view){ NULL, 0 };
	roundtrip(&e, &o);
	assert_int_equal(o.text.len, 0);
}

/* ---- malformed bodies ---- */

static void refused(const uint8_t *body, size_t len, const char *reason)
{
	struct kg_ctrl_msg m;
	const char *why = NULL;

	assert_int_equal(kg_ctrl_parse(body, len, &m, &why), -EBADMSG);
	assert_non_null(why);
	assert_string_equal(why, reason);
	assert_int_equal(m.type, 0);
}

static void test_malformed_bodies_are_refused_with_reason(void **st)
{
	uint8_t big[KG_CTRL_MAX_BODY + 1] = { 1, KG_CTRL_CLOSE };
	uint8_t longname[2 + 32 + 1 + 33] = { 1, KG_CTRL_SERVICE_REQ };

	(void)st;
	refused((const uint8_t *)"", 0, "truncated");
	refused((const uint8_t *)"\x01", 1, "truncated");
	refused((const uint8_t *)"\x02\x08\x00\x01", 4, "bad_version");
	refused((const uint8_t *)"\x01\x63", 2, "unknown_type");
	refused((const uint8_t *)"\x01\x00", 2, "unknown_type");
	refused((const uint8_t *)"\x01\x08\x00", 3, "truncated");
	refused((const uint8_t *)"\x01\x08\x00\x01\x00", 5, "trailing_bytes");
	refused((const uint8_t *)"\x01\x08\x01\x00", 4, "bad_code");
	refused(big, sizeof(big), "too_long");
	/* hello: empty certificate, length beyond the body */
	refused((const uint8_t *)"\x01\x01\x00\x00", 4, "bad_certificate_length");
	refused((const uint8_t *)"\x01\x01\x00\x05\x30", 5, "truncated");
	/* challenge one byte short */
	refused((const uint8_t *)"\x01\x02" "0123456789012345678901234567890", 33,
		"truncated");
	/* proof: signature too short, and too long (73) */
	refused((const uint8_t *)"\x01\x03\x00\x02\x30\x00", 6,
		"bad_signature_length");
	{
		uint8_t b[4 + 73] = { 1, KG_CTRL_PROOF, 0, 73 };

		refused(b, sizeof(b), "bad_signature_length");
	}
	/* service request: upper case name, name over 32 bytes */
	{
		uint8_t b[2 + 32 + 1 + 3] = { 1, KG_CTRL_SERVICE_REQ };

		b[34] = 3;
		memcpy(b + 35, "Web", 3);
		refused(b, sizeof(b), "bad_service_name");
	}
	longname[34] = 33;
	memset(longname + 35, 'a', 33);
	refused(longname, sizeof(longname), "bad_service_name");
	longname[34] = 40;
	refused(longname, sizeof(longname), "truncated");
	/* error text with a control byte */
	refused((const uint8_t *)"\x01\x0b\x00\x0a\x02\x41\x0a", 7, "bad_text");
}

static void test_malformed_session_and_grant_are_refused(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_GRANT };
	uint8_t b[128];

	(void)st;
	/* session id 0 */
	memset(b, 0, sizeof(b));
	b[0] = 1;
	b[1] = KG_CTRL_SESSION;
	refused(b, 2 + 8 + 12 + 32 + 1, "bad_session_id");
	/* 65 services */
	b[9] = 1;
	b[2 + 8 + 12 + 32] = 65;
	refused(b, 2 + 8 + 12 + 32 + 1, "too_many_services");
	/* grant: family 5, port 0 */
	m.service = V("web");
	kg_addr_parse("203.0.113.2", &m.grant.addr);
	m.grant.port = 1;
	assert_int_equal(kg_ctrl_build(&m, frame, sizeof(frame), &frame_len), 0);
	frame[4 + 2 + 4] = 5;
	refused(frame + 4, frame_len - 4, "bad_family");
	frame[4 + 2 + 4] = 4;
	frame[4 + 2 + 4 + 1 + 4] = 0;
	frame[4 + 2 + 4 + 1 + 4 + 1] = 0;
	refused(frame + 4, frame_len - 4, "bad_port");
}

static void test_frame_header_refuses_zero_and_oversize(void **st)
{
	size_t n = 0;

	(void)st;
	assert_int_equal(kg_ctrl_frame_len((const uint8_t *)"\0\0", 2, 100, &n),
			 -EAGAIN);
	assert_int_equal(kg_ctrl_frame_len((const uint8_t *)"\0\0\0\0", 4, 100, &n),
			 -EMSGSIZE);
	assert_int_equal(kg_ctrl_frame_len((const uint8_t *)"\0\0\0\x65", 4, 100,
					   &n), -EMSGSIZE);
	assert_int_equal(kg_ctrl_frame_len((const uint8_t *)"\xff\0\0\0", 4,
					   KG_CTRL_MAX_BODY, &n), -EMSGSIZE);
	assert_int_equal(kg_ctrl_frame_len((const uint8_t *)"\0\0\0\x64", 4, 100,
					   &n), 0);
	assert_int_equal(n, 100);
}

static void test_build_refuses_out_of_bounds_fields(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_SERVICE_REQ };

	(void)st;
	m.service = V("no spaces");
	m.sig = (struct kg_ctrl_view){ sig, 70 };
	assert_int_equal(kg_ctrl_build(&m, frame, sizeof(frame), &frame_len), -EINVAL);
	m.service = V("web");
	m.sig.len = 73;
	assert_int_equal(kg_ctrl_build(&m, frame, sizeof(frame), &frame_len), -EINVAL);
	m.sig.len = 70;
	assert_int_equal(kg_ctrl_build(&m, frame, 20, &frame_len), -EMSGSIZE);
	m.type = 99;
	assert_int_equal(kg_ctrl_build(&m, frame, sizeof(frame), &frame_len), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_challenge_and_reproof_request_roundtrip),
		cmocka_unit_test(test_proof_and_reproof_roundtrip),
		cmocka_unit_test(test_session_roundtrip_with_services),
		cmocka_unit_test(test_service_request_roundtrip),
		cmocka_unit_test(test_grant_roundtrip_v4_and_v6),
		cmocka_unit_test(test_refused_close_error_roundtrip),
		cmocka_unit_test(test_malformed_bodies_are_refused_with_reason),
		cmocka_unit_test(test_malformed_session_and_grant_are_refused),
		cmocka_unit_test(test_frame_header_refuses_zero_and_oversize),
		cmocka_unit_test(test_build_refuses_out_of_bounds_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
