/* SPDX-License-Identifier: MIT */
/* The config parser: good files read, every bad line refused with file:line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static int parse(struct kg_conf *c, const char *text, struct kg_err *e)
{
	return kg_conf_parse(c, "green.conf", text, strlen(text), e);
}

static void test_reads_sections_keys_and_comments(void **state)
{
	struct kg_conf c;
	struct kg_err e;
	const char *s;
	uint64_t u;
	bool b;

	(void)state;
	assert_int_equal(parse(&c, "# comment\n; also\n\n[green]\n"
				   "  knock_port =  62201  \n"
				   "name=a b\n[ips]\nenabled = yes\n", &e), 0);
	assert_int_equal(kg_conf_str(&c, "green", "name", NULL, &s, &e), 0);
	assert_string_equal(s, "a b");
	assert_int_equal(kg_conf_uint(&c, "green", "knock_port", true, 0, 1, 65535, &u, &e), 0);
	assert_int_equal(u, 62201);
	assert_int_equal(kg_conf_bool(&c, "ips", "enabled", false, &b, &e), 0);
	assert_true(b);
	assert_int_equal(kg_conf_uint(&c, "ips", "ban_time", false, 60, 1, 99, &u, &e), 0);
	assert_int_equal(u, 60);
	kg_conf_free(&c);
}

struct bad_case {
	const char *text;
	const char *want;   /* substring of the message */
};

