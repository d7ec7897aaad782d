/* SPDX-License-Identifier: MIT */
/* Port hopping's draws with an injected random source: intervals from
 * the configured list or range, ports from the pool, never the port just
 * left nor one the client holds, over many draws; the config values;
 * a grant's hops (held ports, counter, next hop due). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "grants.h"
#include "hop.h"
#include "sk_vectors.h"

#define DRAWS 20000

/* xorshift64: deterministic, so a failure can be replayed */
static int xorshift(void *ctx, void *buf, size_t n)
{
	uint64_t *s = ctx;
	uint8_t *p = buf;

	for (size_t i = 0; i < n; i++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		p[i] = (uint8_t)*s;
	}
	return 0;
}

/* Always the same bytes: shows the draw is a function of the source. */
static int constant(void *ctx, void *buf, size_t n)
{
	memset(buf, *(uint8_t *)ctx, n);
	return 0;
}

static int failing(void *ctx, void *buf, size_t n)
{
	(void)ctx;
	(void)buf;
	(void)n;
	return -EIO;
}

static void test_intervals_come_from_the_list(void **state)
{
	struct kg_hop_conf h = { 0 };
	uint64_t s = 1;
	unsigned seen[3] = { 0 };
	uint32_t ms;

	(void)state;
	assert_int_equal(kg_hop_parse_intervals("10, 20,30", &h), 0);
	assert_int_equal(h.n_intervals, 3);
	for (int i = 0; i < DRAWS; i++) {
		assert_int_equal(kg_hop_interval(&h, xorshift, &s, &ms), 0);
		assert_true(ms == 10000 || ms == 20000 || ms == 30000);
		seen[ms / 10000 - 1]++;
	}
	/* each value drawn about a third of the time */
	for (int i = 0; i < 3; i++)
		assert_true(seen[i] > DRAWS / 4 && seen[i] < DRAWS / 2);
}

static void test_intervals_come_from_the_range(void **state)
{
	struct kg_hop_conf h = { 0 };
	uint64_t s = 7;
	uint32_t ms, lo = UINT32_MAX, hi = 0;

	(void)state;
	assert_int_equal(kg_hop_parse_intervals("2-5", &h), 0);
	assert_int_equal(h.interval_min, 2000);
	assert_int_equal(h.interval_max, 5000);
	for (int i = 0; i < DRAWS; i++) {
		assert_int_equal(kg_hop_interval(&h, xorshift, &s, &ms), 0);
		assert_true(ms >= 2000 && ms <= 5000);
		lo = ms < lo ? ms : lo;
		hi = ms > hi ? ms : hi;
	}
	/* both ends are reachable */
	assert_true(lo < 2010 && hi > 4990);
	assert_int_equal(kg_hop_interval(&h, failing, NULL, &ms), -EIO);
}

static void test_ports_from_the_pool_never_the_one_left(void **state)
{
	struct kg_hop_conf h = { 0 };
	static unsigned hits[65536];
	uint64_t s = 42;
	uint16_t port = 9001, next;

	(void)state;
	memset(hits, 0, sizeof(hits));
	assert_int_equal(kg_hop_parse_pool("9001-9099", &h), 0);
	assert_int_equal(kg_hop_pool_size(&h), 99);
	for (int i = 0; i < DRAWS; i++) {
		assert_int_equal(kg_hop_port(&h, NULL, port, xorshift, &s, &next), 0);
		assert_true(next >= 9001 && next <= 9099);
		assert_int_not_equal(next, port);
		hits[next]++;
		port = next;
	}
	for (unsigned p = 9001; p <= 9099; p++)
		assert_true(hits[p] > 0);
}

static void test_ports_skip_held_and_span_every_range(void **state)
{
	struct kg_hop_conf h = { 0 };
	struct kg_pool used;
	uint64_t s = 3;
	uint16_t next;
	uint8_t c = 0xff;

	(void)state;
	assert_int_equal(kg_hop_parse_pool("100-102, 200", &h), 0);
	assert_int_equal(h.n_pool, 2);
	kg_pool_init(&used);
	kg_pool_mark(&used, 101, true);
	for (int i = 0; i < DRAWS; i++) {
		assert_int_equal(kg_hop_port(&h, &used, 100, xorshift, &s, &next), 0);
		assert_true(next == 102 || next == 200);
	}
	kg_pool_mark(&used, 102, true);
	kg_pool_mark(&used, 200, true);
	assert_int_equal(kg_hop_port(&h, &used, 100, xorshift, &s, &next), -ENOSPC);
	/* the same source bytes, the same port: the draw is the source's */
	kg_pool_init(&used);
	assert_int_equal(kg_hop_port(&h, &used, 0, constant, &c, &next), 0);
	assert_int_equal(next, 200);   /* 0xffffffff % 4 = 3 */
	c = 1;
	assert_int_equal(kg_hop_port(&h, &used, 0, constant, &c, &next), 0);
	assert_int_equal(next, 101);   /* 0x01010101 % 4 = 1 */
}

