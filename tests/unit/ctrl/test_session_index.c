/* SPDX-License-Identifier: MIT */
/* The session table's indexes and timer heap (green/session_index.c),
 * checked against plain arrays under random adds, removes and moves, and
 * the table itself at 100,000 sessions: every lookup finds the right one,
 * expiry ends exactly the due sessions, in deadline order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "green/session.h"
#include "green/session_index.h"

#define N 4096

struct ref {
	uint64_t key[N];
	int64_t when[N];
	uint32_t hpos[N];
	size_t n;
};

static bool match(const void *ctx, uint32_t pos, const void *key)
{
	const struct ref *r = ctx;

	return r->key[pos] == *(const uint64_t *)key;
}

/* A poor hash on purpose: long runs, so backward shifts are exercised. */
static uint64_t weak(uint64_t k)
{
	return k % 1021;
}

static uint64_t hash_at(const void *ctx, uint32_t pos)
{
	const struct ref *r = ctx;

	return weak(r->key[pos]);
}

static void test_sidx_matches_a_plain_array(void **st)
{
	static struct ref r;
	struct kg_sidx x;
	uint64_t next = 1;

	(void)st;
	srand(7);
	memset(&r, 0, sizeof(r));
	assert_int_equal(kg_sidx_init(&x, N, match, hash_at, &r), 0);
	for (int round = 0; round < 30000; round++) {
		if (r.n < N && (r.n == 0 || rand() % 3)) {
			r.key[r.n] = next++;
			kg_sidx_add(&x, weak(r.key[r.n]), (uint32_t)r.n);
			r.n++;
		} else {
			/* remove a random one, move the last into its place */
			uint32_t i = (uint32_t)(rand() % (int)r.n);
			uint32_t last = (uint32_t)r.n - 1;

			assert_true(kg_sidx_del(&x, weak(r.key[i]), i));
			if (i != last) {
				kg_sidx_move(&x, weak(r.key[last]), last, i);
				r.key[i] = r.key[last];
			}
			r.n--;
		}
		if (round % 1000 == 0)
			for (uint32_t i = 0; i < r.n; i++)
				assert_int_equal(kg_sidx_find(&x, weak(r.key[i]),
							      &r.key[i]), i);
	}
	for (uint64_t k = next; k < next + 100; k++)
		assert_int_equal(kg_sidx_find(&x, weak(k), &k), KG_SIDX_NONE);
	kg_sidx_free(&x);
}

static void test_srcidx_counts_shared_sources(void **st)
{
	struct kg_srcidx x;
	struct kg_addr a[64];
	uint32_t want[64] = { 0 };

	(void)st;
	assert_int_equal(kg_srcidx_init(&x, 64, 42), 0);
	for (int i = 0; i < 64; i++) {
		char s[32];

		snprintf(s, sizeof(s), "2001:db8::%x", i);
		assert_int_equal(kg_addr_parse(s, &a[i]), 0);
	}
	srand(3);
	for (int round = 0; round < 100000; round++) {
		int i = rand() % 64;

		if (want[i] && rand() % 2) {
			kg_srcidx_dec(&x, &a[i], 0);
			want[i]--;
		} else if (want[i] < 5) {
			kg_srcidx_inc(&x, &a[i], 0);
			want[i]++;
		}
		if (round % 997 == 0)
			for (int j = 0; j < 64; j++)
				assert_int_equal(kg_srcidx_count(&x, &a[j], 0), want[j]);
	}
	kg_srcidx_free(&x);
}

/* The same address under two tags is two entries (two shards' openings). */
static void test_srcidx_tags_are_apart(void **st)
{
	struct kg_srcidx x;
	struct kg_addr a;

	(void)st;
	assert_int_equal(kg_srcidx_init(&x, 8, 7), 0);
	assert_int_equal(kg_addr_parse("192.0.2.7", &a), 0);
	kg_srcidx_inc(&x, &a, 0);
	kg_srcidx_inc(&x, &a, 1);
	kg_srcidx_inc(&x, &a, 1);
	assert_int_equal(kg_srcidx_count(&x, &a, 0), 1);
	assert_int_equal(kg_srcidx_count(&x, &a, 1), 2);
	assert_int_equal(kg_srcidx_count(&x, &a, 2), 0);
	kg_srcidx_dec(&x, &a, 0);
	assert_int_equal(kg_srcidx_count(&x, &a, 0), 0);
	assert_int_equal(kg_srcidx_count(&x, &a, 1), 2);
	kg_srcidx_dec(&x, &a, 1);
	kg_srcidx_dec(&x, &a, 1);
	assert_int_equal(kg_srcidx_count(&x, &a, 1), 0);
	kg_srcidx_free(&x);
}

