/* SPDX-License-Identifier: MIT */
/* Red's grant table, port pool and replay cache: idempotency per
 * (green, session, service, sequence), leases, refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "grants.h"
#include "lib/ips.h"
#include "lib/replay.h"
#include "pool.h"
#include "sk_vectors.h"

#define NOW 1795315200
#define LO 40000
#define HI 40009

static struct kg_grants T;
static struct kg_hop_conf POOL = { .pool = { { LO, HI } }, .n_pool = 1 };

static int setup(void **state)
{
	(void)state;
	return kg_grants_init(&T, 4, 120, 300);
}

static int teardown(void **state)
{
	(void)state;
	kg_grants_free(&T);
	return 0;
}

static void hash_of(const struct kg_sknock *k, uint8_t h[32])
{
	uint8_t b[KG_SK_BODY_MAX];
	size_t n;

	assert_int_equal(kg_sknock_encode_body(k, b, sizeof(b), &n), 0);
	kg_sk_digest(b, n, h);
}

/* Plans and, unless refused, commits: what red does once nft succeeded. */
static void run(const struct kg_sknock *k, uint32_t rnd, int64_t now,
		struct kg_plan *p)
{
	uint8_t h[32];

	hash_of(k, h);
	kg_grants_plan(&T, k, h, 80, &POOL, rnd, now, p);
	assert_memory_equal(p->answer.knock_hash, h, 32);
	kg_grants_commit(&T, k, h, p, now);
}

static void test_open_maps_a_random_pool_port_for_the_lease(void **state)
{
	struct kg_sknock k;
	struct kg_plan p;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
	assert_int_equal(p.port, LO + 3);
	assert_int_equal(p.real_port, 80);
	assert_int_equal(p.lease_end, NOW + 60);
	assert_int_equal(p.answer.lease, 60);   /* a duration on the wire */
	assert_int_equal(p.answer.result, KG_SK_GRANTED);
	assert_int_equal(p.answer.port, LO + 3);
	assert_int_equal(kg_grants_live(&T), 1);
}

static void test_repeated_open_is_answered_from_cache_with_same_port(void **state)
{
	struct kg_sknock k;
	struct kg_plan p, q;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	/* green's retry, re-stamped: same sequence, new nonce and time */
	k.nonce[0] ^= 1;
	k.timestamp += 2;
	run(&k, 7, NOW + 2, &q);
	assert_int_equal(q.op, KG_PLAN_REPEAT);
	assert_int_equal(q.answer.port, p.answer.port);
	/* the same end: what is left of it two seconds later */
	assert_int_equal(q.lease_end, p.lease_end);
	assert_int_equal(q.answer.lease, p.answer.lease - 2);
	assert_memory_not_equal(q.answer.knock_hash, p.answer.knock_hash, 32);
	assert_int_equal(kg_grants_live(&T), 1);
}

static void test_renew_extends_the_same_port(void **state)
{
	struct kg_sknock k;
	struct kg_plan p, q;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	k.action = KG_SK_RENEW;
	k.seq++;
	run(&k, 5, NOW + 30, &q);
	assert_int_equal(q.op, KG_PLAN_EXTEND);
	assert_int_equal(q.port, p.port);
	assert_int_equal(q.lease_end, NOW + 30 + 60);
	assert_int_equal(q.answer.lease, 60);
}

/* A retry arriving after the lease ran out but before the expiry sweep
 * must not be told "granted" with a lease of 0 (or a wrapped one). */
static void test_repeat_after_lease_end_is_not_granted(void **state)
{
	struct kg_sknock k;
	struct kg_plan p, q;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	k.nonce[0] ^= 1;
	run(&k, 3, NOW + 60, &q);
	assert_int_equal(q.op, KG_PLAN_REFUSE);
	assert_int_equal(q.answer.reason, KG_SK_R_NO_GRANT);
	assert_int_equal(q.answer.lease, 0);
}

static void test_lifetime_is_capped_to_max_lease(void **state)
{
	struct kg_sknock k;
	struct kg_plan p;

	(void)state;
	vec_knock(&k);
	k.lifetime = 3600;
	run(&k, 0, NOW, &p);
	assert_int_equal(p.lease_end, NOW + 120);
}