static void test_bad_lines_are_refused_with_file_and_line(void **state)
{
	static const struct bad_case cases[] = {
		{ "key = 1\n", "green.conf:1: setting outside any [section]" },
		{ "[green]\nnot a setting\n", "green.conf:2: expected 'key = value'" },
		{ "[green]\nBad-Key = 1\n", "green.conf:2: bad key" },
		{ "[green]\n = 1\n", "green.conf:2: bad key" },
		{ "[gre en x]\n", "green.conf:1: malformed section header" },
		{ "[green\n", "green.conf:1: malformed section header" },
		{ "[]\n", "green.conf:1: malformed section header" },
		{ "[user al!ce]\n", "green.conf:1: malformed section header" },
		{ "[green]\na = 1\na = 2\n", "green.conf:3: 'a' set twice in [green]" },
		{ "[green]\na = \x01\n", "green.conf:2: control byte 0x01" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kg_conf c;
		struct kg_err e = { "" };

		assert_int_equal(parse(&c, cases[i].text, &e), -EINVAL);
		if (!strstr(e.msg, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, e.msg, cases[i].want);
		assert_int_equal(c.n, 0);
		kg_conf_free(&c);
	}
}

static void test_nul_byte_is_refused(void **state)
{
	static const char text[] = "[green]\na = x\0y\n";
	struct kg_conf c;
	struct kg_err e;

	(void)state;
	assert_int_equal(kg_conf_parse(&c, "f", text, sizeof(text) - 1, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "f:2: control byte 0x00"));
	kg_conf_free(&c);
}

static void test_overlong_line_is_refused(void **state)
{
	char *text = malloc(KG_CONF_MAX_LINE + 32);
	struct kg_conf c;
	struct kg_err e;

	(void)state;
	strcpy(text, "[g]\nk = ");
	memset(text + 8, 'a', KG_CONF_MAX_LINE);
	text[8 + KG_CONF_MAX_LINE] = 0;
	assert_int_equal(parse(&c, text, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green.conf:2: line longer than 4096 bytes"));
	kg_conf_free(&c);
	free(text);
}

static void test_bad_values_quote_the_value_and_line(void **state)
{
	struct kg_conf c;
	struct kg_err e;
	uint64_t u;
	bool b;
	uint8_t key[4];

	(void)state;
	assert_int_equal(parse(&c, "[g]\nport = 70000\nn = 12x\nb = maybe\nk = 0011zz\nm = -1\n", &e), 0);
	assert_int_equal(kg_conf_uint(&c, "g", "port", true, 0, 1, 65535, &u, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green.conf:2: port: expected a whole number from 1 to 65535, got '70000'"));
	assert_int_equal(kg_conf_uint(&c, "g", "n", true, 0, 0, 100, &u, &e), -EINVAL);
	assert_non_null(strstr(e.msg, ":3: n:"));
	assert_non_null(strstr(e.msg, "'12x'"));
	assert_int_equal(kg_conf_uint(&c, "g", "m", true, 0, 0, 100, &u, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "'-1'"));
	assert_int_equal(kg_conf_bool(&c, "g", "b", false, &b, &e), -EINVAL);
	assert_non_null(strstr(e.msg, ":4: b: expected yes or no, got 'maybe'"));
	assert_int_equal(kg_conf_hex(&c, "g", "k", true, key, 4, &e), -EINVAL);
	assert_non_null(strstr(e.msg, ":5: k: expected 8 hex digits"));
	assert_int_equal(kg_conf_uint(&c, "g", "absent", true, 0, 0, 1, &u, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "[g] needs 'absent'"));
	kg_conf_free(&c);
}

static void test_unknown_keys_are_refused(void **state)
{
	static const char *const allowed[] = { "knock_port", NULL };
	struct kg_conf c;
	struct kg_err e;

	(void)state;
	assert_int_equal(parse(&c, "[green]\nknock_port = 1\nknok_port = 2\n", &e), 0);
	assert_int_equal(kg_conf_check_keys(&c, "green", allowed, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green.conf:3: unknown key 'knok_port' in [green]"));
	kg_conf_free(&c);
}

static void test_kind_sections_and_lists(void **state)
{
	struct kg_conf c;
	struct kg_err e;
	size_t i = 0, n;
	char **v;
	const char *name;

	(void)state;
	assert_int_equal(parse(&c, "[user alice]\nservices = web, ssh  db\n[service web]\n"
				   "[user bob@x]\nservices =\n", &e), 0);
	name = kg_conf_next_section(&c, "user", &i);
	assert_string_equal(name, "alice");
	name = kg_conf_next_section(&c, "user", &i);
	assert_string_equal(name, "bob@x");
	assert_null(kg_conf_next_section(&c, "user", &i));
	assert_true(kg_conf_has_section(&c, "service web"));
	assert_int_equal(kg_conf_list(&c, "user alice", "services", &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "web");
	assert_string_equal(v[2], "db");
	kg_conf_list_free(v, n);
	assert_int_equal(kg_conf_list(&c, "user bob@x", "services", &v, &n, &e), 0);
	assert_int_equal(n, 0);
	kg_conf_free(&c);
}

static void test_load_reports_missing_file(void **state)
{
	struct kg_conf c;
	struct kg_err e;

	(void)state;
	assert_int_equal(kg_conf_load(&c, "/nonexistent/knockgate.conf", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent/knockgate.conf: No such file"));
	kg_conf_free(&c);
}

static void test_load_reads_a_file(void **state)
{
	char path[] = "/tmp/kgconfXXXXXX";
	int fd = mkstemp(path);
	struct kg_conf c;
	struct kg_err e;
	const char *s;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[a]\nb = c", 9), 9);
	close(fd);
	assert_int_equal(kg_conf_load(&c, path, &e), 0);
	assert_int_equal(kg_conf_str(&c, "a", "b", NULL, &s, &e), 0);
	assert_string_equal(s, "c");
	kg_conf_free(&c);
	unlink(path);
}

static void test_hex_round_trip(void **state)
{
	static const uint8_t in[3] = { 0x00, 0xab, 0xff };
	char s[7];
	uint8_t out[3];

	(void)state;
	kg_hex_encode(in, 3, s);
	assert_string_equal(s, "00abff");
	assert_int_equal(kg_hex_decode("00ABff", out, 3), 0);
	assert_memory_equal(in, out, 3);
	assert_int_equal(kg_hex_decode("00abf", out, 3), -EINVAL);
	assert_int_equal(kg_hex_decode("00abfg", out, 3), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_sections_keys_and_comments),
		cmocka_unit_test(test_bad_lines_are_refused_with_file_and_line),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_overlong_line_is_refused),
		cmocka_unit_test(test_bad_values_quote_the_value_and_line),
		cmocka_unit_test(test_unknown_keys_are_refused),
		cmocka_unit_test(test_kind_sections_and_lists),
		cmocka_unit_test(test_load_reports_missing_file),
		cmocka_unit_test(test_load_reads_a_file),
		cmocka_unit_test(test_hex_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
