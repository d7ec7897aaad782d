/* SPDX-License-Identifier: MIT */
/*
 * lib/nft.c against the real kernel, in a network namespace of its own
 * (unshare): table replacement, element batches into sets and maps with
 * concatenated keys, ack errors, all-or-nothing batches. Skipped when not
 * root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nft.h"
#include "nft_list.h"

static const char table[] =
	"table inet kgtest {\n"
	"\tset s4 { type ipv4_addr; flags timeout; }\n"
	"\tset grants { type ipv4_addr . ipv4_addr . inet_service; flags timeout; }\n"
	"\tmap svcmap { type ipv4_addr . inet_service : ipv4_addr . inet_service; flags timeout; }\n"
	"}\n";

/* `nft list table inet kgtest`, "" once it is gone. */
static const char *list(void)
{
	return nft_list_table("kgtest");
}

static int setup(void **state)
{
	struct kg_nft *n;
	struct kg_err e = { "" };

	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		return 0;   /* each test skips on a NULL state */
	if (kg_nft_open(&n, "kgtest", &e))
		return -1;
	*state = n;
	return 0;
}

static int teardown(void **state)
{
	kg_nft_close(*state);
	return 0;
}

static void test_replace_twice_leaves_one_table(void **state)
{
	struct kg_nft *n = *state;
	struct kg_err e = { "" };
	const char *l;

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	l = list();
	assert_non_null(strstr(l, "set s4"));
	assert_null(strstr(strstr(l, "set s4") + 1, "set s4"));
	/* A bad ruleset is refused with nft's message; the old one stays. */
	assert_int_equal(kg_nft_table_replace(n, "table inet kgtest { bogus }", false, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "nftables:"));
	assert_non_null(strstr(list(), "set s4"));
}

static void test_elements_with_timeouts_concat_keys_and_map_data(void **state)
{
	static const uint8_t a[4] = { 198, 51, 100, 66 };
	static const uint8_t cl[4] = { 10, 88, 1, 10 }, red[4] = { 203, 0, 113, 2 };
	struct kg_nft *n = *state;
	struct kg_nft_batch *b;
	struct kg_nft_key g, k, d;
	struct kg_err e = { "" };
	const char *l;

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	kg_nft_key_init(&g);
	kg_nft_key_put(&g, cl, 4);
	kg_nft_key_put(&g, red, 4);
	kg_nft_key_put_port(&g, 22);
	kg_nft_key_init(&k);
	kg_nft_key_put(&k, cl, 4);
	kg_nft_key_put_port(&k, 2222);
	kg_nft_key_init(&d);
	kg_nft_key_put(&d, red, 4);
	kg_nft_key_put_port(&d, 8443);
	b = kg_nft_batch_new(n);
	assert_non_null(b);
	assert_int_equal(kg_nft_batch_elem(b, true, "s4", a, 4, NULL, 0, 60000), 0);
	assert_int_equal(kg_nft_batch_elem(b, true, "grants", g.b, g.len, NULL, 0, 30000), 0);
	assert_int_equal(kg_nft_batch_elem(b, true, "svcmap", k.b, k.len, d.b, d.len, 30000), 0);
	assert_int_equal(kg_nft_batch_send(b, &e), 0);
	l = list();
	assert_non_null(strstr(l, "198.51.100.66 timeout 1m"));
	assert_non_null(strstr(l, "10.88.1.10 . 203.0.113.2 . 22 timeout 30s"));
	assert_non_null(strstr(l, "10.88.1.10 . 2222 timeout 30s"));
	assert_non_null(strstr(l, ": 203.0.113.2 . 8443"));
	/* Adding again is not an error. */
	assert_int_equal(kg_nft_elem(n, true, "s4", a, 4, 60000, &e), 0);
	assert_int_equal(kg_nft_elem(n, false, "s4", a, 4, 0, &e), 0);
	assert_null(strstr(list(), "198.51.100.66"));
	kg_nft_batch_free(b);
}

/* Seconds left on the element listed as "KEY timeout ... expires Ns...";
 * -1 if absent. */
static long expires_s(const char *key)
{
	const char *p = strstr(list(), key), *x;

	if (!p || !(x = strstr(p, "expires ")))
		return -1;
	x += 8;
	if (strchr(x, 'm') && strchr(x, 'm') < strchr(x, 's'))
		return 60 * strtol(x, NULL, 10) + strtol(strchr(x, 'm') + 1, NULL, 10);
	return strtol(x, NULL, 10);
}

