/* SPDX-License-Identifier: MIT */
/* Key ids rotate and do not link slots; the replay cache never evicts a
 * live entry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "lib/keyid.h"
#include "lib/replay.h"

static void test_key_id_changes_every_slot_and_differs_per_key(void **st)
{
	uint8_t k1[32], k2[32];
	uint64_t a, b, c;

	(void)st;
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	assert_int_equal(kg_keyid_derive(k1, 100, &a), 0);
	assert_int_equal(kg_keyid_derive(k1, 101, &b), 0);
	assert_int_equal(kg_keyid_derive(k2, 100, &c), 0);
	assert_true(a != b);
	assert_true(a != c);
	assert_int_equal(kg_keyid_derive(k1, 100, &b), 0);
	assert_true(a == b);
}

static void test_table_rebuilds_only_on_slot_change(void **st)
{
	struct kg_keyid_table *t;
	uint8_t k[32];
	const uint8_t *keys[1] = { k };
	bool rebuilt;
	uint32_t idx;
	uint64_t id, slot;

	(void)st;
	memset(k, 7, 32);
	assert_int_equal(kg_keyid_table_new(60, &t), 0);
	assert_int_equal(kg_keyid_derive(k, 1000, &id), 0);
	assert_false(kg_keyid_lookup(t, id, &idx, &slot));   /* empty: misses */
	assert_int_equal(kg_keyid_table_update(t, keys, 1, 60000, false, &rebuilt), 0);
	assert_true(rebuilt);
	assert_true(kg_keyid_lookup(t, id, &idx, &slot));
	assert_int_equal(idx, 0);
	assert_int_equal(kg_keyid_table_update(t, keys, 1, 60059, false, &rebuilt), 0);
	assert_false(rebuilt);
	assert_int_equal(kg_keyid_table_update(t, keys, 1, 60060, false, &rebuilt), 0);
	assert_true(rebuilt);
	/* Backwards jump too. */
	assert_int_equal(kg_keyid_table_update(t, keys, 1, 30000, false, &rebuilt), 0);
	assert_true(rebuilt);
	assert_false(kg_keyid_lookup(t, id, &idx, &slot));
	kg_keyid_table_free(t);
}

static void test_replay_cache_refuses_when_full_of_live_entries(void **st)
{
	struct kg_rcache *c;
	uint8_t k[KG_RCACHE_KEY_LEN];

	(void)st;
	assert_int_equal(kg_rcache_new(3, KG_RCACHE_KEY_LEN, &c), 0);
	for (int i = 0; i < 3; i++) {
		memset(k, i, sizeof(k));
		assert_int_equal(kg_rcache_add(c, k, 1000 + i, 0), 0);
	}
	memset(k, 0, sizeof(k));
	assert_int_equal(kg_rcache_add(c, k, 2000, 10), -EEXIST);
	memset(k, 9, sizeof(k));
	assert_int_equal(kg_rcache_add(c, k, 2000, 10), -ENOSPC);
	for (int i = 0; i < 3; i++) {
		uint8_t o[KG_RCACHE_KEY_LEN];

		memset(o, i, sizeof(o));
		assert_true(kg_rcache_contains(c, o, 10));
	}
	/* The first entry expires at 1000: now there is room, and only the
	 * dead entry went. */
	assert_int_equal(kg_rcache_add(c, k, 2000, 1000), 0);
	assert_int_equal(kg_rcache_count(c), 3);
	memset(k, 1, sizeof(k));
	assert_true(kg_rcache_contains(c, k, 1000));
	kg_rcache_free(c);
}

static void test_replay_cache_key_length(void **st)
{
	struct kg_rcache *c;
	uint8_t a[KG_RCACHE_KEY_MAX], b[KG_RCACHE_KEY_MAX];

	(void)st;
	assert_int_equal(kg_rcache_new(4, 0, &c), -EINVAL);
	assert_int_equal(kg_rcache_new(4, KG_RCACHE_KEY_MAX + 1, &c), -EINVAL);
	assert_int_equal(kg_rcache_new(0, 32, &c), -EINVAL);
	/* keys differing only past the first 16 bytes are distinct */
	for (size_t len = 1; len <= KG_RCACHE_KEY_MAX; len += 31) {
		assert_int_equal(kg_rcache_new(4, len, &c), 0);
		memset(a, 7, sizeof(a));
		memcpy(b, a, sizeof(b));
		b[len - 1] ^= 1;
		assert_int_equal(kg_rcache_add(c, a, 100, 0), 0);
		assert_false(kg_rcache_contains(c, b, 0));
		assert_int_equal(kg_rcache_add(c, b, 100, 0), 0);
		assert_int_equal(kg_rcache_add(c, a, 100, 0), -EEXIST);
		assert_int_equal(kg_rcache_add(c, b, 100, 0), -EEXIST);
		assert_int_equal(kg_rcache_count(c), 2);
		kg_rcache_free(c);
	}
}

static void test_share_caps_one_owner_not_the_others(void **st)
{
	struct kg_rcache *c;
	struct kg_rcache_share a, b;
	uint8_t k[KG_RCACHE_KEY_LEN];

	(void)st;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(kg_rcache_new(100, KG_RCACHE_KEY_LEN, &c), 0);
	for (int i = 0; i < 4; i++) {
		memset(k, 0x10 + i, sizeof(k));
		assert_int_equal(kg_rcache_add_shared(c, k, 1000 + (uint64_t)i, 0, &a, 4), 0);
	}
	memset(k, 0x20, sizeof(k));
	assert_int_equal(kg_rcache_add_shared(c, k, 2000, 0, &a, 4), -EDQUOT);
	assert_false(kg_rcache_contains(c, k, 0));
	memset(k, 0x10, sizeof(k));
	assert_int_equal(kg_rcache_add_shared(c, k, 2000, 0, &a, 4), -EEXIST);
	memset(k, 0x30, sizeof(k));
	assert_int_equal(kg_rcache_add_shared(c, k, 2000, 0, &b, 4), 0);
	assert_int_equal(kg_rcache_share_used(&a, 0), 4);
	/* the first of a's entries died at 1000: one slot free again */
	assert_int_equal(kg_rcache_share_used(&a, 1000), 3);
	memset(k, 0x21, sizeof(k));
	assert_int_equal(kg_rcache_add_shared(c, k, 3000, 1000, &a, 4), 0);
	assert_int_equal(kg_rcache_add_shared(c, k, 3000, 1000, &a, 0), -EINVAL);
	kg_rcache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_caps_one_owner_not_the_others),
		cmocka_unit_test(test_key_id_changes_every_slot_and_differs_per_key),
		cmocka_unit_test(test_table_rebuilds_only_on_slot_change),
		cmocka_unit_test(test_replay_cache_refuses_when_full_of_live_entries),
		cmocka_unit_test(test_replay_cache_key_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
