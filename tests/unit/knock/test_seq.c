/* SPDX-License-Identifier: MIT */
/* Sequence mode: knockd-style static sequences and one-time sequences. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "green/seq.h"

#define T0 1795000000000ULL   /* slot 29916666 at 60 s */
#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP

static const char records[] =
	"[user bob]\n"
	"knock_key = 3333333333333333333333333333333333333333333333333333333333333333\n"
	"tunnel_address = 10.88.1.11\n"
	"spki_sha256 = 4444444444444444444444444444444444444444444444444444444444444444\n"
	"mode = sequence\nsequence = 7001/tcp, 7002/udp, 7003/tcp\n"
	"wg_public_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	"[user carol]\n"
	"knock_key = 5555555555555555555555555555555555555555555555555555555555555555\n"
	"tunnel_address = 10.88.1.12\n"
	"spki_sha256 = 4444444444444444444444444444444444444444444444444444444444444444\n"
	"mode = sequence\nsequence = onetime:4\n"
	"wg_public_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	"[user alice]\n"
	"knock_key = 1111111111111111111111111111111111111111111111111111111111111111\n"
	"tunnel_address = 10.88.1.10\n"
	"spki_sha256 = 4444444444444444444444444444444444444444444444444444444444444444\n";

struct fx {
	struct kg_users u;
	struct kg_seq *s;
	struct kg_addr a, b;
};

static int setup(void **st)
{
	static struct fx f;
	struct kg_conf c;
	struct kg_err e;

	kg_users_init(&f.u, 60);
	assert_int_equal(kg_conf_parse(&c, "t", records, sizeof(records) - 1, &e), 0);
	assert_int_equal(kg_users_add_conf(&f.u, &c, &e), 0);
	kg_conf_free(&c);
	assert_int_equal(kg_seq_new(4, 5000, 60, &f.s), 0);
	kg_addr_parse("198.51.100.10", &f.a);
	kg_addr_parse("198.51.100.66", &f.b);
	*st = &f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;

	kg_seq_free(f->s);
	kg_users_free(&f->u);
	return 0;
}

static enum kg_seq_result feed(struct fx *f, const struct kg_addr *src,
			       uint8_t proto, uint16_t port, uint64_t t,
			       struct kg_user **who)
{
	return kg_seq_feed(f->s, &f->u, src, proto, port, t, t, who);
}

static void test_static_sequence_in_order_opens_for_its_user(void **st)
{
	struct fx *f = *st;
	struct kg_user *who;

	kg_seq_reset(f->s);
	assert_int_equal(feed(f, &f->a, TCP, 7001, T0, &who), KG_SEQ_PROGRESS);
	/* Another source's packets do not disturb a's progress. */
	assert_int_equal(feed(f, &f->b, TCP, 7003, T0 + 1, &who), KG_SEQ_RESET);
	assert_int_equal(feed(f, &f->a, UDP, 7002, T0 + 2, &who), KG_SEQ_PROGRESS);
	assert_int_equal(feed(f, &f->a, TCP, 7003, T0 + 3, &who), KG_SEQ_COMPLETE);
	assert_non_null(who);
	assert_string_equal(who->name, "bob");
}

static void test_wrong_order_or_protocol_opens_nothing(void **st)
{
	struct fx *f = *st;
	struct kg_user *who;

	kg_seq_reset(f->s);
	assert_int_not_equal(feed(f, &f->a, UDP, 7002, T0, &who), KG_SEQ_COMPLETE);
	assert_int_not_equal(feed(f, &f->a, TCP, 7001, T0, &who), KG_SEQ_COMPLETE);
	assert_int_not_equal(feed(f, &f->a, TCP, 7003, T0, &who), KG_SEQ_COMPLETE);
	assert_int_not_equal(feed(f, &f->a, UDP, 7002, T0, &who), KG_SEQ_COMPLETE);
	assert_null(who);
	/* 7002 over TCP is not the sequence's 7002/udp. */
	kg_seq_reset(f->s);
	feed(f, &f->a, TCP, 7001, T0, &who);
	assert_int_equal(feed(f, &f->a, TCP, 7002, T0, &who), KG_SEQ_NONE);
	assert_int_not_equal(feed(f, &f->a, TCP, 7003, T0, &who), KG_SEQ_COMPLETE);
}

static void test_sequence_slower_than_timeout_opens_nothing(void **st)
{
	struct fx *f = *st;
	struct kg_user *who;

	kg_seq_reset(f->s);
	feed(f, &f->a, TCP, 7001, T0, &who);
	feed(f, &f->a, UDP, 7002, T0 + 1000, &who);
	assert_int_not_equal(feed(f, &f->a, TCP, 7003, T0 + 5001, &who), KG_SEQ_COMPLETE);
}

/* The partial sequence's timeout runs on the monotonic clock: a wall
 * clock stepped back an hour does not keep a stale start alive, and one
 * stepped forward does not cut a sequence typed in time. */
