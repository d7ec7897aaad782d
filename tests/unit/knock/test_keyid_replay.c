/* SPDX-License-Identifier: MIT */
/* Key ids rotate and do not link slots; the replay cache never evicts a
 * live entry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
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

static bool has(const struct kg_keyid_elem *v, size_t n, uint64_t id,
		uint64_t slot)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].id == id)
			return v[i].slot == slot;
	return false;
}

/* The kernel set at slot c holds c-1 .. c+2 of every key: a knock from a
 * clock at either edge of the window passes even when the update after a
 * slot boundary runs late. */
static void test_prefilter_set_holds_four_slots(void **st)
{
	uint8_t k1[32], k2[32];
	const uint8_t *keys[] = { k1, k2 };
	struct kg_keyid_elem *v;
	size_t n;
	uint64_t id;

	(void)st;
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	assert_int_equal(kg_keyid_set_want(keys, 2, 100, &v, &n), 0);
	assert_int_equal(n, 8);
	for (size_t i = 1; i < n; i++)
		assert_true(v[i - 1].id < v[i].id);
	for (uint64_t s = 99; s <= 102; s++) {
		assert_int_equal(kg_keyid_derive(k1, s, &id), 0);
		assert_true(has(v, n, id, s));
		assert_int_equal(kg_keyid_derive(k2, s, &id), 0);
		assert_true(has(v, n, id, s));
	}
	assert_int_equal(kg_keyid_derive(k1, 98, &id), 0);
	assert_false(has(v, n, id, 98));
	assert_int_equal(kg_keyid_derive(k1, 103, &id), 0);
	assert_false(has(v, n, id, 103));
	free(v);
	/* The same key twice: no duplicate elements. */
	keys[1] = k1;
	assert_int_equal(kg_keyid_set_want(keys, 2, 100, &v, &n), 0);
	assert_int_equal(n, 4);
	free(v);
	assert_int_equal(kg_keyid_set_want(keys, 0, 100, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

static void test_prefilter_set_diff(void **st)
{
	uint8_t k1[32], k2[32];
	const uint8_t *keys[] = { k1, k2 };
	struct kg_keyid_elem *have, *want;
	size_t nh, nw, *add, *del, na, nd;
	uint64_t now = 1000000;

	(void)st;
	memset(k1, 1, 32);
	memset(k2, 2, 32);
	/* Start: everything is added. */
	assert_int_equal(kg_keyid_set_want(keys, 2, 100, &have, &nh), 0);
	assert_int_equal(kg_keyid_set_diff(NULL, 0, have, nh, now, &add, &na, &del, &nd), 0);
	assert_int_equal(na, 8);
	assert_int_equal(nd, 0);
	free(add);
	free(del);
	for (size_t i = 0; i < nh; i++)
		have[i].expires_ms = now + 60000 * (have[i].slot - 98);
	/* Next slot: one new id per key; the oldest slot lapses by itself. */
	assert_int_equal(kg_keyid_set_want(keys, 2, 101, &want, &nw), 0);
	assert_int_equal(kg_keyid_set_diff(have, nh, want, nw, now + 60000, &add, &na, &del, &nd), 0);
	assert_int_equal(na, 2);
	for (size_t i = 0; i < na; i++)
		assert_int_equal(want[add[i]].slot, 103);
	assert_int_equal(nd, 0);
	for (size_t i = 0; i < nw; i++)
		if (want[i].slot != 103)
			assert_true(want[i].expires_ms == now + 60000 * (want[i].slot - 98));
	free(add);
	free(del);
	free(want);
	/* A user removed: its ids still in the kernel are deleted. */
	assert_int_equal(kg_keyid_set_want(keys, 1, 100, &want, &nw), 0);
	assert_int_equal(kg_keyid_set_diff(have, nh, want, nw, now, &add, &na, &del, &nd), 0);
	assert_int_equal(na, 0);
	assert_int_equal(nd, 4);
	free(add);
	free(del);
	free(want);
	/* Clock stepped back one slot: slot 98 added, 102 deleted; an id
	 * about to lapse (99) is refreshed, not merely re-added. */
	assert_int_equal(kg_keyid_set_want(keys, 2, 99, &want, &nw), 0);
	assert_int_equal(kg_keyid_set_diff(have, nh, want, nw, now + 59500, &add, &na, &del, &nd), 0);
	assert_int_equal(nd, 2);
	for (size_t i = 0; i < nd; i++)
		assert_int_equal(have[del[i]].slot, 102);
	assert_int_equal(na, 4);
	for (size_t i = 0; i < na; i++) {
		struct kg_keyid_elem *e = &want[add[i]];

		assert_true(e->slot == 98 || (e->slot == 99 && e->lapsing));
	}
	free(add);
	free(del);
	free(want);
	free(have);
}

static void test_prefilter_timeouts_span_previous(void **st)
{
	(void)st;
	/* Slot 100 of 60 s: needed until slot 101 ends (6120 s) + margin. */
	assert_int_equal(kg_keyid_elem_timeout_ms(100, 60, 6000000, 5000), 125000);
	assert_int_equal(kg_keyid_elem_timeout_ms(100, 60, 6059999, 5000), 65001);
	/* Already past: a second, never zero (the set's default). */
	assert_int_equal(kg_keyid_elem_timeout_ms(100, 60, 7000000, 5000), 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_share_caps_one_owner_not_the_others),
		cmocka_unit_test(test_key_id_changes_every_slot_and_differs_per_key),
		cmocka_unit_test(test_table_rebuilds_only_on_slot_change),
		cmocka_unit_test(test_replay_cache_refuses_when_full_of_live_entries),
		cmocka_unit_test(test_replay_cache_key_length),
		cmocka_unit_test(test_prefilter_set_holds_four_slots),
		cmocka_unit_test(test_prefilter_set_diff),
		cmocka_unit_test(test_prefilter_timeouts_span_previous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
