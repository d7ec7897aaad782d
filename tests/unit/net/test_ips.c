/* SPDX-License-Identifier: MIT */
/* IPS counting and ban decisions, with a fake clock and a fake table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "ips.h"
#include "ips_report.h"

struct fake {
	uint64_t now;
	int bans, unbans;
	struct kg_addr last_key;
	unsigned last_seconds;
	int ban_error;
	bool exempt;
};

static int fake_ban(void *ctx, const struct kg_addr *key, unsigned s)
{
	struct fake *f = ctx;

	if (f->ban_error)
		return f->ban_error;
	f->bans++;
	f->last_key = *key;
	f->last_seconds = s;
	return 0;
}

static int fake_unban(void *ctx, const struct kg_addr *key)
{
	struct fake *f = ctx;

	(void)key;
	f->unbans++;
	return 0;
}

static bool fake_exempt(void *ctx, const struct kg_addr *src)
{
	(void)src;
	return ((struct fake *)ctx)->exempt;
}

static uint64_t fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static struct kg_prefix never[2];

static struct kg_ips *mk(struct fake *f, unsigned n, size_t max_src, size_t max_bans)
{
	struct kg_ips_config c = {
		.scan_ports = n, .window_s = 10, .ban_s = 60, .invalid_knocks = 3,
		.max_sources = max_src, .max_bans = max_bans,
		.never_ban = never, .n_never_ban = 2,
	};
	struct kg_ips_ops ops = { fake_ban, fake_unban, fake_exempt, fake_now, f };
	struct kg_ips *ips;

	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	assert_int_equal(kg_prefix_parse("192.0.2.0/24", &never[0]), 0);
	/* One protected IPv6 address: its whole /64 is never banned. */
	assert_int_equal(kg_prefix_parse("2001:db8:113::2", &never[1]), 0);
	assert_int_equal(kg_ips_new(&ips, &c, &ops), 0);
	return ips;
}

static struct kg_addr A(const char *s)
{
	struct kg_addr a;

	assert_int_equal(kg_addr_parse(s, &a), 0);
	return a;
}

static enum kg_ips_result ports(struct kg_ips *ips, const char *src,
				unsigned from, unsigned n)
{
	struct kg_addr a = A(src);
	enum kg_ips_result r = KG_IPS_COUNTED;

	for (unsigned i = 0; i < n; i++)
		r = kg_ips_closed_port(ips, &a, IPPROTO_TCP, (uint16_t)(from + i));
	return r;
}

static void test_exactly_n_ports_is_not_a_ban(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 5, 100, 100);

	(void)state;
	assert_int_equal(ports(ips, "198.51.100.66", 1, 5), KG_IPS_COUNTED);
	assert_int_equal(f.bans, 0);
	assert_int_equal(ports(ips, "198.51.100.66", 6, 1), KG_IPS_BANNED);
	assert_int_equal(f.bans, 1);
	assert_int_equal(f.last_seconds, 60);
	assert_true(kg_ips_is_banned(ips, &(struct kg_addr){ 0 }) == false);
	struct kg_addr a = A("198.51.100.66");
	assert_true(kg_ips_is_banned(ips, &a));
	assert_int_equal(ports(ips, "198.51.100.66", 50, 1), KG_IPS_ALREADY);
	assert_int_equal(f.bans, 1);
	kg_ips_free(ips);
}

/* knockgate-ctl bans: the same text and JSON on green and red. */
static void test_ban_report_text_and_json(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 5, 100, 100);
	struct kg_sb o = KG_SB_INIT;

	(void)state;
	kg_ips_report_bans(NULL, false, &o);
	assert_string_equal(kg_sb_str(&o), "SOURCE                                       LEFT\n");
	kg_sb_free(&o);
	kg_ips_report_bans(NULL, true, &o);
	assert_string_equal(kg_sb_str(&o), "{\"bans\":[]}\n");
	kg_sb_free(&o);

	assert_int_equal(ports(ips, "198.51.100.66", 1, 6), KG_IPS_BANNED);
	f.now += 15000;
	assert_int_equal(ports(ips, "2001:db8:1::5", 1, 6), KG_IPS_BANNED);
	kg_ips_report_bans(ips, false, &o);
	assert_non_null(strstr(kg_sb_str(&o), "\n198.51.100.66                                45s\n"));
	assert_non_null(strstr(kg_sb_str(&o), "\n2001:db8:1::                                 60s\n"));
	kg_sb_free(&o);
	kg_ips_report_bans(ips, true, &o);
	assert_true(strncmp(kg_sb_str(&o), "{\"bans\":[{", 10) == 0);
	assert_non_null(strstr(kg_sb_str(&o), "{\"source\":\"198.51.100.66\",\"left_s\":45}"));
	assert_non_null(strstr(kg_sb_str(&o), "{\"source\":\"2001:db8:1::/64\",\"left_s\":60}"));
	assert_non_null(strstr(kg_sb_str(&o), "},{"));
	assert_string_equal(kg_sb_str(&o) + o.len - 3, "]}\n");
	assert_int_equal(kg_sb_error(&o), 0);
	kg_sb_free(&o);
	kg_ips_free(ips);
}