static void test_close_unmaps_and_is_idempotent(void **state)
{
	struct kg_sknock k;
	struct kg_plan p, q;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	k.action = KG_SK_CLOSE;
	k.seq++;
	run(&k, 0, NOW + 5, &q);
	assert_int_equal(q.op, KG_PLAN_UNMAP);
	assert_int_equal(q.port, p.port);
	assert_int_equal(q.answer.result, KG_SK_CLOSED);
	assert_int_equal(kg_grants_live(&T), 0);
	run(&k, 0, NOW + 6, &q);
	assert_int_equal(q.op, KG_PLAN_REPEAT);
	assert_int_equal(q.answer.result, KG_SK_CLOSED);
}

static void test_older_sequence_is_refused_as_stale(void **state)
{
	struct kg_sknock k, old;
	struct kg_plan p;

	(void)state;
	vec_knock(&k);
	old = k;
	run(&k, 3, NOW, &p);
	k.action = KG_SK_CLOSE;
	k.seq++;
	run(&k, 0, NOW + 1, &p);
	/* the captured open, replayed after the close, opens nothing */
	run(&old, 3, NOW + 2, &p);
	assert_int_equal(p.op, KG_PLAN_REFUSE);
	assert_int_equal(p.answer.reason, KG_SK_R_STALE_SEQUENCE);
	assert_int_equal(kg_grants_live(&T), 0);
}

static void test_same_sequence_with_other_request_is_refused(void **state)
{
	struct kg_sknock k;
	struct kg_plan p;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	kg_addr_parse("10.88.1.11", &k.client);
	run(&k, 3, NOW, &p);
	assert_int_equal(p.op, KG_PLAN_REFUSE);
	assert_int_equal(p.answer.reason, KG_SK_R_SEQUENCE_REUSED);
}

static void test_sessions_get_distinct_ports(void **state)
{
	struct kg_sknock k;
	struct kg_plan p, q;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	k.session++;
	run(&k, 3, NOW, &q);
	assert_int_equal(q.op, KG_PLAN_MAP);
	assert_int_not_equal(q.port, p.port);
}

static void test_full_table_is_refused(void **state)
{
	struct kg_sknock k;
	struct kg_plan p;

	(void)state;
	vec_knock(&k);
	for (int i = 0; i < 4; i++) {
		k.session = (uint64_t)i;
		run(&k, 0, NOW, &p);
		assert_int_equal(p.op, KG_PLAN_MAP);
	}
	k.session = 99;
	run(&k, 0, NOW, &p);
	assert_int_equal(p.answer.reason, KG_SK_R_BUSY);
}

/* The pool is per client: the same small pool serves each client in
 * full, and one client's ports never block another's. */
static void test_pool_is_per_client(void **state)
{
	struct kg_hop_conf two = { .pool = { { LO, LO + 1 } }, .n_pool = 1 };
	struct kg_sknock k;
	struct kg_plan p, q;
	uint8_t h[32];

	(void)state;
	vec_knock(&k);
	for (int i = 0; i < 2; i++) {
		k.session = (uint64_t)i;
		hash_of(&k, h);
		kg_grants_plan(&T, &k, h, 80, &two, 0, NOW, &p);
		assert_int_equal(p.op, KG_PLAN_MAP);
		kg_grants_commit(&T, &k, h, &p, NOW);
	}
	k.session = 2;
	hash_of(&k, h);
	kg_grants_plan(&T, &k, h, 80, &two, 0, NOW, &p);
	assert_int_equal(p.answer.reason, KG_SK_R_POOL_EXHAUSTED);
	k.client.b[3]++;   /* another client: the whole pool again */
	hash_of(&k, h);
	kg_grants_plan(&T, &k, h, 80, &two, 0, NOW, &q);
	assert_int_equal(q.op, KG_PLAN_MAP);
	assert_int_equal(q.port, LO);
}

static void count_cb(const struct kg_grant *g, void *arg)
{
	(void)g;
	++*(int *)arg;
}