static void test_refresh_restarts_the_lease_present_or_lapsed(void **state)
{
	static const uint8_t a[4] = { 198, 51, 100, 10 }, gone[4] = { 198, 51, 100, 11 };
	static const uint8_t cl[4] = { 10, 88, 1, 10 }, red[4] = { 203, 0, 113, 2 };
	struct kg_nft *n = *state;
	struct kg_nft_batch *b;
	struct kg_nft_key k, d;
	struct kg_err e = { "" };
	long before;

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	kg_nft_key_init(&k);
	kg_nft_key_put(&k, cl, 4);
	kg_nft_key_put_port(&k, 2222);
	kg_nft_key_init(&d);
	kg_nft_key_put(&d, red, 4);
	kg_nft_key_put_port(&d, 8443);
	assert_int_equal(kg_nft_elem(n, true, "s4", a, 4, 600000, &e), 0);
	sleep(2);
	before = expires_s("198.51.100.10 ");
	assert_true(before >= 0 && before <= 598);
	b = kg_nft_batch_new(n);
	assert_non_null(b);
	/* One present element, one that never was (as if it had lapsed), a
	 * map element: the batch succeeds and all three get a whole lease. */
	assert_int_equal(kg_nft_batch_refresh(b, "s4", a, 4, NULL, 0, 600000), 0);
	assert_int_equal(kg_nft_batch_refresh(b, "s4", gone, 4, NULL, 0, 600000), 0);
	assert_int_equal(kg_nft_batch_refresh(b, "svcmap", k.b, k.len, d.b, d.len, 600000), 0);
	assert_int_equal(kg_nft_batch_send(b, &e), 0);
	kg_nft_batch_free(b);
	assert_true(expires_s("198.51.100.10 ") >= 599);
	assert_true(expires_s("198.51.100.11 ") >= 599);
	assert_true(expires_s("10.88.1.10 . 2222 ") >= 599);
	assert_non_null(strstr(list(), ": 203.0.113.2 . 8443"));
}

static void test_batch_is_all_or_nothing_and_reports_the_failing_element(void **state)
{
	static const uint8_t a[4] = { 192, 0, 2, 1 }, missing[4] = { 192, 0, 2, 9 };
	struct kg_nft *n = *state;
	struct kg_nft_batch *b;
	struct kg_err e = { "" };

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	b = kg_nft_batch_new(n);
	assert_int_equal(kg_nft_batch_elem(b, true, "s4", a, 4, NULL, 0, 60000), 0);
	assert_int_equal(kg_nft_batch_elem(b, false, "s4", missing, 4, NULL, 0, 0), 0);
	assert_int_equal(kg_nft_batch_send(b, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "delete element of set s4"));
	assert_null(strstr(list(), "192.0.2.1"));
	/* The socket is still in step: the next batch works. */
	assert_int_equal(kg_nft_batch_elem(b, true, "s4", a, 4, NULL, 0, 60000), 0);
	assert_int_equal(kg_nft_batch_send(b, &e), 0);
	assert_non_null(strstr(list(), "192.0.2.1"));
	assert_int_equal(kg_nft_elem(n, true, "nosuchset", a, 4, 0, &e), -ENOENT);
	kg_nft_batch_free(b);
}

static void test_a_batch_of_thousands_is_acked_in_full(void **state)
{
	struct kg_nft *n = *state;
	struct kg_nft_batch *b;
	struct kg_err e = { "" };

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	b = kg_nft_batch_new(n);
	for (int i = 0; i < 5000; i++) {
		uint8_t k[4] = { 10, 7, (uint8_t)(i >> 8), (uint8_t)i };

		assert_int_equal(kg_nft_batch_elem(b, true, "s4", k, 4, NULL, 0, 60000), 0);
	}
	/* 5000 acks: more than a default socket buffer holds with echoed
	 * requests; the module asks for capped acks and a large buffer. */
	assert_int_equal(kg_nft_batch_send(b, &e), 0);
	assert_non_null(strstr(list(), "10.7.19.135"));
	kg_nft_batch_free(b);
}

static void test_get_element_present_absent_and_timed_out(void **state)
{
	static const uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 2 };
	struct kg_nft *n = *state;
	struct kg_err e = { "" };
	uint64_t left = 0;

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	assert_int_equal(kg_nft_elem(n, true, "s4", a, 4, 60000, &e), 0);
	assert_int_equal(kg_nft_elem(n, true, "s4", b, 4, 1000, &e), 0);
	assert_int_equal(kg_nft_elem_get(n, "s4", a, 4, &left, &e), 0);
	assert_true(left > 50000 && left <= 60000);
	assert_int_equal(kg_nft_elem_get(n, "s4", b, 4, NULL, &e), 0);
	sleep(2);
	/* timed out: absent even before the garbage collector ran */
	assert_int_equal(kg_nft_elem_get(n, "s4", b, 4, NULL, &e), -ENOENT);
	assert_int_equal(kg_nft_elem_get(n, "nosuchset", a, 4, NULL, &e), -ENOENT);
	/* the socket stays in step with the batches */
	assert_int_equal(kg_nft_elem(n, false, "s4", a, 4, 0, &e), 0);
	assert_int_equal(kg_nft_elem_get(n, "s4", a, 4, NULL, &e), -ENOENT);
}

static void test_delete_table_twice(void **state)
{
	struct kg_nft *n = *state;
	struct kg_err e = { "" };

	if (!n)
		skip();
	assert_int_equal(kg_nft_table_replace(n, table, false, &e), 0);
	assert_int_equal(kg_nft_table_delete(n, &e), 0);
	assert_null(strstr(list(), "kgtest"));
	assert_int_equal(kg_nft_table_delete(n, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replace_twice_leaves_one_table),
		cmocka_unit_test(test_elements_with_timeouts_concat_keys_and_map_data),
		cmocka_unit_test(test_refresh_restarts_the_lease_present_or_lapsed),
		cmocka_unit_test(test_batch_is_all_or_nothing_and_reports_the_failing_element),
		cmocka_unit_test(test_a_batch_of_thousands_is_acked_in_full),
		cmocka_unit_test(test_get_element_present_absent_and_timed_out),
		cmocka_unit_test(test_delete_table_twice),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
