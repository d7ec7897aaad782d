/* SPDX-License-Identifier: MIT */
/* Green's user records: good records load, bad ones are refused with
 * FILE:LINE, and lookups by name and by rotating key id work. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/keyid.h"
#include "green/users.h"

#define KEY_A "1111111111111111111111111111111111111111111111111111111111111111"
#define KEY_B "3333333333333333333333333333333333333333333333333333333333333333"
#define SPKI "2222222222222222222222222222222222222222222222222222222222222222"

static int parse(struct kg_users *u, const char *text, struct kg_err *e)
{
	struct kg_conf c;
	int rc = kg_conf_parse(&c, "users.d/x.conf", text, strlen(text), e);

	if (!rc)
		rc = kg_users_add_conf(u, &c, e);
	kg_conf_free(&c);
	return rc;
}

static void test_spa_and_sequence_records_load(void **st)
{
	struct kg_users u;
	struct kg_err e;
	struct kg_user *b;

	(void)st;
	kg_users_init(&u, 60);
	assert_int_equal(parse(&u, "[user alice]\nknock_key = " KEY_A "\n"
			       "tunnel_address = 10.88.1.10\ntunnel_address6 = fd88::10\n"
			       "spki_sha256 = " SPKI "\n"
			       "services = web, ssh\nmode = spa\n"
			       "[user bob]\nknock_key = " KEY_B "\n"
			       "tunnel_address = 10.88.1.11\nspki_sha256 = " SPKI "\n"
			       "mode = sequence\nsequence = 7001/tcp, 7002/udp, 7003/tcp\n"
			       "wg_public_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
			       &e), 0);
	assert_int_equal(u.n, 2);
	assert_int_equal(kg_users_find(&u, "alice")->n_services, 2);
	assert_int_equal(kg_users_find(&u, "alice")->tunnel6.family, AF_INET6);
	b = kg_users_find(&u, "bob");
	assert_non_null(b);
	assert_int_equal(b->mode, KG_MODE_SEQUENCE);
	assert_int_equal(b->seq_len, 3);
	assert_int_equal(b->seq[1].port, 7002);
	assert_int_equal(b->seq[1].proto, IPPROTO_UDP);
	assert_true(b->has_wg_pub);
	assert_null(kg_users_find(&u, "carol"));
	kg_users_free(&u);
}

static void expect_refused(const char *text, const char *needle)
{
	struct kg_users u;
	struct kg_err e = { { 0 } };

	kg_users_init(&u, 60);
	assert_int_equal(parse(&u, text, &e), -EINVAL);
	if (!strstr(e.msg, needle))
		fail_msg("message '%s' lacks '%s'", e.msg, needle);
	assert_int_equal(u.n, 0);
	kg_users_free(&u);
}

static void test_bad_records_are_refused_with_file_and_line(void **st)
{
	(void)st;
	expect_refused("[user alice]\nknock_key = 12\n", "users.d/x.conf:2:");
	expect_refused("[user alice]\nknock_key = " KEY_A "\ntunnel_address = nope\n"
		       "spki_sha256 = " SPKI "\n", "users.d/x.conf:3: tunnel_address");
	expect_refused("[user alice]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "spki_sha256 = " SPKI "\nmode = magic\n", "x.conf:5: mode");
	expect_refused("[user alice]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "spki_sha256 = " SPKI "\nknok_key = 1\n", "unknown key 'knok_key'");
	expect_refused("[user alice]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "spki_sha256 = " SPKI "\nmode = sequence\nsequence = 7001/sctp, 2/tcp\n"
		       "wg_public_key = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
		       "x.conf:6: sequence");
	expect_refused("[green]\nx = 1\n", "only [user NAME]");
	expect_refused("[user Alice]\nknock_key = " KEY_A "\n", "name must be");
	/* Two users may not share a key or an address: the second is refused. */
	expect_refused("[user a]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "spki_sha256 = " SPKI "\n[user b]\nknock_key = " KEY_A "\n"
		       "tunnel_address = 10.88.1.2\nspki_sha256 = " SPKI "\n",
		       "knock_key already used");
	/* the IPv6 tunnel address: IPv6 only, and one per user */
	expect_refused("[user alice]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "tunnel_address6 = 10.88.1.2\nspki_sha256 = " SPKI "\n",
		       "x.conf:4: tunnel_address6");
	expect_refused("[user a]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.1\n"
		       "tunnel_address6 = fd88::10\nspki_sha256 = " SPKI "\n[user b]\nknock_key = " KEY_B "\n"
		       "tunnel_address = 10.88.1.2\ntunnel_address6 = fd88::10\nspki_sha256 = " SPKI "\n",
		       "tunnel_address6 already used");
}

static void test_users_dir_loads_every_conf_file(void **st)
{
	char dir[] = "/tmp/kg-users-test-XXXXXX", path[128];
	struct kg_users u;
	struct kg_err e;
	FILE *f;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/alice.conf", dir);
	f = fopen(path, "w");
	fprintf(f, "[user alice]\nknock_key = " KEY_A "\ntunnel_address = 10.88.1.10\n"
		   "spki_sha256 = " SPKI "\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/README", dir);   /* ignored */
	f = fopen(path, "w");
	fprintf(f, "junk\n");
	fclose(f);
	kg_users_init(&u, 60);
	assert_int_equal(kg_users_load_dir(&u, dir, &e), 0);
	assert_int_equal(u.n, 1);
	kg_users_free(&u);
	unlink(path);
	snprintf(path, sizeof(path), "%s/alice.conf", dir);
	unlink(path);
	rmdir(dir);
	assert_true(kg_users_load_dir(&u, dir, &e) < 0);
}