static void test_repeated_port_counts_once(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);
	struct kg_addr a = A("198.51.100.66");

	(void)state;
	for (int i = 0; i < 50; i++)
		assert_int_equal(kg_ips_closed_port(ips, &a, IPPROTO_TCP, 22), KG_IPS_COUNTED);
	/* Same number, other protocol: a different port. */
	assert_int_equal(kg_ips_closed_port(ips, &a, IPPROTO_UDP, 22), KG_IPS_COUNTED);
	assert_int_equal(f.bans, 0);
	kg_ips_free(ips);
}

static void test_ports_slide_out_of_the_window(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);

	(void)state;
	assert_int_equal(ports(ips, "198.51.100.66", 1, 3), KG_IPS_COUNTED);
	f.now += 10001;   /* the window is 10 s */
	assert_int_equal(ports(ips, "198.51.100.66", 4, 3), KG_IPS_COUNTED);
	assert_int_equal(f.bans, 0);
	f.now += 5000;    /* 4..6 still inside: one more bans */
	assert_int_equal(ports(ips, "198.51.100.66", 7, 1), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_never_ban_prefix_is_not_tracked(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);

	(void)state;
	assert_int_equal(ports(ips, "192.0.2.77", 1, 100), KG_IPS_NEVER_BAN);
	assert_int_equal(f.bans, 0);
	assert_int_equal(kg_ips_n_tracked(ips), 0);
	kg_ips_free(ips);
}

/* A ban of an IPv6 /64 would cover the protected address: junk from
 * another address of that /64 (a forger next door) bans nothing. */
static void test_never_ban_covers_the_whole_ban_key(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);

	(void)state;
	assert_int_equal(ports(ips, "2001:db8:113::66", 1, 100), KG_IPS_NEVER_BAN);
	for (int i = 0; i < 10; i++) {
		struct kg_addr a = A("2001:db8:113::abcd:1");

		assert_int_equal(kg_ips_invalid_knock(ips, &a), KG_IPS_NEVER_BAN);
	}
	assert_int_equal(f.bans, 0);
	/* The next /64 is not protected. */
	assert_int_equal(ports(ips, "2001:db8:114::66", 1, 4), KG_IPS_BANNED);
	assert_int_equal(f.bans, 1);
	/* IPv4 keys are the address: a neighbour of a protected /24 is not
	 * protected, one inside it is. */
	assert_int_equal(ports(ips, "192.0.3.1", 1, 4), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_key_hits(void **state)
{
	struct kg_prefix p;
	struct kg_addr a;

	(void)state;
	/* A host address inside the source's /64. */
	assert_int_equal(kg_prefix_parse("2001:db8:100::10", &p), 0);
	a = A("2001:db8:100::ffff");
	assert_true(kg_ips_key_hits(&p, &a));
	a = A("2001:db8:100:1::10");
	assert_false(kg_ips_key_hits(&p, &a));
	/* A short prefix holding the /64, and one holding part of it. */
	assert_int_equal(kg_prefix_parse("2001:db8::/32", &p), 0);
	assert_true(kg_ips_key_hits(&p, &a));
	assert_int_equal(kg_prefix_parse("2001:db8:100:1:8000::/65", &p), 0);
	assert_true(kg_ips_key_hits(&p, &a));
	/* IPv4: the tunnel range and an odd prefix length. */
	assert_int_equal(kg_prefix_parse("10.88.0.0/16", &p), 0);
	a = A("10.88.1.10");
	assert_true(kg_ips_key_hits(&p, &a));
	a = A("10.89.0.2");
	assert_false(kg_ips_key_hits(&p, &a));
	assert_int_equal(kg_prefix_parse("10.89.0.0/30", &p), 0);
	assert_true(kg_ips_key_hits(&p, &a));
	a = A("10.89.0.4");
	assert_false(kg_ips_key_hits(&p, &a));
	/* Families never mix. */
	a = A("::ffff:10.89.0.1");
	assert_false(kg_ips_key_hits(&p, &a));
}

static void test_live_session_is_exempt(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);

	(void)state;
	f.exempt = true;
	assert_int_equal(ports(ips, "198.51.100.10", 1, 4), KG_IPS_EXEMPT);
	assert_int_equal(f.bans, 0);
	f.exempt = false;
	assert_int_equal(ports(ips, "198.51.100.10", 10, 4), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_ipv6_is_keyed_by_64(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 100, 100);
	struct kg_addr other = A("2001:db8:100::1234:5678"), want = A("2001:db8:100::");

	(void)state;
	/* Four sources of one /64, one port each: one scanner. */
	ports(ips, "2001:db8:100::1", 1, 1);
	ports(ips, "2001:db8:100::2", 2, 1);
	ports(ips, "2001:db8:100::3", 3, 1);
	assert_int_equal(ports(ips, "2001:db8:100::4", 4, 1), KG_IPS_BANNED);
	assert_true(kg_addr_eq(&f.last_key, &want));
	assert_true(kg_ips_is_banned(ips, &other));
	assert_int_equal(ports(ips, "2001:db8:101::4", 1, 3), KG_IPS_COUNTED);
	kg_ips_free(ips);
}

static void test_source_cap_refuses_new_tracking(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 3, 2, 100);

	(void)state;
	assert_int_equal(ports(ips, "198.51.100.1", 1, 1), KG_IPS_COUNTED);
	assert_int_equal(ports(ips, "198.51.100.2", 1, 1), KG_IPS_COUNTED);
	assert_int_equal(ports(ips, "198.51.100.3", 1, 1), KG_IPS_FULL);
	assert_int_equal(kg_ips_n_tracked(ips), 2);
	/* Tracked sources still get banned at the cap. */
	assert_int_equal(ports(ips, "198.51.100.1", 2, 3), KG_IPS_BANNED);
	/* A ban frees its tracking slot. */
	assert_int_equal(ports(ips, "198.51.100.3", 1, 1), KG_IPS_COUNTED);
	kg_ips_free(ips);
}