static void test_sequence_timeout_ignores_wall_clock_steps(void **st)
{
	struct fx *f = *st;
	struct kg_user *who;
	const uint64_t back = T0 - 3600 * 1000, fwd = T0 + 3600 * 1000;

	kg_seq_reset(f->s);
	kg_seq_feed(f->s, &f->u, &f->a, TCP, 7001, T0, 1000, &who);
	kg_seq_feed(f->s, &f->u, &f->a, UDP, 7002, back, 2000, &who);
	assert_int_not_equal(kg_seq_feed(f->s, &f->u, &f->a, TCP, 7003, back,
					 7001, &who), KG_SEQ_COMPLETE);
	kg_seq_reset(f->s);
	kg_seq_feed(f->s, &f->u, &f->a, TCP, 7001, T0, 1000, &who);
	kg_seq_feed(f->s, &f->u, &f->a, UDP, 7002, fwd, 1500, &who);
	assert_int_equal(kg_seq_feed(f->s, &f->u, &f->a, TCP, 7003, fwd, 2000,
				     &who), KG_SEQ_COMPLETE);
}

static void test_sequence_ports_are_known_to_the_ips(void **st)
{
	struct fx *f = *st;
	struct kg_seq_port ot[4];

	assert_true(kg_seq_port_known(f->s, &f->u, TCP, 7001, T0));
	assert_true(kg_seq_port_known(f->s, &f->u, UDP, 7002, T0));
	assert_false(kg_seq_port_known(f->s, &f->u, TCP, 7002, T0));
	assert_false(kg_seq_port_known(f->s, &f->u, TCP, 22, T0));
	assert_int_equal(kg_seq_onetime(f->u.v[1].knock_key, T0 / 60000, 4, ot), 0);
	for (int i = 0; i < 4; i++)
		assert_true(kg_seq_port_known(f->s, &f->u, ot[i].proto, ot[i].port, T0));
}

static void test_onetime_sequence_works_once_per_slot(void **st)
{
	struct fx *f = *st;
	struct kg_seq_port ot[4], next[4];
	struct kg_user *who = NULL;
	enum kg_seq_result r = KG_SEQ_NONE;

	kg_seq_reset(f->s);
	assert_int_equal(kg_seq_onetime(f->u.v[1].knock_key, T0 / 60000, 4, ot), 0);
	assert_int_equal(kg_seq_onetime(f->u.v[1].knock_key, T0 / 60000 + 1, 4, next), 0);
	assert_memory_not_equal(ot, next, sizeof(ot));
	for (int i = 0; i < 4; i++) {
		assert_true(ot[i].port >= KG_SEQ_ONETIME_BASE);
		r = feed(f, &f->a, ot[i].proto, ot[i].port, T0 + (uint64_t)i, &who);
	}
	assert_int_equal(r, KG_SEQ_COMPLETE);
	assert_string_equal(who->name, "carol");
	/* The captured sequence replayed in the same slot, from anywhere. */
	for (int i = 0; i < 4; i++)
		r = feed(f, &f->b, ot[i].proto, ot[i].port, T0 + 10 + (uint64_t)i, &who);
	assert_int_equal(r, KG_SEQ_REPLAYED);
	/* Next slot: the old sequence means nothing, the new one works. */
	for (int i = 0; i < 4; i++)
		r = feed(f, &f->a, ot[i].proto, ot[i].port, T0 + 60000 + (uint64_t)i, &who);
	assert_int_not_equal(r, KG_SEQ_COMPLETE);
	for (int i = 0; i < 4; i++)
		r = feed(f, &f->a, next[i].proto, next[i].port, T0 + 60100 + (uint64_t)i, &who);
	assert_int_equal(r, KG_SEQ_COMPLETE);
}

static void test_progress_table_is_bounded(void **st)
{
	struct fx *f = *st;
	struct kg_user *who;
	struct kg_addr src;
	char a[32];

	kg_seq_reset(f->s);
	for (int i = 0; i < 4; i++) {
		snprintf(a, sizeof(a), "198.51.100.%d", 100 + i);
		kg_addr_parse(a, &src);
		assert_int_equal(feed(f, &src, TCP, 7001, T0, &who), KG_SEQ_PROGRESS);
	}
	assert_int_equal(feed(f, &f->a, TCP, 7001, T0, &who), KG_SEQ_TABLE_FULL);
	/* Entries time out and make room. */
	assert_int_equal(feed(f, &f->a, TCP, 7001, T0 + 5001, &who), KG_SEQ_PROGRESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_static_sequence_in_order_opens_for_its_user),
		cmocka_unit_test(test_wrong_order_or_protocol_opens_nothing),
		cmocka_unit_test(test_sequence_slower_than_timeout_opens_nothing),
		cmocka_unit_test(test_sequence_timeout_ignores_wall_clock_steps),
		cmocka_unit_test(test_sequence_ports_are_known_to_the_ips),
		cmocka_unit_test(test_onetime_sequence_works_once_per_slot),
		cmocka_unit_test(test_progress_table_is_bounded),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
