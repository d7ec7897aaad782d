/* SPDX-License-Identifier: MIT */
/* Green's certificate cache (revoke.c): one entry an SPKI, found by
 * hash, and bounded: certificates no session's user pins are dropped,
 * those a reload would ask for are kept. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/x509.h>

#include "gate.h"
#include "revoke.h"

enum { USERS = 40, STRANGERS = 5000 };

static struct green g;
static struct green_gate gt;

/* User i's pin: 0x10 + i in its first byte, the rest fixed. */
static void pin(uint32_t i, uint8_t spki[32])
{
	memset(spki, 0x5a, 32);
	spki[0] = (uint8_t)i;
	spki[1] = (uint8_t)(i >> 8);
	spki[31] = 0x01;
}

/* A certificate no user pins (what a tunnel user's client can present:
 * any CA-valid card certificate, refused as wrong_user after). */
static void stranger(uint32_t i, uint8_t spki[32])
{
	memset(spki, 0xa5, 32);
	memcpy(spki, &i, sizeof(i));
	spki[31] = 0x02;
}

static void setup_gate(void)
{
	const struct kg_sess_limits lim = {
		.idle_timeout = 600, .max_lifetime = 28800,
		.reproof_interval = 300, .handshake_timeout = 180,
		.reproof_grace = 10,
	};
	size_t cap = (size_t)USERS * 256 + 1, len = 0;
	char *t = malloc(cap);
	struct kg_err e = { "" };
	struct kg_conf c;

	assert_non_null(t);
	memset(&gt, 0, sizeof(gt));
	g.gate = &gt;
	gt.g = &g;
	for (uint32_t i = 0; i < USERS; i++) {
		uint8_t p[32];

		pin(i, p);
		len += (size_t)snprintf(t + len, cap - len,
			"[user u%u]\nknock_key = %056x%08x\n"
			"tunnel_address = 10.0.%u.%u\nspki_sha256 = ",
			i, 0u, i + 1, (i + 2) >> 8 & 255, (i + 2) & 255);
		for (int j = 0; j < 32; j++)
			len += (size_t)snprintf(t + len, cap - len, "%02x", p[j]);
		len += (size_t)snprintf(t + len, cap - len, "\n");
	}
	kg_users_init(&gt.users, 30);
	assert_int_equal(kg_conf_parse(&c, "users.conf", t, len, &e), 0);
	assert_int_equal(kg_users_add_conf(&gt.users, &c, &e), 0);
	kg_conf_free(&c);
	free(t);
	assert_int_equal(kg_sess_init(&gt.sess, USERS, &lim, 1, NULL, NULL), 0);
	for (uint32_t i = 0; i < USERS; i++) {
		struct kg_user *us;
		char name[16];
		struct kg_addr src = { .family = AF_INET,
				       .b = { 100, 64, 0, (uint8_t)i } };
		uint8_t key[32] = { 0 };
		enum kg_knock_action a;
		struct kg_session *s, old;

		snprintf(name, sizeof(name), "u%u", i);
		us = kg_users_find(&gt.users, name);
		assert_non_null(us);
		memcpy(key, &i, sizeof(i));
		assert_int_equal(kg_sess_knock(&gt.sess, us->name, &us->tunnel,
					       key, &src, &a, &s, &old), 0);
	}
}

static void teardown_gate(void)
{
	gate_certs_free(&gt);
	kg_sess_free(&gt.sess);
	kg_users_free(&gt.users);
}

static void test_cache_keeps_what_sessions_pin_and_drops_the_rest(void **st)
{
	X509 *x = X509_new(), *y = X509_new();
	uint8_t spki[32];

	(void)st;
	assert_non_null(x);
	assert_non_null(y);
	setup_gate();
	for (uint32_t i = 0; i < USERS; i++) {
		pin(i, spki);
		gate_cert_remember(&gt, x, spki);
	}
	assert_int_equal(gt.n_certs, USERS);
	/* the same SPKI again: replaced, not added */
	pin(3, spki);
	gate_cert_remember(&gt, y, spki);
	assert_int_equal(gt.n_certs, USERS);
	assert_ptr_equal(gate_cert_find(&gt, spki), y);
	/* many certificates nobody pins: the cache stays bounded */
	for (uint32_t i = 0; i < STRANGERS; i++) {
		stranger(i, spki);
		gate_cert_remember(&gt, x, spki);
		assert_true(gt.n_certs <= 2 * USERS + 64);
		assert_ptr_equal(gate_cert_find(&gt, spki), x);
	}
	/* every pinned one is still there (what a reload judges by) */
	for (uint32_t i = 0; i < USERS; i++) {
		pin(i, spki);
		assert_ptr_equal(gate_cert_find(&gt, spki), i == 3 ? y : x);
	}
	stranger(0, spki);
	assert_null(gate_cert_find(&gt, spki));
	/* the session of u5 ends: its certificate goes at a later sweep */
	for (size_t i = 0; i < gt.sess.n; i++)
		if (strcmp(gt.sess.s[i].user, "u5") == 0) {
			assert_int_equal(kg_sess_end(&gt.sess, gt.sess.s[i].id,
						     KG_END_CLOSE, NULL), 0);
			break;
		}
	assert_int_equal(gt.sess.n, USERS - 1);
	for (uint32_t i = 0; i < 200; i++) {
		stranger(STRANGERS + i, spki);
		gate_cert_remember(&gt, x, spki);
	}
	pin(5, spki);
	assert_null(gate_cert_find(&gt, spki));
	pin(6, spki);
	assert_ptr_equal(gate_cert_find(&gt, spki), x);
	teardown_gate();
	X509_free(x);
	X509_free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_keeps_what_sessions_pin_and_drops_the_rest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
