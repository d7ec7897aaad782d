/* SPDX-License-Identifier: MIT */
/* The MOVED push (lib/ctrl): green tells a client where a granted
 * service went after red restarted. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ctrl.h"

/* docs/protocol.md's vector: web moved to 10.89.0.2:40387 until
 * 1795316400. */
static const char vec_hex[] =
	"00000011010c03776562040a5900029dc30000003c";

static void from_hex(const char *h, uint8_t *out, size_t *n)
{
	*n = strlen(h) / 2;
	for (size_t i = 0; i < *n; i++)
		sscanf(h + 2 * i, "%2hhx", &out[i]);
}

static void test_moved_builds_the_documented_frame(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_MOVED };
	uint8_t buf[64], want[64];
	size_t len, wlen;

	(void)st;
	m.service.p = (const uint8_t *)"web";
	m.service.len = 3;
	assert_int_equal(kg_addr_parse("10.89.0.2", &m.grant.addr), 0);
	m.grant.port = 40387;
	m.grant.lease = 60;
	assert_int_equal(kg_ctrl_build(&m, buf, sizeof(buf), &len), 0);
	from_hex(vec_hex, want, &wlen);
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, want, len);
}

static void test_moved_parses_back(void **st)
{
	uint8_t f[64];
	size_t n;
	struct kg_ctrl_msg m;
	const char *why;

	(void)st;
	from_hex(vec_hex, f, &n);
	assert_int_equal(kg_ctrl_parse(f + 4, n - 4, &m, &why), 0);
	assert_int_equal(m.type, KG_CTRL_MOVED);
	assert_int_equal(m.service.len, 3);
	assert_memory_equal(m.service.p, "web", 3);
	assert_int_equal(m.grant.addr.family, AF_INET);
	assert_int_equal(m.grant.port, 40387);
	assert_true(m.grant.lease == 60);
	assert_string_equal(kg_ctrl_type_name(KG_CTRL_MOVED), "moved");
}

static void test_moved_truncated_or_padded_is_refused(void **st)
{
	uint8_t f[64];
	size_t n;
	struct kg_ctrl_msg m;
	const char *why;

	(void)st;
	from_hex(vec_hex, f, &n);
	for (size_t cut = 4 + 2; cut < n; cut++)
		assert_int_equal(kg_ctrl_parse(f + 4, cut - 4, &m, &why), -EBADMSG);
	f[n] = 0;
	assert_int_equal(kg_ctrl_parse(f + 4, n - 4 + 1, &m, &why), -EBADMSG);
	assert_string_equal(why, "trailing_bytes");
}

static void test_moved_to_port_zero_is_refused(void **st)
{
	uint8_t f[64];
	size_t n;
	struct kg_ctrl_msg m = { .type = KG_CTRL_MOVED };
	const char *why;

	(void)st;
	from_hex(vec_hex, f, &n);
	f[4 + 2 + 4 + 5] = 0;
	f[4 + 2 + 4 + 6] = 0;
	assert_int_equal(kg_ctrl_parse(f + 4, n - 4, &m, &why), -EBADMSG);
	assert_string_equal(why, "bad_port");
	m.service.p = (const uint8_t *)"web";
	m.service.len = 3;
	kg_addr_parse("10.89.0.2", &m.grant.addr);
	assert_int_equal(kg_ctrl_build(&m, f, sizeof(f), &n), -EINVAL);
}

static void test_protocol_md_holds_the_moved_vector(void **st)
{
	FILE *f = fopen(KG_PROTOCOL_MD, "r");
	char *text = calloc(1, 1 << 20);
	size_t n;

	(void)st;
	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = 0;
	assert_non_null(strstr(text, vec_hex));
	assert_non_null(strstr(text, "| 12 | moved | green |"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_moved_builds_the_documented_frame),
		cmocka_unit_test(test_moved_parses_back),
		cmocka_unit_test(test_moved_truncated_or_padded_is_refused),
		cmocka_unit_test(test_moved_to_port_zero_is_refused),
		cmocka_unit_test(test_protocol_md_holds_the_moved_vector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