static void test_lookup_by_rotating_id_finds_adjacent_slots_only(void **st)
{
	struct kg_users u;
	struct kg_err e;
	uint64_t id, slot, now = 1795000000, cur = now / 60;

	(void)st;
	kg_users_init(&u, 60);
	assert_int_equal(parse(&u, "[user alice]\nknock_key = " KEY_A "\n"
			       "tunnel_address = 10.88.1.10\nspki_sha256 = " SPKI "\n", &e), 0);
	assert_int_equal(kg_users_ids_update(&u, now, false), 0);
	for (uint64_t s = cur - 1; s <= cur + 1; s++) {
		assert_int_equal(kg_keyid_derive(u.v[0].knock_key, s, &id), 0);
		assert_non_null(kg_users_by_id(&u, id, &slot));
		assert_int_equal(slot, s);
	}
	assert_int_equal(kg_keyid_derive(u.v[0].knock_key, cur + 2, &id), 0);
	assert_null(kg_users_by_id(&u, id, &slot));
	/* A clock jump of an hour: the table follows the new slot. */
	assert_int_equal(kg_users_ids_update(&u, now + 3600, false), 0);
	assert_int_equal(kg_keyid_derive(u.v[0].knock_key, cur, &id), 0);
	assert_null(kg_users_by_id(&u, id, &slot));
	assert_int_equal(kg_keyid_derive(u.v[0].knock_key, cur + 60, &id), 0);
	assert_non_null(kg_users_by_id(&u, id, &slot));
	/* A user added after the table was built is found at once. */
	assert_int_equal(parse(&u, "[user bob]\nknock_key = " KEY_B "\n"
			       "tunnel_address = 10.88.1.11\nspki_sha256 = " SPKI "\n", &e), 0);
	assert_int_equal(kg_users_ids_update(&u, now + 3600, false), 0);
	assert_int_equal(kg_keyid_derive(u.v[1].knock_key, cur + 60, &id), 0);
	assert_non_null(kg_users_by_id(&u, id, &slot));
	/* Slot by slot (the incremental path), every id of the window is
	 * still found and the one that left is not. */
	for (uint64_t k = 1; k <= 3; k++) {
		assert_int_equal(kg_users_ids_update(&u, now + 3600 + k * 60, false), 0);
		for (uint64_t s = cur + 60 + k - 1; s <= cur + 60 + k + 1; s++) {
			for (size_t w = 0; w < 2; w++) {
				assert_int_equal(kg_keyid_derive(u.v[w].knock_key, s, &id), 0);
				assert_ptr_equal(kg_users_by_id(&u, id, &slot), &u.v[w]);
				assert_int_equal(slot, s);
			}
		}
		assert_int_equal(kg_keyid_derive(u.v[0].knock_key, cur + 60 + k - 2, &id), 0);
		assert_null(kg_users_by_id(&u, id, &slot));
	}
	kg_users_free(&u);
}

/* The name index through growth and a refused file: every user found,
 * by the record it came from; a file refused for a duplicate adds none
 * of its users, and a name never enrolled is not found. */
static void test_find_by_name_through_growth_and_refusal(void **st)
{
	struct kg_users u;
	struct kg_err e;
	char text[512], name[32];

	(void)st;
	kg_users_init(&u, 30);
	for (unsigned i = 0; i < 300; i++) {
		snprintf(text, sizeof(text),
			 "[user u%u]\nknock_key = %056x%08x\n"
			 "tunnel_address = 10.88.%u.%u\nspki_sha256 = " SPKI "\n",
			 i, 0u, i + 1, i >> 8, i & 255);
		assert_int_equal(parse(&u, text, &e), 0);
	}
	/* u5 again after a new one: the whole file is refused */
	snprintf(text, sizeof(text),
		 "[user fresh]\nknock_key = %064x\ntunnel_address = 10.89.0.1\n"
		 "spki_sha256 = " SPKI "\n[user u5]\nknock_key = %064x\n"
		 "tunnel_address = 10.89.0.2\nspki_sha256 = " SPKI "\n", 9999u, 9998u);
	assert_int_equal(parse(&u, text, &e), -EINVAL);
	assert_null(kg_users_find(&u, "fresh"));
	assert_int_equal(u.n, 300);
	for (unsigned i = 0; i < 300; i++) {
		struct kg_user *x;

		snprintf(name, sizeof(name), "u%u", i);
		assert_non_null(x = kg_users_find(&u, name));
		assert_string_equal(x->name, name);
		assert_int_equal(x->tunnel.b[3], i & 255);
	}
	assert_null(kg_users_find(&u, "u300"));
	assert_null(kg_users_find(&u, ""));
	kg_users_free(&u);
	assert_null(kg_users_find(&u, "u1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spa_and_sequence_records_load),
		cmocka_unit_test(test_find_by_name_through_growth_and_refusal),
		cmocka_unit_test(test_bad_records_are_refused_with_file_and_line),
		cmocka_unit_test(test_users_dir_loads_every_conf_file),
		cmocka_unit_test(test_lookup_by_rotating_id_finds_adjacent_slots_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
