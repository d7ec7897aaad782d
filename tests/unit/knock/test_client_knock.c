/* SPDX-License-Identifier: MIT */
/* The client's profile and knock: profile errors name file and line, and
 * a knock the client builds from a profile is accepted by green's checker
 * for the matching user record (and by no other green). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client/knock_send.h"
#include "client/profile.h"
#include "green/knock_check.h"
#include "lib/replay.h"

#define KEY "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define GPUB "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8="   /* a0..bf */

static const char profile_text[] =
	"[profile]\nuser = alice\ngreen_id = green1\ngreen_address = 198.51.100.1\n"
	"knock_port = 62201\ngreen_wg_public_key = " GPUB "\ngreen_wg_port = 51820\n"
	"green_tunnel_address = 10.88.0.1\ncontrol_port = 4433\n"
	"knock_key = " KEY "\ntunnel_address = 10.88.1.10\nca = ca.pem\n";

static int parse_profile(struct kg_profile *p, const char *text, struct kg_err *e)
{
	struct kg_conf c;
	int rc = kg_conf_parse(&c, "profile/profile.conf", text, strlen(text), e);

	if (!rc)
		rc = kg_profile_parse(p, &c, "/home/alice/profile", e);
	kg_conf_free(&c);
	return rc;
}

static void test_profile_loads_every_field(void **st)
{
	struct kg_profile p;
	struct kg_err e;
	char a[KG_ADDR_STRLEN];

	(void)st;
	assert_int_equal(parse_profile(&p, profile_text, &e), 0);
	assert_string_equal(p.user, "alice");
	assert_string_equal(p.green_id, "green1");
	assert_string_equal(kg_addr_str(&p.green_address, a), "198.51.100.1");
	assert_int_equal(p.knock_port, 62201);
	assert_int_equal(p.green_wg_pub[0], 0xa0);
	assert_int_equal(p.knock_key[31], 0x1f);
	assert_string_equal(p.ca_path, "/home/alice/profile/ca.pem");
	assert_int_equal(p.knock_slot, 60);
	kg_profile_wipe(&p);
}

static void test_bad_profile_is_refused_with_file_and_line(void **st)
{
	struct kg_profile p;
	struct kg_err e;
	char text[2048];

	(void)st;
	snprintf(text, sizeof(text), "%sknok_port = 1\n", profile_text);
	assert_int_equal(parse_profile(&p, text, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "profile/profile.conf:13: unknown key 'knok_port'"));
	snprintf(text, sizeof(text), "%s", profile_text);
	memcpy(strstr(text, "198.51.100.1"), "198.51.100.X", 12);
	assert_int_equal(parse_profile(&p, text, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "profile/profile.conf:4: green_address"));
	assert_int_equal(parse_profile(&p, "[profile]\nuser = alice\n", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "needs"));
}

/* Several greens: [profile]'s first, then [green NAME] in file order,
 * each with its own keys and tunnel address; kg_profile_use switches. */
static void test_profile_lists_several_greens(void **st)
{
	static struct kg_profile p;
	struct kg_err e;
	char text[2048], a[KG_ADDR_STRLEN];

	(void)st;
	assert_int_equal(parse_profile(&p, profile_text, &e), 0);
	assert_int_equal(p.n_greens, 1);
	snprintf(text, sizeof(text),
		 "%s[green green2]\ngreen_address = 198.51.100.2\n"
		 "green_wg_public_key = " GPUB "\ngreen_tunnel_address = 10.88.128.1\n"
		 "knock_key = 1f%s\ntunnel_address = 10.88.129.10\n",
		 profile_text, KEY + 2);
	if (parse_profile(&p, text, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(p.n_greens, 2);
	assert_int_equal(p.cur, 0);
	assert_string_equal(p.green_id, "green1");
	kg_profile_use(&p, 1);
	assert_string_equal(p.green_id, "green2");
	assert_string_equal(kg_addr_str(&p.green_address, a), "198.51.100.2");
	assert_string_equal(kg_addr_str(&p.tunnel_address, a), "10.88.129.10");
	assert_string_equal(kg_addr_str(&p.green_tunnel, a), "10.88.128.1");
	assert_int_equal(p.knock_key[0], 0x1f);
	assert_int_equal(p.knock_port, 62201);
	kg_profile_use(&p, 0);
	assert_string_equal(p.green_id, "green1");
	assert_int_equal(p.knock_key[0], 0x00);
	/* a further green's keys are checked as [profile]'s */
	snprintf(text, sizeof(text), "%s[green green2]\ngreen_address = nowhere\n",
		 profile_text);
	assert_int_equal(parse_profile(&p, text, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green_address: an IP address, got 'nowhere'"));
	snprintf(text, sizeof(text), "%s[green green2]\nuser = bob\n", profile_text);
	assert_int_equal(parse_profile(&p, text, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown key 'user'"));
	kg_profile_wipe(&p);
}

static void test_client_knock_is_accepted_by_green_for_that_user(void **st)
{
	static const char rec[] = "[user alice]\nknock_key = " KEY "\n"
				  "tunnel_address = 10.88.1.10\nspki_sha256 = "
				  "0000000000000000000000000000000000000000000000000000000000000000\n";
	struct kg_profile p;
	struct kg_users u;
	struct kg_rcache *rc;
	struct kg_knock_checker k;
	struct kg_knock_decision d;
	struct kg_conf c;
	struct kg_err e;
	uint8_t pkt[KG_KNOCK_LEN], cpub[32], other[32];
	uint64_t now = 1795000000123ULL;

	(void)st;
	memset(cpub, 0x5a, 32);
	assert_int_equal(parse_profile(&p, profile_text, &e), 0);
	kg_users_init(&u, 60);
	assert_int_equal(kg_conf_parse(&c, "alice.conf", rec, sizeof(rec) - 1, &e), 0);
	assert_int_equal(kg_users_add_conf(&u, &c, &e), 0);
	kg_conf_free(&c);
	assert_int_equal(kg_rcache_new(8, KG_RCACHE_KEY_LEN, &rc), 0);
	assert_int_equal(kg_knock_build(&p, cpub, now, pkt), 0);

	/* Another green (other WireGuard key) refuses it. */
	memset(other, 0x42, 32);
	assert_int_equal(kg_knock_checker_init(&k, other, 30, 0, &u, rc), 0);
	assert_int_equal(kg_knock_check(&k, pkt, sizeof(pkt), now + 50, &d),
			 KG_KNOCK_WRONG_GREEN);
	assert_int_equal(kg_knock_checker_init(&k, p.green_wg_pub, 30, 0, &u, rc), 0);
	assert_int_equal(kg_knock_check(&k, pkt, sizeof(pkt), now + 50, &d),
			 KG_KNOCK_ACCEPTED);
	assert_memory_equal(d.client_pub, cpub, 32);
	assert_string_equal(d.user->name, "alice");
	kg_rcache_free(rc);
	kg_users_free(&u);
	kg_profile_wipe(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_loads_every_field),
		cmocka_unit_test(test_bad_profile_is_refused_with_file_and_line),
		cmocka_unit_test(test_profile_lists_several_greens),
		cmocka_unit_test(test_client_knock_is_accepted_by_green_for_that_user),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