static int64_t hkey(const void *ctx, uint32_t pos)
{
	const struct ref *r = ctx;

	return r->when[pos];
}

static uint32_t *hat(void *ctx, uint32_t pos)
{
	struct ref *r = ctx;

	return &r->hpos[pos];
}

static void test_heap_pops_in_order(void **st)
{
	static struct ref r;
	struct kg_sheap q;
	int64_t last = -1;

	(void)st;
	memset(&r, 0, sizeof(r));
	srand(11);
	assert_int_equal(kg_sheap_init(&q, N, hkey, hat, &r), 0);
	for (uint32_t i = 0; i < N; i++) {
		r.when[i] = rand() % 100000;
		kg_sheap_push(&q, i);
	}
	/* change some keys */
	for (uint32_t i = 0; i < N; i += 3) {
		r.when[i] = rand() % 100000;
		kg_sheap_fix(&q, i);
	}
	for (size_t k = 0; k < N; k++) {
		uint32_t top = kg_sheap_top(&q);

		assert_true(top != KG_SIDX_NONE);
		assert_true(r.when[top] >= last);
		last = r.when[top];
		kg_sheap_del(&q, top);
	}
	assert_int_equal(kg_sheap_top(&q), KG_SIDX_NONE);
	kg_sheap_free(&q);
}

static int64_t clock_now;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return clock_now;
}

static size_t n_ended;

static void count_end(void *ctx, const struct kg_session *s)
{
	(void)ctx;
	assert_string_equal(kg_sess_end_name(s->end), "auth_timeout");
	n_ended++;
}

static void mk(uint32_t i, struct kg_addr *tun, struct kg_addr *src,
	       uint8_t key[32])
{
	memset(tun, 0, sizeof(*tun));
	tun->family = AF_INET6;
	tun->b[0] = 0xfd;
	memcpy(tun->b + 12, &i, 4);
	memset(src, 0, sizeof(*src));
	src->family = AF_INET;
	src->b[0] = 198;
	src->b[1] = 18;
	src->b[2] = (uint8_t)(i / 20 >> 8);   /* 20 sessions per source */
	src->b[3] = (uint8_t)(i / 20);
	memset(key, 0, 32);
	memcpy(key, &i, 4);
	key[31] = 0x5a;
}

static void test_table_at_100000_sessions(void **st)
{
	static struct kg_sess_table t;
	const struct kg_sess_limits lim = {
		.idle_timeout = 600, .max_lifetime = 3600,
		.handshake_timeout = 180, .reproof_grace = 10,
	};
	const uint32_t n = 100000;
	struct kg_addr tun, src;
	uint8_t key[32];

	(void)st;
	clock_now = 5000;
	assert_int_equal(kg_sess_init(&t, n, &lim, 1, fake_clock, NULL), 0);
	for (uint32_t i = 0; i < n; i++) {
		enum kg_knock_action a;
		struct kg_session *s, old;

		clock_now = 5000 + i / 1000;   /* 100 seconds of knocks */
		mk(i, &tun, &src, key);
		assert_int_equal(kg_sess_knock(&t, "u", &tun, key, &src, &a, &s, &old), 0);
		assert_int_equal(a, KG_KNOCK_NEW);
	}
	assert_int_equal(kg_sess_knock(&t, "u", &tun, key, &src,
				       &(enum kg_knock_action){ 0 },
				       &(struct kg_session *){ NULL },
				       &(struct kg_session){ 0 }), 0);
	/* full: one more is refused */
	{
		enum kg_knock_action a;
		struct kg_session *s, old;
		struct kg_addr t2 = tun;

		t2.b[2] = 1;
		key[30] = 1;
		assert_int_equal(kg_sess_knock(&t, "u", &t2, key, &src, &a, &s, &old),
				 -ENOSPC);
	}
	for (uint32_t i = 0; i < n; i += 7) {
		struct kg_session *s;

		mk(i, &tun, &src, key);
		s = kg_sess_by_tunnel(&t, &tun);
		assert_non_null(s);
		assert_ptr_equal(kg_sess_by_key(&t, key), s);
		assert_ptr_equal(kg_sess_by_id(&t, s->id), s);
		assert_true(kg_sess_src_in_use(&t, &src, 0, s->id));   /* 19 others */
	}
	/* the first 50 seconds' knocks time out, in order, the rest stay */
	clock_now = 5000 + 180 + 49;
	n_ended = 0;
	assert_int_equal(kg_sess_expire(&t, count_end, NULL), 50000);
	assert_int_equal(t.n, 50000);
	for (uint32_t i = 0; i < n; i += 13) {
		mk(i, &tun, &src, key);
		if (i < 50000)
			assert_null(kg_sess_by_tunnel(&t, &tun));
		else
			assert_non_null(kg_sess_by_key(&t, key));
	}
	mk(0, &tun, &src, key);
	assert_false(kg_sess_src_in_use(&t, &src, 0, 0));
	kg_sess_free(&t);
}