static void test_lease_end_expires_grant_and_repeat_is_not_granted(void **state)
{
	struct kg_sknock k;
	struct kg_plan p;
	int cut = 0;

	(void)state;
	vec_knock(&k);
	run(&k, 3, NOW, &p);
	assert_int_equal(kg_grants_expire(&T, NOW + 59, count_cb, &cut), 0);
	assert_int_equal(kg_grants_expire(&T, NOW + 60, count_cb, &cut), 1);
	assert_int_equal(cut, 1);
	assert_int_equal(kg_grants_live(&T), 0);
	run(&k, 3, NOW + 61, &p);
	assert_int_equal(p.op, KG_PLAN_REFUSE);
	assert_int_equal(p.answer.reason, KG_SK_R_NO_GRANT);
	/* a later renew (green after red's restart or a gap) re-opens */
	k.seq++;
	k.action = KG_SK_RENEW;
	run(&k, 4, NOW + 62, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
}

static void test_pool_pick_wraps_and_reports_exhaustion(void **state)
{
	struct kg_pool pool;
	uint16_t port;

	(void)state;
	kg_pool_init(&pool);
	assert_int_equal(kg_pool_pick(&pool, 10, 12, 2, &port), 0);
	assert_int_equal(port, 12);
	assert_int_equal(kg_pool_pick(&pool, 10, 12, 2, &port), 0);
	assert_int_equal(port, 10);
	assert_int_equal(kg_pool_pick(&pool, 10, 12, 2, &port), 0);
	assert_int_equal(port, 11);
	assert_int_equal(kg_pool_pick(&pool, 10, 12, 2, &port), -ENOSPC);
	assert_int_equal(kg_pool_pick(&pool, 12, 10, 0, &port), -EINVAL);
	assert_int_equal(kg_pool_pick(&pool, 0, 10, 0, &port), -EINVAL);
}

static void test_replay_cache_refuses_seen_and_full(void **state)
{
	struct kg_rcache *r;
	uint8_t a[KG_SK_HASH_LEN] = { 1 }, b[KG_SK_HASH_LEN] = { 2 },
		c[KG_SK_HASH_LEN] = { 3 };
	const uint64_t now = (uint64_t)NOW * 1000;   /* red's seconds, in ms */

	(void)state;
	assert_int_equal(kg_rcache_new(2, KG_SK_HASH_LEN, &r), 0);
	assert_int_equal(kg_rcache_add(r, a, now + 30000, now), 0);
	assert_int_equal(kg_rcache_add(r, a, now + 31000, now + 1000), -EEXIST);
	assert_int_equal(kg_rcache_add(r, b, now + 10000, now), 0);
	/* full of live entries: refuse rather than evict */
	assert_int_equal(kg_rcache_add(r, c, now + 35000, now + 5000), -ENOSPC);
	assert_false(kg_rcache_contains(r, c, now + 5000));
	/* b expired: its room is reclaimed, a is still remembered */
	assert_int_equal(kg_rcache_add(r, c, now + 40000, now + 10000), 0);
	assert_true(kg_rcache_contains(r, c, now + 10000));
	assert_true(kg_rcache_contains(r, a, now + 10000));
	assert_false(kg_rcache_contains(r, b, now + 10000));
	assert_int_equal(kg_rcache_count(r), 2);
	kg_rcache_free(r);
}

/* The index: thousands of grants, each found again (a repeat answers its
 * own port), the table full refuses, and slots freed after keep are used
 * again by new grants. */
static void test_index_finds_every_grant_and_reuses_freed_slots(void **state)
{
	static struct kg_grants big;
	static const struct kg_hop_conf BIG_POOL = {
		.pool = { { 10000, 60000 } }, .n_pool = 1
	};
	enum { N = 3000 };
	static uint16_t port[N];
	struct kg_sknock k;
	struct kg_plan p;
	uint8_t h[32];

	(void)state;
	assert_int_equal(kg_grants_init(&big, N, 120, 10), 0);
	for (uint32_t i = 0; i < N; i++) {
		vec_knock(&k);
		k.session = 1000 + i;
		hash_of(&k, h);
		kg_grants_plan(&big, &k, h, 80, &BIG_POOL, i * 7, NOW, &p);
		assert_int_equal(p.op, KG_PLAN_MAP);
		kg_grants_commit(&big, &k, h, &p, NOW);
		port[i] = p.port;
	}
	vec_knock(&k);
	k.session = 1000 + N;
	hash_of(&k, h);
	kg_grants_plan(&big, &k, h, 80, &BIG_POOL, 1, NOW, &p);
	assert_int_equal(p.op, KG_PLAN_REFUSE);
	assert_int_equal(p.reason, KG_SK_R_BUSY);
	for (uint32_t i = 0; i < N; i += 7) {
		vec_knock(&k);
		k.session = 1000 + i;
		hash_of(&k, h);
		kg_grants_plan(&big, &k, h, 80, &BIG_POOL, 1, NOW + 1, &p);
		assert_int_equal(p.op, KG_PLAN_REPEAT);
		assert_int_equal(p.answer.port, port[i]);
	}
	/* every lease over, then keep: all slots free again */
	assert_int_equal(kg_grants_expire(&big, NOW + 121, NULL, NULL), N);
	kg_grants_expire(&big, NOW + 200, NULL, NULL);
	assert_int_equal(big.n_free, N);
	vec_knock(&k);
	k.session = 1000 + N;
	hash_of(&k, h);
	kg_grants_plan(&big, &k, h, 80, &BIG_POOL, 1, NOW + 200, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
	kg_grants_free(&big);
}

/* The per-client pool through the client index: a client's own ports
 * are avoided, another client's are not, and a slot forgotten leaves
 * its client's chain (its ports free again for that client). */
static void test_client_pool_follows_the_client_index(void **state)
{
	static struct kg_grants t;
	static const struct kg_hop_conf two = {
		.pool = { { 40000, 40001 } }, .n_pool = 1
	};
	struct kg_sknock k;
	struct kg_plan p;
	uint8_t h[32];
	uint16_t first = 0;

	(void)state;
	assert_int_equal(kg_grants_init(&t, 64, 120, 10), 0);
	for (uint64_t s = 1; s <= 3; s++) {
		vec_knock(&k);
		k.session = s;
		hash_of(&k, h);
		kg_grants_plan(&t, &k, h, 80, &two, (uint32_t)s, NOW, &p);
		if (s == 3) {
			assert_int_equal(p.op, KG_PLAN_REFUSE);
			assert_int_equal(p.reason, KG_SK_R_POOL_EXHAUSTED);
			break;
		}
		assert_int_equal(p.op, KG_PLAN_MAP);
		assert_int_not_equal(p.port, first);
		first = p.port;
		kg_grants_commit(&t, &k, h, &p, NOW);
	}
	/* another client: both ports free for it */
	vec_knock(&k);
	k.session = 4;
	kg_addr_parse("10.88.1.11", &k.client);
	hash_of(&k, h);
	kg_grants_plan(&t, &k, h, 80, &two, 0, NOW, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
	kg_grants_commit(&t, &k, h, &p, NOW);
	/* every lease over and forgotten: the first client maps again */
	kg_grants_expire(&t, NOW + 121, NULL, NULL);
	kg_grants_expire(&t, NOW + 200, NULL, NULL);
	assert_int_equal(t.n_free, 64);
	vec_knock(&k);
	k.session = 5;
	hash_of(&k, h);
	kg_grants_plan(&t, &k, h, 80, &two, 0, NOW + 200, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
	kg_grants_free(&t);
}

static int lcg_rand(void *ctx, void *buf, size_t n)
{
	uint32_t *x = ctx;

	for (size_t i = 0; i < n; i++) {
		*x = *x * 1103515245u + 12345u;
		((uint8_t *)buf)[i] = (uint8_t)(*x >> 16);
	}
	return 0;
}

/* The old question, a walk of every slot: how many live grants has a
 * client whose address a ban of q's ban key would cover. */
static size_t walk_live_at(const struct kg_grants *t, const struct kg_addr *q)
{
	size_t n = 0;

	for (size_t i = 0; i < t->cap; i++) {
		const struct kg_grant *g = &t->g[i];
		struct kg_prefix c = { .a = g->client,
				       .len = (uint8_t)(kg_addr_len(&g->client) * 8) };

		if (g->used && g->port && kg_ips_key_hits(&c, q))
			n++;
	}
	return n;
}

/* The per-ban-key count agrees with the walk through opens, renews,
 * closes, a client moving, hops, lease ends and slots forgotten: IPv4
 * by address, IPv6 by /64 (a neighbour in the /64 counts, the next /64
 * does not), never across families. */
static void test_live_count_per_ban_key_follows_every_change(void **state)
{
	static struct kg_grants t;
	static const struct kg_hop_conf pool = {
		.on = true, .pool = { { 40000, 40999 } }, .n_pool = 1,
		.interval_min = 100, .interval_max = 200
	};
	static const char *const clients[] = {
		"10.88.1.10", "10.88.1.11", "10.88.1.12",
		"fd88::10", "fd88::11", "fd88:0:0:1::10", "fd88:0:0:2::5",
	};
	static const char *const queries[] = {
		"10.88.1.10", "10.88.1.11", "10.88.1.12", "10.88.1.13",
		"fd88::10", "fd88::ffff", "fd88:0:0:1::99", "fd88:0:0:2::5",
		"fd88:0:0:3::1", "::ffff:10.88.1.10", "0.0.0.0",
	};
	enum { NC = sizeof(clients) / sizeof(clients[0]),
	       NQ = sizeof(queries) / sizeof(queries[0]), SESS = 24 };
	uint32_t seq[SESS] = { 0 };
	uint32_t x = 12345, hx = 7;
	int64_t now = NOW;
	size_t hits = 0;

	(void)state;
	assert_int_equal(kg_grants_init(&t, 16, 30, 5), 0);
	for (int step = 0; step < 4000; step++) {
		struct kg_sknock k;
		struct kg_plan p;
		uint8_t h[32];
		uint32_t s;

		x = x * 1103515245u + 12345u;
		s = (x >> 8) % SESS;
		vec_knock(&k);
		k.session = 100 + s;
		k.seq = ++seq[s];
		/* a session mostly keeps its client; sometimes it moves */
		kg_addr_parse(clients[((x >> 20) % 8 == 0 ? (x >> 4) : s) % NC],
			      &k.client);
		k.action = (x >> 16) % 3 == 0 ? KG_SK_CLOSE : KG_SK_OPEN;
		k.lifetime = 5 + (x >> 24) % 20;
		hash_of(&k, h);
		kg_grants_plan(&t, &k, h, 80, &pool, x, now, &p);
		kg_grants_commit(&t, &k, h, &p, now);
		if ((x >> 12) % 5 == 0) {
			ptrdiff_t i = -1;

			for (size_t j = 0; j < t.cap && i < 0; j++)
				if (t.g[j].used && t.g[j].port)
					i = (ptrdiff_t)j;
			if (i >= 0) {
				struct kg_hop_plan hp;

				if (kg_grants_hop_plan(&t, (size_t)i, &pool,
						       lcg_rand, &hx, now * 1000,
						       now, &hp) == 0)
					kg_grants_hop_commit(&t, &hp, now * 1000);
			}
		}
		if ((x >> 10) % 4 == 0)
			now++;
		kg_grants_expire(&t, now, NULL, NULL);
		for (size_t q = 0; q < NQ; q++) {
			struct kg_addr a;

			assert_int_equal(kg_addr_parse(queries[q], &a), 0);
			assert_int_equal(kg_grants_live_at(&t, &a),
					 walk_live_at(&t, &a));
			hits += kg_grants_live_at(&t, &a) > 0;
		}
	}
	/* the run did exercise live keys, and everything ends at zero */
	assert_true(hits > 1000);
	kg_grants_expire(&t, now + 100, NULL, NULL);
	for (size_t q = 0; q < NQ; q++) {
		struct kg_addr a;

		kg_addr_parse(queries[q], &a);
		assert_int_equal(kg_grants_live_at(&t, &a), 0);
	}
	assert_int_equal(t.n_kfree, 16);
	kg_grants_free(&t);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(test_open_maps_a_random_pool_port_for_the_lease),
		cmocka_unit_test(test_client_pool_follows_the_client_index),
		cmocka_unit_test(test_live_count_per_ban_key_follows_every_change),
		T_(test_repeated_open_is_answered_from_cache_with_same_port),
		T_(test_renew_extends_the_same_port),
		T_(test_lifetime_is_capped_to_max_lease),
		T_(test_close_unmaps_and_is_idempotent),
		T_(test_older_sequence_is_refused_as_stale),
		T_(test_same_sequence_with_other_request_is_refused),
		T_(test_sessions_get_distinct_ports),
		T_(test_full_table_is_refused),
		T_(test_pool_is_per_client),
		T_(test_lease_end_expires_grant_and_repeat_is_not_granted),
		T_(test_repeat_after_lease_end_is_not_granted),
		cmocka_unit_test(test_pool_pick_wraps_and_reports_exhaustion),
		cmocka_unit_test(test_index_finds_every_grant_and_reuses_freed_slots),
		cmocka_unit_test(test_replay_cache_refuses_seen_and_full),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