static void test_ban_cap_never_evicts(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 1, 100, 2);
	struct kg_addr a1 = A("198.51.100.1");

	(void)state;
	assert_int_equal(ports(ips, "198.51.100.1", 1, 2), KG_IPS_BANNED);
	assert_int_equal(ports(ips, "198.51.100.2", 1, 2), KG_IPS_BANNED);
	assert_int_equal(ports(ips, "198.51.100.3", 1, 2), KG_IPS_FULL);
	assert_int_equal(f.bans, 2);
	assert_true(kg_ips_is_banned(ips, &a1));
	/* Expired bans make room. */
	f.now += 61000;
	kg_ips_expire(ips);
	assert_int_equal(kg_ips_n_banned(ips), 0);
	assert_int_equal(ports(ips, "198.51.100.3", 5, 2), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_invalid_knocks_ban_after_k(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 10, 100, 100);
	struct kg_addr a = A("198.51.100.66");

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(kg_ips_invalid_knock(ips, &a), KG_IPS_COUNTED);
	assert_int_equal(kg_ips_invalid_knock(ips, &a), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_valid_knock_lifts_the_ban(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 1, 100, 100);
	struct kg_addr a = A("198.51.100.66");

	(void)state;
	assert_int_equal(ports(ips, "198.51.100.66", 1, 2), KG_IPS_BANNED);
	assert_int_equal(kg_ips_unban(ips, &a), 0);
	assert_int_equal(f.unbans, 1);
	assert_false(kg_ips_is_banned(ips, &a));
	assert_int_equal(kg_ips_n_banned(ips), 0);
	/* Not banned: nothing to remove, no call. */
	assert_int_equal(kg_ips_unban(ips, &a), 0);
	assert_int_equal(f.unbans, 1);
	kg_ips_free(ips);
}

static void test_failed_ban_is_retried(void **state)
{
	struct fake f;
	struct kg_ips *ips = mk(&f, 1, 100, 100);

	(void)state;
	f.ban_error = -EIO;
	assert_int_equal(ports(ips, "198.51.100.66", 1, 2), KG_IPS_COUNTED);
	assert_int_equal(kg_ips_n_banned(ips), 0);
	f.ban_error = 0;
	assert_int_equal(ports(ips, "198.51.100.66", 3, 1), KG_IPS_BANNED);
	kg_ips_free(ips);
}

static void test_bad_config_is_refused(void **state)
{
	struct kg_ips_config c = { .scan_ports = 0, .window_s = 1, .ban_s = 1,
				   .invalid_knocks = 1, .max_sources = 1, .max_bans = 1 };
	struct kg_ips_ops ops = { fake_ban, NULL, NULL, NULL, NULL };
	struct kg_ips *ips;

	(void)state;
	assert_int_equal(kg_ips_new(&ips, &c, &ops), -EINVAL);
	c.scan_ports = 1;
	ops.ban = NULL;
	assert_int_equal(kg_ips_new(&ips, &c, &ops), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exactly_n_ports_is_not_a_ban),
		cmocka_unit_test(test_repeated_port_counts_once),
		cmocka_unit_test(test_ports_slide_out_of_the_window),
		cmocka_unit_test(test_never_ban_prefix_is_not_tracked),
		cmocka_unit_test(test_live_session_is_exempt),
		cmocka_unit_test(test_never_ban_covers_the_whole_ban_key),
		cmocka_unit_test(test_key_hits),
		cmocka_unit_test(test_ipv6_is_keyed_by_64),
		cmocka_unit_test(test_source_cap_refuses_new_tracking),
		cmocka_unit_test(test_ban_cap_never_evicts),
		cmocka_unit_test(test_invalid_knocks_ban_after_k),
		cmocka_unit_test(test_valid_knock_lifts_the_ban),
		cmocka_unit_test(test_failed_ban_is_retried),
		cmocka_unit_test(test_bad_config_is_refused),
		cmocka_unit_test(test_ban_report_text_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
