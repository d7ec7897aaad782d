/* SPDX-License-Identifier: MIT */
/* Red's timer heap: set, move, disarm and top against a plain array
 * scan, over a scrambled sequence; and the grant table's timers on it:
 * leases expire and entries are forgotten in time order, a renewal moves
 * the lease, the live count follows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "grants.h"
#include "timer_heap.h"

#define CAP 257

static void test_heap_matches_a_scan(void **st)
{
	struct kg_theap q;
	int64_t at[CAP];
	bool armed[CAP] = { false };
	uint32_t x = 99;

	(void)st;
	assert_int_equal(kg_theap_init(&q, CAP), 0);
	for (int step = 0; step < 20000; step++) {
		uint32_t slot, top;
		int64_t when, best = INT64_MAX;

		x = x * 1103515245u + 12345u;
		slot = (x >> 8) % CAP;
		if ((x >> 20) % 4 == 0) {
			kg_theap_del(&q, slot);
			armed[slot] = false;
		} else {
			at[slot] = (int64_t)((x >> 4) % 1000);
			kg_theap_set(&q, slot, at[slot]);
			armed[slot] = true;
		}
		for (uint32_t i = 0; i < CAP; i++) {
			assert_int_equal(kg_theap_armed(&q, i), armed[i]);
			if (armed[i] && at[i] < best)
				best = at[i];
		}
		if (best == INT64_MAX) {
			assert_false(kg_theap_top(&q, &top, &when));
			continue;
		}
		assert_true(kg_theap_top(&q, &top, &when));
		assert_int_equal(when, best);
		assert_true(armed[top]);
		assert_int_equal(at[top], best);
	}
	/* out of range: ignored */
	kg_theap_set(&q, CAP, 1);
	assert_false(kg_theap_armed(&q, CAP));
	kg_theap_free(&q);
}

static void knock(struct kg_sknock *k, uint64_t session, uint32_t seq,
		  uint8_t action, uint32_t life)
{
	memset(k, 0, sizeof(*k));
	strcpy(k->red_id, "red1");
	strcpy(k->green_id, "green1");
	strcpy(k->service, "web");
	k->session = session;
	k->seq = seq;
	k->action = action;
	k->lifetime = life;
	k->client.family = AF_INET;
	k->client.b[0] = 10;
	k->client.b[3] = (uint8_t)session;
}

static size_t ended;

static void count(const struct kg_grant *g, void *arg)
{
	(void)g;
	(void)arg;
	ended++;
}

static void test_grant_timers_expire_in_order_and_follow_renewals(void **st)
{
	static const struct kg_hop_conf pool = {
		.pool = { { 9000, 9999 } }, .n_pool = 1
	};
	uint8_t hash[KG_SK_HASH_LEN] = { 0 };
	struct kg_grants t;
	struct kg_sknock k;
	struct kg_plan p;
	int64_t now = 1000;

	(void)st;
	assert_int_equal(kg_grants_init(&t, 8, 600, 60), 0);
	/* grant s lives 100 + 10 s */
	for (uint64_t s = 1; s <= 5; s++) {
		knock(&k, s, 1, KG_SK_OPEN, 100 + 10 * (uint32_t)s);
		kg_grants_plan(&t, &k, hash, 80, &pool, (uint32_t)s, now, &p);
		assert_int_equal(p.op, KG_PLAN_MAP);
		kg_grants_commit(&t, &k, hash, &p, now);
	}
	assert_int_equal(kg_grants_live(&t), 5);
	/* grant 1 renewed to 300 s: moved past the others */
	knock(&k, 1, 2, KG_SK_RENEW, 300);
	kg_grants_plan(&t, &k, hash, 80, &pool, 0, now, &p);
	assert_int_equal(p.op, KG_PLAN_EXTEND);
	kg_grants_commit(&t, &k, hash, &p, now);
	/* grant 5 closed: not live, kept 60 s, then forgotten */
	knock(&k, 5, 2, KG_SK_CLOSE, 0);
	kg_grants_plan(&t, &k, hash, 80, &pool, 0, now, &p);
	assert_int_equal(p.op, KG_PLAN_UNMAP);
	kg_grants_commit(&t, &k, hash, &p, now);
	assert_int_equal(kg_grants_live(&t), 4);

	ended = 0;
	assert_int_equal(kg_grants_expire(&t, now + 59, count, NULL), 0);
	assert_non_null(kg_grants_find(&t, "green1", 5, "web"));
	assert_int_equal(kg_grants_expire(&t, now + 60, count, NULL), 0);
	assert_null(kg_grants_find(&t, "green1", 5, "web"));
	assert_int_equal(kg_grants_expire(&t, now + 119, count, NULL), 0);
	assert_int_equal(kg_grants_expire(&t, now + 120, count, NULL), 1);  /* 2 */
	assert_int_equal(kg_grants_expire(&t, now + 140, count, NULL), 2);  /* 3, 4 */
	assert_int_equal(ended, 3);
	assert_int_equal(kg_grants_live(&t), 1);
	/* ended leases are kept their 60 s, then forgotten */
	assert_non_null(kg_grants_find(&t, "green1", 2, "web"));
	assert_int_equal(kg_grants_expire(&t, now + 180, count, NULL), 0);
	assert_null(kg_grants_find(&t, "green1", 2, "web"));
	assert_non_null(kg_grants_find(&t, "green1", 4, "web"));
	assert_int_equal(kg_grants_expire(&t, now + 299, count, NULL), 0);
	assert_int_equal(kg_grants_expire(&t, now + 300, count, NULL), 1);  /* 1 */
	assert_int_equal(kg_grants_live(&t), 0);
	kg_grants_expire(&t, now + 360, count, NULL);
	assert_int_equal(t.n_free, 8);
	assert_int_equal(t.life.n, 0);
	kg_grants_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_matches_a_scan),
		cmocka_unit_test(test_grant_timers_expire_in_order_and_follow_renewals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
