/* SPDX-License-Identifier: MIT */
/* Addresses and prefixes: parsing, containment, /64 ban keys. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "addr.h"

static void test_parse_and_format(void **state)
{
	struct kg_addr a;
	char buf[KG_ADDR_STRLEN];

	(void)state;
	assert_int_equal(kg_addr_parse("198.51.100.66", &a), 0);
	assert_int_equal(a.family, AF_INET);
	assert_string_equal(kg_addr_str(&a, buf), "198.51.100.66");
	assert_int_equal(kg_addr_parse("2001:db8:100::66", &a), 0);
	assert_int_equal(a.family, AF_INET6);
	assert_string_equal(kg_addr_str(&a, buf), "2001:db8:100::66");
	assert_int_equal(kg_addr_parse("198.51.100.256", &a), -EINVAL);
	assert_int_equal(kg_addr_parse("", &a), -EINVAL);
	assert_int_equal(kg_addr_parse("1.2.3.4/32", &a), -EINVAL);
}

static void test_prefixes(void **state)
{
	struct kg_prefix p;
	struct kg_addr a;

	(void)state;
	assert_int_equal(kg_prefix_parse("10.88.0.0/16", &p), 0);
	assert_int_equal(kg_addr_parse("10.88.1.10", &a), 0);
	assert_true(kg_prefix_contains(&p, &a));
	assert_int_equal(kg_addr_parse("10.89.0.1", &a), 0);
	assert_false(kg_prefix_contains(&p, &a));
	assert_int_equal(kg_addr_parse("::ffff:10.88.1.1", &a), 0);
	assert_false(kg_prefix_contains(&p, &a));
	assert_int_equal(kg_prefix_parse("198.51.100.5", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(kg_prefix_parse("10.0.0.1/8", &p), 0);
	assert_int_equal(p.a.b[3], 0);   /* host bits cleared */
	assert_int_equal(kg_prefix_parse("10.0.0.0/33", &p), -EINVAL);
	assert_int_equal(kg_prefix_parse("10.0.0.0/", &p), -EINVAL);
	assert_int_equal(kg_prefix_parse("10.0.0.0/-1", &p), -EINVAL);
	assert_int_equal(kg_prefix_parse("2001:db8::/129", &p), -EINVAL);
	assert_int_equal(kg_prefix_parse("2001:db8::/0", &p), 0);
}

static void test_ipv6_ban_key_is_the_slash_64(void **state)
{
	struct kg_addr a, b, ka, kb;
	char buf[KG_ADDR_STRLEN];

	(void)state;
	kg_addr_parse("2001:db8:100::66", &a);
	kg_addr_parse("2001:db8:100::1:2:3:4", &b);
	kg_addr_ban_key(&a, &ka);
	kg_addr_ban_key(&b, &kb);
	assert_true(kg_addr_eq(&ka, &kb));
	assert_string_equal(kg_addr_str(&ka, buf), "2001:db8:100::");
	kg_addr_parse("198.51.100.66", &a);
	kg_addr_ban_key(&a, &ka);
	assert_true(kg_addr_eq(&a, &ka));
}

static void test_sockaddr_round_trip_with_port(void **state)
{
	static const char *const in[] = { "203.0.113.2", "2001:db8:113::2" };
	struct sockaddr_storage ss;
	struct kg_addr a, b;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		socklen_t len;

		assert_int_equal(kg_addr_parse(in[i], &a), 0);
		len = kg_addr_to_sockaddr(&a, 62202, &ss);
		assert_int_equal(len, i ? sizeof(struct sockaddr_in6)
					: sizeof(struct sockaddr_in));
		assert_int_equal(ss.ss_family, i ? AF_INET6 : AF_INET);
		assert_int_equal(ntohs(i ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port), 62202);
		kg_addr_from_sockaddr((struct sockaddr *)&ss, &b);
		assert_true(kg_addr_eq(&a, &b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_format),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_ipv6_ban_key_is_the_slash_64),
		cmocka_unit_test(test_sockaddr_round_trip_with_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
