/* SPDX-License-Identifier: MIT */
/* The admin socket's requests: what parses, and every refusal's reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "ctl_admin.h"

static void test_builds_and_parses_each_op(void **state)
{
	(void)state;
	for (int op = 1; op <= KG_CTL_OP_MAX; op++) {
		struct kg_ctl_admin_req q = { .op = op, .json = op & 1 }, p;
		uint8_t buf[KG_CTL_ADMIN_MAX_REQ];
		const char *why = NULL;
		size_t n;

		if (kg_ctl_admin_op_has_arg(op)) {
			strcpy(q.arg, "198.51.100.66");
			q.arg_len = strlen(q.arg);
		}
		assert_int_equal(kg_ctl_admin_build(&q, buf, sizeof(buf), &n), 0);
		assert_int_equal(kg_ctl_admin_parse(buf, n, &p, &why), 0);
		assert_int_equal(p.op, op);
		assert_int_equal(p.json, q.json);
		assert_string_equal(p.arg, q.arg);
		assert_int_equal(kg_ctl_admin_op_parse(kg_ctl_admin_op_name(op)), op);
	}
	assert_int_equal(kg_ctl_admin_op_parse("reboot"), 0);
}

static void refused(const void *msg, size_t len, const char *reason)
{
	struct kg_ctl_admin_req q;
	const char *why = NULL;

	assert_int_equal(kg_ctl_admin_parse(msg, len, &q, &why), -EBADMSG);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

static void test_refuses_malformed_requests(void **state)
{
	(void)state;
	refused("\x01\x01", 2, "short");
	refused("\x02\x01\x00\x00\x00", 5, "version");
	refused("\x01\x00\x00\x00\x00", 5, "op");
	refused("\x01\x0b\x00\x00\x00", 5, "op");
	refused("\x01\x01\x02\x00\x00", 5, "flags");
	refused("\x01\x02\x00\x00\x05" "ab", 7, "arg_length");
	refused("\x01\x02\x00\x01\x00", 5, "arg_length");   /* 256 > max */
	refused("\x01\x01\x00\x00\x00" "x", 6, "trailing");
	refused("\x01\x09\x00\x00\x03" "a b", 8, "arg_bytes");
	refused("\x01\x09\x00\x00\x03" "a\nb", 8, "arg_bytes");
	refused("\x01\x04\x00\x00\x00", 5, "arg_missing");
	refused("\x01\x05\x00\x00\x01" "x", 6, "arg_unexpected");
}

static void test_build_refuses_what_parse_would(void **state)
{
	struct kg_ctl_admin_req q = { .op = KG_CTL_END };
	uint8_t buf[KG_CTL_ADMIN_MAX_REQ];
	size_t n;

	(void)state;
	assert_int_equal(kg_ctl_admin_build(&q, buf, sizeof(buf), &n), -EINVAL);
	strcpy(q.arg, "two words");
	q.arg_len = strlen(q.arg);
	assert_int_equal(kg_ctl_admin_build(&q, buf, sizeof(buf), &n), -EINVAL);
	strcpy(q.arg, "0123456789abcdef");
	q.arg_len = strlen(q.arg);
	assert_int_equal(kg_ctl_admin_build(&q, buf, 8, &n), -EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builds_and_parses_each_op),
		cmocka_unit_test(test_refuses_malformed_requests),
		cmocka_unit_test(test_build_refuses_what_parse_would),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
