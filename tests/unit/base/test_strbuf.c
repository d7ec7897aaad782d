/* SPDX-License-Identifier: MIT */
/* The text buffer: growing and fixed, JSON strings, and every failure
 * sticky with the text left whole (realloc is wrapped to fail on demand:
 * -Wl,--wrap=realloc in meson.build). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static bool fail_realloc;

void *__wrap_realloc(void *p, size_t n)
{
	return fail_realloc ? NULL : __real_realloc(p, n);
}

static void test_growing_appends_and_grows(void **state)
{
	struct kg_sb b = KG_SB_INIT;
	char big[6001];

	(void)state;
	assert_string_equal(kg_sb_str(&b), "");
	assert_int_equal(b.len, 0);
	kg_sb_printf(&b, "%s=%d;", "a", 1);
	kg_sb_printf(&b, "%s", "");
	kg_sb_printf(&b, "%03u", 7u);
	assert_string_equal(kg_sb_str(&b), "a=1;007");
	assert_int_equal(b.len, 7);
	/* past the first 4096 bytes in small steps, then one large append */
	for (int i = 0; i < 1000; i++)
		kg_sb_printf(&b, "%04d\n", i);
	assert_int_equal(b.len, 7 + 5000);
	assert_memory_equal(kg_sb_str(&b) + 7 + 5 * 999, "0999\n", 6);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	kg_sb_printf(&b, "[%s]", big);
	assert_int_equal(b.len, 7 + 5000 + 6002);
	assert_int_equal(strlen(kg_sb_str(&b)), b.len);
	assert_int_equal(kg_sb_error(&b), 0);
	kg_sb_free(&b);
	assert_null(b.p);
	assert_string_equal(kg_sb_str(&b), "");
	kg_sb_printf(&b, "again");
	assert_string_equal(kg_sb_str(&b), "again");
	kg_sb_free(&b);
}

static void test_json_str_escapes(void **state)
{
	struct kg_sb b = KG_SB_INIT;

	(void)state;
	kg_sb_json_str(&b, "a\"b\\c\n\x01\x7f\xc3\xa9 ok");
	assert_string_equal(kg_sb_str(&b),
			    "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\\u00c3\\u00a9 ok\"");
	kg_sb_free(&b);
	kg_sb_json_str(&b, "");
	assert_string_equal(kg_sb_str(&b), "\"\"");
	kg_sb_free(&b);
}

static void test_fixed_fits_exactly_or_fails_whole(void **state)
{
	char buf[8];
	struct kg_sb b;

	(void)state;
	memset(buf, '#', sizeof(buf));
	kg_sb_fixed(&b, buf, sizeof(buf));
	assert_string_equal(buf, "");
	kg_sb_printf(&b, "abc");
	kg_sb_printf(&b, "%s", "defg");        /* 7 bytes and the NUL */
	assert_int_equal(kg_sb_error(&b), 0);
	assert_string_equal(buf, "abcdefg");
	assert_ptr_equal(kg_sb_str(&b), buf);
	kg_sb_free(&b);                        /* the same array, emptied */
	assert_string_equal(buf, "");
	kg_sb_printf(&b, "abc");
	kg_sb_printf(&b, "defgh");             /* one byte too many */
	assert_int_equal(kg_sb_error(&b), -ENOSPC);
	assert_string_equal(buf, "abc");       /* nothing of it kept */
	assert_int_equal(b.len, 3);
	kg_sb_printf(&b, "d");                 /* sticky, though it fits */
	assert_string_equal(buf, "abc");
	assert_int_equal(kg_sb_error(&b), -ENOSPC);
}

static void test_fixed_of_no_room_is_an_error(void **state)
{
	char buf[1] = { '#' };
	struct kg_sb b;

	(void)state;
	kg_sb_fixed(&b, buf, 0);
	assert_int_equal(kg_sb_error(&b), -ENOSPC);
	kg_sb_printf(&b, "x");
	assert_string_equal(kg_sb_str(&b), "");
	assert_int_equal(buf[0], '#');          /* never written */
	kg_sb_fixed(&b, buf, 1);
	kg_sb_printf(&b, "%s", "");
	assert_int_equal(kg_sb_error(&b), 0);
	kg_sb_printf(&b, "x");
	assert_int_equal(kg_sb_error(&b), -ENOSPC);
	assert_string_equal(buf, "");
}

static void test_out_of_memory_is_sticky_and_keeps_text(void **state)
{
	struct kg_sb b = KG_SB_INIT;
	char big[5000];

	(void)state;
	fail_realloc = true;
	kg_sb_printf(&b, "first");
	assert_int_equal(kg_sb_error(&b), -ENOMEM);
	assert_string_equal(kg_sb_str(&b), "");
	assert_int_equal(b.len, 0);
	kg_sb_free(&b);
	assert_int_equal(kg_sb_error(&b), 0);

	fail_realloc = false;
	kg_sb_printf(&b, "kept");
	fail_realloc = true;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	kg_sb_printf(&b, "%s", big);           /* needs to grow: fails */
	assert_int_equal(kg_sb_error(&b), -ENOMEM);
	assert_string_equal(kg_sb_str(&b), "kept");
	fail_realloc = false;
	kg_sb_printf(&b, "more");              /* sticky */
	assert_string_equal(kg_sb_str(&b), "kept");
	assert_int_equal(kg_sb_error(&b), -ENOMEM);
	kg_sb_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growing_appends_and_grows),
		cmocka_unit_test(test_json_str_escapes),
		cmocka_unit_test(test_fixed_fits_exactly_or_fails_whole),
		cmocka_unit_test(test_fixed_of_no_room_is_an_error),
		cmocka_unit_test(test_out_of_memory_is_sticky_and_keeps_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
