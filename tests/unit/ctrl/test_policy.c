/* SPDX-License-Identifier: MIT */
/* Policy: services green knows, which user may use which, the answer
 * listing a user's services. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "green/policy.h"

static const char green_conf[] =
	"[green]\nid = green1\n"
	"[service web]\nred = red1\naddress = 203.0.113.2\n"
	"[service ssh]\nred = red1\naddress = 2001:db8:113::2\n"
	"[service db]\nred = red2\naddress = 203.0.113.3\n";

static const char alice_rec[] =
	"[user alice]\nknock_key = 00\nservices = web, ssh\n";

static void load(struct kg_policy *p)
{
	struct kg_conf c, u;
	struct kg_err e;

	kg_policy_init(p);
	assert_int_equal(kg_conf_parse(&c, "green.conf", green_conf,
				       strlen(green_conf), &e), 0);
	assert_int_equal(kg_policy_load_services(p, &c, &e), 0);
	assert_int_equal(kg_conf_parse(&u, "alice.conf", alice_rec,
				       strlen(alice_rec), &e), 0);
	assert_int_equal(kg_policy_load_user(p, &u, "alice", &e), 0);
	kg_conf_free(&c);
	kg_conf_free(&u);
}

static void test_services_are_loaded_with_red_and_address(void **st)
{
	struct kg_policy p;
	const struct kg_service *s;
	char a[KG_ADDR_STRLEN];

	(void)st;
	load(&p);
	assert_int_equal(p.n_svc, 3);
	s = kg_policy_service(&p, "ssh");
	assert_non_null(s);
	assert_string_equal(s->red_id, "red1");
	assert_string_equal(kg_addr_str(&s->red_addr, a), "2001:db8:113::2");
	assert_null(kg_policy_service(&p, "ftp"));
	kg_policy_free(&p);
}

static void test_user_may_use_only_listed_services(void **st)
{
	struct kg_policy p;
	const char *bob[] = { "db" };

	(void)st;
	load(&p);
	assert_true(kg_policy_allows(&p, "alice", "web"));
	assert_true(kg_policy_allows(&p, "alice", "ssh"));
	assert_false(kg_policy_allows(&p, "alice", "db"));
	assert_false(kg_policy_allows(&p, "mallory", "web"));
	assert_int_equal(kg_policy_set_user(&p, "bob", bob, 1, NULL), 0);
	assert_true(kg_policy_allows(&p, "bob", "db"));
	assert_false(kg_policy_allows(&p, "bob", "web"));
	/* a removed user may use nothing */
	assert_int_equal(kg_policy_remove_user(&p, "alice"), 0);
	assert_false(kg_policy_allows(&p, "alice", "web"));
	assert_int_equal(kg_policy_remove_user(&p, "alice"), -ENOENT);
	assert_true(kg_policy_allows(&p, "bob", "db"));
	kg_policy_free(&p);
}

static void test_user_services_answer_lists_allowed_in_config_order(void **st)
{
	struct kg_policy p;
	const char *names[8];
	const char *update[] = { "db" };
	size_t n;

	(void)st;
	load(&p);
	kg_policy_user_services(&p, "alice", names, 8, &n);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "web");
	assert_string_equal(names[1], "ssh");
	kg_policy_user_services(&p, "alice", names, 1, &n);
	assert_int_equal(n, 1);
	kg_policy_user_services(&p, "nobody", names, 8, &n);
	assert_int_equal(n, 0);
	/* a reload replaces the list */
	assert_int_equal(kg_policy_set_user(&p, "alice", update, 1, NULL), 0);
	kg_policy_user_services(&p, "alice", names, 8, &n);
	assert_int_equal(n, 1);
	assert_string_equal(names[0], "db");
	kg_policy_free(&p);
}

static void test_unknown_service_in_user_record_is_refused(void **st)
{
	struct kg_policy p;
	const char *bad[] = { "web", "wbe" };
	struct kg_err e = { "" };

	(void)st;
	load(&p);
	assert_int_equal(kg_policy_set_user(&p, "carol", bad, 2, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "wbe"));
	assert_false(kg_policy_allows(&p, "carol", "web"));
	kg_policy_free(&p);
}

static void test_bad_service_sections_are_refused(void **st)
{
	static const char *const bad[] = {
		"[service web]\nred = red1\n",                          /* no address */
		"[service web]\nred = red1\naddress = nowhere\n",
		"[service web]\nred = red1\naddress = 203.0.113.2\nport = 80\n",
		"[service Web]\nred = red1\naddress = 203.0.113.2\n",
	};

	(void)st;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kg_policy p;
		struct kg_conf c;
		struct kg_err e = { "" };

		kg_policy_init(&p);
		assert_int_equal(kg_conf_parse(&c, "g.conf", bad[i], strlen(bad[i]),
					       &e), 0);
		assert_true(kg_policy_load_services(&p, &c, &e) < 0);
		assert_true(e.msg[0] != 0);
		kg_conf_free(&c);
		kg_policy_free(&p);
	}
}

/* Thousands of users through the name index: each found with its own
 * list after the index grew, a replaced list replaces, and removals (the
 * last user moving into the hole) leave every other user findable. */
static void test_many_users_set_replace_and_remove(void **st)
{
	enum { N = 3000 };
	struct kg_policy p;
	const char *web[] = { "web" }, *db[] = { "db" };
	char name[32];

	(void)st;
	load(&p);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(kg_policy_set_user(&p, name, i % 2 ? web : db,
						    1, NULL), 0);
	}
	assert_int_equal(p.n_users, N + 1);
	/* set again: replaced in place, no second entry */
	snprintf(name, sizeof(name), "u%d", 7);
	assert_int_equal(kg_policy_set_user(&p, name, db, 1, NULL), 0);
	assert_int_equal(p.n_users, N + 1);
	assert_true(kg_policy_allows(&p, "u7", "db"));
	assert_false(kg_policy_allows(&p, "u7", "web"));
	for (int i = 0; i < N; i += 3) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(kg_policy_remove_user(&p, name), 0);
		assert_int_equal(kg_policy_remove_user(&p, name), -ENOENT);
	}
	assert_int_equal(kg_policy_remove_user(&p, "alice"), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		if (i % 3 == 0) {
			assert_false(kg_policy_allows(&p, name, "web"));
			assert_false(kg_policy_allows(&p, name, "db"));
			continue;
		}
		assert_true(kg_policy_allows(&p, name,
					     i % 2 && i != 7 ? "web" : "db"));
		assert_false(kg_policy_allows(&p, name,
					      i % 2 && i != 7 ? "db" : "web"));
	}
	assert_false(kg_policy_allows(&p, "alice", "web"));
	kg_policy_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_services_are_loaded_with_red_and_address),
		cmocka_unit_test(test_user_may_use_only_listed_services),
		cmocka_unit_test(test_user_services_answer_lists_allowed_in_config_order),
		cmocka_unit_test(test_unknown_service_in_user_record_is_refused),
		cmocka_unit_test(test_bad_service_sections_are_refused),
		cmocka_unit_test(test_many_users_set_replace_and_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