static int64_t seen_at;
static unsigned asked;

static int64_t hook_seen(void *ctx, struct kg_session *s)
{
	(void)ctx;
	(void)s;
	asked++;
	return seen_at;
}

static void count_any(void *ctx, const struct kg_session *s)
{
	const char **why = ctx;

	*why = kg_sess_end_name(s->end);
}

/* A live session's timer asks the hook only when it is due; a recent
 * answer keeps it (timer moved to that time + lease), -1 ends it. */
static void test_liveness_hook_decides_silence(void **st)
{
	static struct kg_sess_table t;
	const struct kg_sess_limits lim = {
		.idle_timeout = 600, .max_lifetime = 3600,
		.handshake_timeout = 180, .reproof_grace = 10,
	};
	struct kg_addr tun, src;
	uint8_t key[32];
	enum kg_knock_action a;
	struct kg_session *s, old;
	const char *why = NULL;

	(void)st;
	clock_now = 1000;
	assert_int_equal(kg_sess_init(&t, 4, &lim, 1, fake_clock, NULL), 0);
	kg_sess_set_peer_seen(&t, hook_seen, NULL);
	mk(1, &tun, &src, key);
	assert_int_equal(kg_sess_knock(&t, "u", &tun, key, &src, &a, &s, &old), 0);
	assert_int_equal(kg_sess_prove(&t, s->id), 0);
	asked = 0;
	clock_now = 1179;
	assert_int_equal(kg_sess_expire(&t, count_any, &why), 0);
	assert_int_equal(asked, 0);              /* not due: not asked */
	assert_int_equal(kg_sess_next_deadline(&t), 1);
	seen_at = 1150;                          /* traffic 30 s ago */
	clock_now = 1180;
	assert_int_equal(kg_sess_expire(&t, count_any, &why), 0);
	assert_int_equal(asked, 1);
	assert_int_equal(kg_sess_next_deadline(&t), 150);   /* 1150 + 180 */
	seen_at = -1;                            /* nothing since */
	clock_now = 1330;
	assert_int_equal(kg_sess_expire(&t, count_any, &why), 1);
	assert_string_equal(why, "peer_silent");
	assert_int_equal(t.n, 0);
	kg_sess_free(&t);
}

/* A knock with another key for a live session's tunnel: the table's
 * last_heard is old (nothing asked yet), but the hook says the peer sent
 * traffic just now: refused, the session stays. Once the hook says
 * nothing, the silent session is replaced. */
static void test_displacing_a_live_peer_asks_first(void **st)
{
	static struct kg_sess_table t;
	const struct kg_sess_limits lim = {
		.idle_timeout = 60, .max_lifetime = 3600,
		.handshake_timeout = 180, .reproof_grace = 10,
	};
	struct kg_addr tun, src;
	uint8_t key[32], key2[32];
	enum kg_knock_action a;
	struct kg_session *s, old;
	uint64_t id;

	(void)st;
	clock_now = 1000;
	assert_int_equal(kg_sess_init(&t, 4, &lim, 1, fake_clock, NULL), 0);
	kg_sess_set_peer_seen(&t, hook_seen, NULL);
	mk(1, &tun, &src, key);
	memcpy(key2, key, 32);
	key2[0] ^= 1;
	assert_int_equal(kg_sess_knock(&t, "u", &tun, key, &src, &a, &s, &old), 0);
	id = s->id;
	assert_int_equal(kg_sess_prove(&t, id), 0);
	clock_now = 1100;                        /* 100 s > idle_timeout */
	seen_at = 1099;
	asked = 0;
	assert_int_equal(kg_sess_knock(&t, "u", &tun, key2, &src, &a, &s, &old), 0);
	assert_int_equal(a, KG_KNOCK_REFUSED);
	assert_int_equal(asked, 1);
	assert_non_null(kg_sess_by_id(&t, id));
	clock_now = 1170;
	seen_at = -1;
	assert_int_equal(kg_sess_knock(&t, "u", &tun, key2, &src, &a, &s, &old), 0);
	assert_int_equal(a, KG_KNOCK_REPLACED);
	assert_null(kg_sess_by_id(&t, id));
	kg_sess_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sidx_matches_a_plain_array),
		cmocka_unit_test(test_srcidx_counts_shared_sources),
		cmocka_unit_test(test_srcidx_tags_are_apart),
		cmocka_unit_test(test_heap_pops_in_order),
		cmocka_unit_test(test_table_at_100000_sessions),
		cmocka_unit_test(test_liveness_hook_decides_silence),
		cmocka_unit_test(test_displacing_a_live_peer_asks_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
