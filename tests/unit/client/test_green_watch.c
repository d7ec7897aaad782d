/* SPDX-License-Identifier: MIT */
/* When is green lost: traffic out with nothing back for a second; never
 * for an idle tunnel or keepalives alone. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "green_watch.h"

static void test_idle_and_keepalives_are_never_lost(void **st)
{
	struct kg_green_watch w = { 0 };
	uint64_t tx = 1000;

	(void)st;
	assert_int_equal(kg_green_watch_feed(&w, 100, 500, tx), 0);
	for (uint64_t t = 600; t < 120000; t += 500) {
		if (t % 25000 < 500)
			tx += KG_WATCH_KEEPALIVE;   /* persistent keepalive */
		assert_int_equal(kg_green_watch_feed(&w, t, 500, tx), 0);
	}
}

static void test_unanswered_traffic_is_lost_after_a_second(void **st)
{
	struct kg_green_watch w = { 0 };

	(void)st;
	kg_green_watch_feed(&w, 0, 500, 1000);
	/* a SYN goes out at ~250 ms, nothing comes back */
	assert_int_equal(kg_green_watch_feed(&w, 250, 500, 1096), 0);
	assert_int_equal(kg_green_watch_feed(&w, 500, 500, 1096), 0);
	assert_int_equal(kg_green_watch_feed(&w, 1000, 500, 1192), 0);
	assert_int_equal(kg_green_watch_feed(&w, 1250, 500, 1192), 1000);
}

static void test_an_answer_clears_the_suspicion(void **st)
{
	struct kg_green_watch w = { 0 };

	(void)st;
	kg_green_watch_feed(&w, 0, 500, 1000);
	assert_int_equal(kg_green_watch_feed(&w, 250, 500, 1096), 0);
	assert_int_equal(kg_green_watch_feed(&w, 500, 600, 1096), 0);
	assert_int_equal(kg_green_watch_feed(&w, 1500, 600, 1096), 0);
	/* a new interface's counters start at zero: a fresh start */
	assert_int_equal(kg_green_watch_feed(&w, 1750, 0, 148), 0);
	assert_int_equal(kg_green_watch_feed(&w, 2000, 92, 300), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_and_keepalives_are_never_lost),
		cmocka_unit_test(test_unanswered_traffic_is_lost_after_a_second),
		cmocka_unit_test(test_an_answer_clears_the_suspicion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
