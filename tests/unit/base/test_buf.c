/* SPDX-License-Identifier: MIT */
/* The bounds-checked reader/writer: every overrun refused, nothing consumed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "buf.h"

static void test_reads_big_endian_integers(void **state)
{
	static const uint8_t in[] = { 1, 0x02, 0x03, 0, 0, 0, 4,
				      0, 0, 0, 0, 0, 0, 0x01, 0x05 };
	struct kg_reader r;
	uint8_t a;
	uint16_t b;
	uint32_t c;
	uint64_t d;

	(void)state;
	kg_reader_init(&r, in, sizeof(in));
	assert_int_equal(kg_get_u8(&r, &a), 0);
	assert_int_equal(kg_get_u16(&r, &b), 0);
	assert_int_equal(kg_get_u32(&r, &c), 0);
	assert_int_equal(kg_get_u64(&r, &d), 0);
	assert_int_equal(a, 1);
	assert_int_equal(b, 0x0203);
	assert_int_equal(c, 4);
	assert_int_equal(d, 0x0105);
	assert_true(kg_reader_done(&r));
}

static void test_every_getter_refuses_overrun_and_keeps_position(void **state)
{
	static const uint8_t in[7] = { 0 };
	struct kg_reader r;
	uint8_t a, buf[8];
	uint16_t b;
	uint32_t c;
	uint64_t d;
	const uint8_t *v;
	size_t n;

	(void)state;
	for (size_t len = 0; len <= sizeof(in); len++) {
		kg_reader_init(&r, in, len);
		assert_int_equal(kg_get_u64(&r, &d), -EMSGSIZE);
		assert_int_equal(r.pos, 0);
		assert_int_equal(kg_get_u32(&r, &c), len >= 4 ? 0 : -EMSGSIZE);
		kg_reader_init(&r, in, len);
		assert_int_equal(kg_get_u16(&r, &b), len >= 2 ? 0 : -EMSGSIZE);
		kg_reader_init(&r, in, len);
		assert_int_equal(kg_get_u8(&r, &a), len >= 1 ? 0 : -EMSGSIZE);
		kg_reader_init(&r, in, len);
		assert_int_equal(kg_get_bytes(&r, buf, len + 1), -EMSGSIZE);
		assert_int_equal(kg_get_view(&r, &v, len + 1), -EMSGSIZE);
		assert_int_equal(kg_skip(&r, len + 1), -EMSGSIZE);
		assert_int_equal(kg_get_lv16(&r, &v, &n, 100), len >= 2 ? 0 : -EMSGSIZE);
		assert_true(len < 2 ? r.pos == 0 : r.pos == 2);
	}
}

static void test_huge_length_does_not_wrap(void **state)
{
	static const uint8_t in[4] = { 0 };
	struct kg_reader r;
	const uint8_t *v;

	(void)state;
	kg_reader_init(&r, in, sizeof(in));
	assert_int_equal(kg_skip(&r, 2), 0);
	assert_int_equal(kg_get_view(&r, &v, SIZE_MAX), -EMSGSIZE);
	assert_int_equal(kg_get_view(&r, &v, SIZE_MAX - 1), -EMSGSIZE);
	assert_int_equal(r.pos, 2);
}

static void test_lv16_refuses_short_body_and_over_max(void **state)
{
	static const uint8_t short_body[] = { 0, 5, 'a', 'b' };
	static const uint8_t ok[] = { 0, 2, 'a', 'b' };
	struct kg_reader r;
	const uint8_t *v;
	size_t n;

	(void)state;
	kg_reader_init(&r, short_body, sizeof(short_body));
	assert_int_equal(kg_get_lv16(&r, &v, &n, 100), -EMSGSIZE);
	assert_int_equal(r.pos, 0);
	kg_reader_init(&r, ok, sizeof(ok));
	assert_int_equal(kg_get_lv16(&r, &v, &n, 1), -EMSGSIZE);
	assert_int_equal(r.pos, 0);
	assert_int_equal(kg_get_lv16(&r, &v, &n, 2), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(v, "ab", 2);
}

static void test_writer_refuses_overrun_and_writes_nothing(void **state)
{
	uint8_t out[5];
	struct kg_writer w;

	(void)state;
	memset(out, 0xee, sizeof(out));
	kg_writer_init(&w, out, 3);
	assert_int_equal(kg_put_u32(&w, 0x01020304), -EMSGSIZE);
	assert_int_equal(kg_put_u64(&w, 1), -EMSGSIZE);
	assert_int_equal(w.pos, 0);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(kg_put_u16(&w, 0x0102), 0);
	assert_int_equal(kg_put_u16(&w, 0x0304), -EMSGSIZE);
	assert_int_equal(kg_put_u8(&w, 9), 0);
	assert_int_equal(kg_put_u8(&w, 9), -EMSGSIZE);
	assert_int_equal(kg_put_bytes(&w, "x", 1), -EMSGSIZE);
	assert_memory_equal(out, "\x01\x02\x09\xee", 4);
}

static void test_writer_lv16_refuses_oversize(void **state)
{
	static uint8_t big[0x10000];
	uint8_t out[8];
	struct kg_writer w;

	(void)state;
	kg_writer_init(&w, out, sizeof(out));
	assert_int_equal(kg_put_lv16(&w, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(kg_put_lv16(&w, "abcdefg", 7), -EMSGSIZE);
	assert_int_equal(w.pos, 0);
	assert_int_equal(kg_put_lv16(&w, "abc", 3), 0);
	assert_memory_equal(out, "\x00\x03" "abc", 5);
}

static void test_round_trip(void **state)
{
	uint8_t out[32];
	struct kg_writer w;
	struct kg_reader r;
	uint64_t d;
	uint32_t c;

	(void)state;
	kg_writer_init(&w, out, sizeof(out));
	assert_int_equal(kg_put_u64(&w, 0x1122334455667788ull), 0);
	assert_int_equal(kg_put_u32(&w, 0xdeadbeef), 0);
	kg_reader_init(&r, out, w.pos);
	assert_int_equal(kg_get_u64(&r, &d), 0);
	assert_int_equal(kg_get_u32(&r, &c), 0);
	assert_true(d == 0x1122334455667788ull);
	assert_true(c == 0xdeadbeef);
	assert_true(kg_reader_done(&r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_big_endian_integers),
		cmocka_unit_test(test_every_getter_refuses_overrun_and_keeps_position),
		cmocka_unit_test(test_huge_length_does_not_wrap),
		cmocka_unit_test(test_lv16_refuses_short_body_and_over_max),
		cmocka_unit_test(test_writer_refuses_overrun_and_writes_nothing),
		cmocka_unit_test(test_writer_lv16_refuses_oversize),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