static void test_config_values(void **state)
{
	struct kg_hop_conf h = { 0 };
	uint32_t ms;

	(void)state;
	assert_int_equal(kg_hop_parse_duration("500ms", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(kg_hop_parse_duration("2", &ms), 0);
	assert_int_equal(ms, 2000);
	assert_int_equal(kg_hop_parse_duration("0", &ms), -EINVAL);
	assert_int_equal(kg_hop_parse_duration("2x", &ms), -EINVAL);
	assert_int_equal(kg_hop_parse_intervals("5-2", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_intervals("1,", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_intervals("", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_intervals("250ms-750ms", &h), 0);
	assert_int_equal(h.interval_max, 750);
	assert_int_equal(kg_hop_parse_pool("10-20, 15-30", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_pool("0-5", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_pool("5-4", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_pool("1-70000", &h), -EINVAL);
	assert_int_equal(kg_hop_parse_pool("1-2,", &h), -EINVAL);
}

/* A granted, hopping grant: each hop a new port of the pool, never the
 * current one, the old ones held for the lease, the counter counting. */
static void test_grant_hops_hold_the_ports_left(void **state)
{
	struct kg_hop_conf h = { .on = true, .overlap_ms = 1000 };
	struct kg_grants t;
	struct kg_sknock k;
	struct kg_plan p;
	struct kg_hop_plan hp;
	uint8_t hash[32] = { 0 };
	uint64_t s = 9;
	int64_t now_s = 1000, now_ms = 1000000;

	(void)state;
	assert_int_equal(kg_hop_parse_pool("9001-9099", &h), 0);
	assert_int_equal(kg_hop_parse_intervals("2-5", &h), 0);
	assert_int_equal(kg_grants_init(&t, 4, 600, 60), 0);
	vec_knock(&k);
	k.lifetime = 600;
	kg_grants_plan(&t, &k, hash, 80, &h, 5, now_s, &p);
	assert_int_equal(p.op, KG_PLAN_MAP);
	kg_grants_commit(&t, &k, hash, &p, now_s);
	for (uint32_t i = 1; i <= 100; i++) {
		uint16_t before = t.g[0].port;

		assert_int_equal(kg_grants_hop_plan(&t, 0, &h, xorshift, &s, now_ms,
						    now_s, &hp), 0);
		assert_int_not_equal(hp.port, before);
		assert_int_equal(hp.old_port, before);
		assert_true(hp.port >= 9001 && hp.port <= 9099);
		assert_true(hp.next_ms >= 2000 && hp.next_ms <= 5000);
		assert_int_equal(hp.hop, i);
		assert_int_equal(hp.overlap_ms, 1000);
		/* no port still held is handed out while others are free */
		for (size_t j = 0; j < t.g[0].n_held; j++)
			assert_int_not_equal(hp.port, t.g[0].held[j]);
		kg_grants_hop_commit(&t, &hp, now_ms);
		assert_int_equal(t.g[0].port, hp.port);
		assert_int_equal(t.g[0].held[t.g[0].n_held - 1], hp.port);
		assert_int_equal(t.g[0].hop_due_ms, now_ms + hp.next_ms);
		now_ms += hp.next_ms;
	}
	assert_int_equal(t.g[0].n_held, KG_GRANT_HELD_MAX);
	/* pruning: only the ports a flow still uses stay, and the newest two */
	{
		uint16_t kept = t.g[0].held[3], other = t.g[0].held[4];
		struct kg_addr stranger = k.client;

		/* the ring's prune timer is set when it grew, not before */
		assert_int_equal(kg_grants_held_due(&t, 0), 0);
		assert_int_equal(kg_grants_held_due(&t, now_ms), 1);
		stranger.b[3]++;
		kg_grants_held_seen(&t, &k.client, kept);
		kg_grants_held_seen(&t, &stranger, other);   /* not this client's */
		kg_grants_held_prune(&t, now_ms, NULL, NULL);
		assert_int_equal(t.g[0].n_held, 3);
		assert_int_equal(t.g[0].held[0], kept);
		assert_int_equal(t.g[0].held[2], t.g[0].port);
		/* still past two: its timer again, one prune interval on */
		assert_int_equal(kg_grants_held_due(&t, now_ms), 0);
		now_ms += KG_GRANT_PRUNE_MS;
		assert_int_equal(kg_grants_held_due(&t, now_ms), 1);
		/* an unused ring is pruned to the newest two */
		kg_grants_held_prune(&t, now_ms, NULL, NULL);
		assert_int_equal(t.g[0].n_held, 2);
		assert_int_equal(kg_grants_held_due(&t, now_ms + 3600000), 0);
	}
	/* a renewal carries every held port, for the kernel's refresh */
	assert_int_equal(kg_grants_hop_plan(&t, 0, &h, xorshift, &s, now_ms,
					    now_s, &hp), 0);
	kg_grants_hop_commit(&t, &hp, now_ms);
	k.seq++;
	k.action = KG_SK_RENEW;
	kg_grants_plan(&t, &k, hash, 80, &h, 0, now_s + 10, &p);
	assert_int_equal(p.op, KG_PLAN_EXTEND);
	assert_int_equal(p.port, t.g[0].port);
	assert_int_equal(p.n_held, 3);
	kg_grants_free(&t);
}

/* Address shuffling: every draw inside the prefix, never its all-zero
 * host nor the address just left, and spread over it; a prefix red
 * cannot shuffle in is refused. */
static void test_addresses_inside_the_prefix(void **state)
{
	struct kg_prefix p, bad;
	struct kg_addr prev, a;
	uint64_t s = 0x5eed5eedULL;
	bool seen[256] = { false };
	size_t distinct = 0;

	(void)state;
	assert_int_equal(kg_prefix_parse("fd89::1:0/120", &p), 0);
	prev = p.a;
	prev.b[15] = 7;
	for (int i = 0; i < DRAWS; i++) {
		assert_int_equal(kg_hop_addr(&p, &prev, xorshift, &s, &a), 0);
		assert_int_equal(a.family, AF_INET6);
		/* the first 120 bits are the prefix's */
		assert_memory_equal(a.b, p.a.b, 15);
		assert_int_not_equal(a.b[15], 0);
		assert_false(kg_addr_eq(&a, &prev));
		if (!seen[a.b[15]]) {
			seen[a.b[15]] = true;
			distinct++;
		}
		prev = a;
	}
	assert_int_equal(distinct, 255);
	/* a /64: the host half drawn whole, the prefix half kept */
	assert_int_equal(kg_prefix_parse("fd89:0:0:1::/64", &p), 0);
	assert_int_equal(kg_hop_addr(&p, NULL, xorshift, &s, &a), 0);
	assert_memory_equal(a.b, p.a.b, 8);
	/* a /126: four addresses, zero and the one left never drawn */
	assert_int_equal(kg_prefix_parse("fd89::1:0/126", &p), 0);
	prev = p.a;
	prev.b[15] = 1;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(kg_hop_addr(&p, &prev, xorshift, &s, &a), 0);
		assert_true(a.b[15] == 2 || a.b[15] == 3);
	}
	/* a source that only ever gives the refused address: no hang */
	{
		uint8_t zero = 0;

		assert_int_equal(kg_hop_addr(&p, NULL, constant, &zero, &a), -ENOSPC);
	}
	assert_int_equal(kg_prefix_parse("fd89::/127", &bad), 0);
	assert_int_equal(kg_hop_addr(&bad, NULL, xorshift, &s, &a), -EINVAL);
	assert_int_equal(kg_prefix_parse("fd89::/48", &bad), 0);
	assert_int_equal(kg_hop_addr(&bad, NULL, xorshift, &s, &a), -EINVAL);
	assert_int_equal(kg_prefix_parse("10.0.0.0/24", &bad), 0);
	assert_int_equal(kg_hop_addr(&bad, NULL, xorshift, &s, &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intervals_come_from_the_list),
		cmocka_unit_test(test_intervals_come_from_the_range),
		cmocka_unit_test(test_ports_from_the_pool_never_the_one_left),
		cmocka_unit_test(test_ports_skip_held_and_span_every_range),
		cmocka_unit_test(test_config_values),
		cmocka_unit_test(test_grant_hops_hold_the_ports_left),
		cmocka_unit_test(test_addresses_inside_the_prefix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
