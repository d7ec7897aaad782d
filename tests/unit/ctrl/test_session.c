/* SPDX-License-Identifier: MIT */
/* Green's session table: states, every end reason, replace and roaming
 * rules, lookups, with a clock the test moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "green/session.h"

static int64_t clock_now;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return clock_now;
}

static const struct kg_sess_limits lim = {
	.idle_timeout = 600, .max_lifetime = 3600, .reproof_interval = 300,
	.handshake_timeout = 180, .reproof_grace = 30,
};

struct fx {
	struct kg_sess_table t;
	struct kg_addr tun, src1, src2;
	uint8_t k1[32], k2[32];
	struct kg_session ended[8];
	size_t n_ended;
};

static int setup(void **st)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	clock_now = 1000000;
	assert_int_equal(kg_sess_init(&f.t, 8, &lim, 77, fake_clock, NULL), 0);
	kg_addr_parse("10.88.1.10", &f.tun);
	kg_addr_parse("198.51.100.10", &f.src1);
	kg_addr_parse("198.51.100.99", &f.src2);
	memset(f.k1, 0x11, 32);
	memset(f.k2, 0x22, 32);
	*st = &f;
	return 0;
}

static int teardown(void **st)
{
	struct fx *f = *st;

	kg_sess_free(&f->t);
	return 0;
}

static void on_end(void *ctx, const struct kg_session *s)
{
	struct fx *f = ctx;

	f->ended[f->n_ended++] = *s;
}

static struct kg_session *knock(struct fx *f, const uint8_t *key,
				const struct kg_addr *src,
				enum kg_knock_action want, struct kg_session *old)
{
	enum kg_knock_action a;
	struct kg_session *s, dummy;

	assert_int_equal(kg_sess_knock(&f->t, "alice", &f->tun, key, src, &a, &s,
				       old ? old : &dummy), 0);
	assert_string_equal(kg_knock_action_name(a), kg_knock_action_name(want));
	return s;
}

static uint64_t live_session(struct fx *f)
{
	struct kg_session *s = knock(f, f->k1, &f->src1, KG_KNOCK_NEW, NULL);
	uint64_t id = s->id;

	assert_int_equal(kg_sess_prove(&f->t, id), 0);
	return id;
}

static void expect_end(struct fx *f, int64_t at, enum kg_sess_end why)
{
	clock_now = at - 1;
	assert_int_equal(kg_sess_expire(&f->t, on_end, f), 0);
	clock_now = at;
	assert_int_equal(kg_sess_expire(&f->t, on_end, f), 1);
	assert_int_equal(f->n_ended, 1);
	assert_string_equal(kg_sess_end_name(f->ended[0].end),
			    kg_sess_end_name(why));
	assert_int_equal(f->t.n, 0);
}

static void test_knock_makes_pending_and_proof_makes_live(void **st)
{
	struct fx *f = *st;
	struct kg_session *s = knock(f, f->k1, &f->src1, KG_KNOCK_NEW, NULL);
	uint64_t id = s->id;

	assert_int_equal(s->state, KG_SESS_PENDING);
	assert_true(id != 0);
	assert_ptr_equal(kg_sess_by_tunnel(&f->t, &f->tun), s);
	assert_ptr_equal(kg_sess_by_key(&f->t, f->k1), s);
	assert_ptr_equal(kg_sess_by_id(&f->t, id), s);
	assert_int_equal(kg_sess_prove(&f->t, id), 0);
	assert_int_equal(s->state, KG_SESS_LIVE);
	assert_int_equal(kg_sess_prove(&f->t, id), -EALREADY);
	assert_int_equal(kg_sess_prove(&f->t, id + 1000), -ENOENT);
	assert_true(s->reproof_due == clock_now + 300);
}

static void test_pending_without_proof_ends_auth_timeout(void **st)
{
	struct fx *f = *st;

	knock(f, f->k1, &f->src1, KG_KNOCK_NEW, NULL);
	expect_end(f, clock_now + 180, KG_END_AUTH_TIMEOUT);
}

static void test_live_ends_at_lifetime(void **st)
{
	struct fx *f = *st;
	uint64_t id = live_session(f);
	int64_t t0 = clock_now;

	/* active all along, reproofs answered: only the lifetime ends it */
	for (int64_t t = t0 + 100; t < t0 + 3600; t += 100) {
		clock_now = t;
		kg_sess_touch(&f->t, id);
		kg_sess_reproved(&f->t, id);
		assert_int_equal(kg_sess_expire(&f->t, on_end, f), 0);
	}
	expect_end(f, t0 + 3600, KG_END_LIFETIME);
}

static void test_live_ends_idle_without_activity(void **st)
{
	struct fx *f = *st;
	uint64_t id = live_session(f);
	int64_t t0 = clock_now;

	/* reproofs and handshakes keep the peer heard, not active */
	for (int64_t t = t0 + 100; t < t0 + 600; t += 100) {
		clock_now = t;
		kg_sess_reproved(&f->t, id);
		kg_sess_observe_peer(&f->t, f->k1, t, 0);
	}
	expect_end(f, t0 + 600, KG_END_IDLE);
}

static void test_traffic_counter_is_activity(void **st)
{
	struct fx *f = *st;
	uint64_t id = live_session(f);
	int64_t t0 = clock_now;

	for (int64_t t = t0 + 100; t < t0 + 1000; t += 100) {
		clock_now = t;
		kg_sess_reproved(&f->t, id);
		kg_sess_observe_peer(&f->t, f->k1, t, (uint64_t)t);
		assert_int_equal(kg_sess_expire(&f->t, on_end, f), 0);
	}
}

static void test_live_ends_peer_silent(void **st)
{
	struct fx *f = *st;

	live_session(f);
	expect_end(f, clock_now + 180, KG_END_PEER_SILENT);
}

static void test_missed_reproof_ends_session(void **st)
{
	struct fx *f = *st;
	uint64_t id = live_session(f);
	int64_t t0 = clock_now;

	for (int64_t t = t0 + 60; t <= t0 + 300; t += 60) {
		clock_now = t;
		kg_sess_touch(&f->t, id);
	}
	expect_end(f, t0 + 300 + 30, KG_END_REPROOF_MISSED);
}

static void test_close_revoked_removed_end_reasons(void **st)
{
	struct fx *f = *st;
	struct kg_session out;
	uint64_t id = live_session(f);

	assert_int_equal(kg_sess_end(&f->t, id, KG_END_CLOSE, &out), 0);
	assert_string_equal(kg_sess_end_name(out.end), "close");
	assert_int_equal(kg_sess_end(&f->t, id, KG_END_CLOSE, &out), -ENOENT);

	live_session(f);
	assert_int_equal(kg_sess_end_user(&f->t, "alice", KG_END_REVOKED, on_end, f), 1);
	assert_string_equal(kg_sess_end_name(f->ended[0].end), "revoked");
	live_session(f);
	assert_int_equal(kg_sess_end_user(&f->t, "bob", KG_END_REMOVED, on_end, f), 0);
	assert_int_equal(kg_sess_end_user(&f->t, "alice", KG_END_REMOVED, on_end, f), 1);
	assert_string_equal(kg_sess_end_name(f->ended[1].end), "removed");
	assert_int_equal(f->t.n, 0);
}

static void test_knock_replaces_pending_peer(void **st)
{
	struct fx *f = *st;
	struct kg_session old, *s;
	uint64_t first = knock(f, f->k1, &f->src1, KG_KNOCK_NEW, NULL)->id;

	s = knock(f, f->k2, &f->src2, KG_KNOCK_REPLACED, &old);
	assert_true(old.id == first);
	assert_string_equal(kg_sess_end_name(old.end), "replaced");
	assert_memory_equal(old.peer_key, f->k1, 32);
	assert_memory_equal(s->peer_key, f->k2, 32);
	assert_null(kg_sess_by_key(&f->t, f->k1));
	assert_int_equal(f->t.n, 1);
}

static void test_knock_never_replaces_live_peer(void **st)
{
	struct fx *f = *st;
	enum kg_knock_action a;
	struct kg_session *s, old;
	uint64_t id = live_session(f);

	clock_now += 599;   /* silent, but not past the idle timeout */
	assert_int_equal(kg_sess_knock(&f->t, "alice", &f->tun, f->k2, &f->src2,
				       &a, &s, &old), 0);
	assert_int_equal(a, KG_KNOCK_REFUSED);
	assert_null(s);
	assert_non_null(kg_sess_by_id(&f->t, id));
	assert_memory_equal(kg_sess_by_id(&f->t, id)->peer_key, f->k1, 32);
}

static void test_knock_replaces_live_peer_silent_past_idle(void **st)
{
	struct fx *f = *st;
	struct kg_session old;
	uint64_t id = live_session(f);

	clock_now += 601;
	knock(f, f->k2, &f->src2, KG_KNOCK_REPLACED, &old);
	assert_true(old.id == id);
	assert_string_equal(kg_sess_end_name(old.end), "peer_silent");
	assert_null(kg_sess_by_id(&f->t, id));
}

static void test_live_key_from_new_source_adds_source(void **st)
{
	struct fx *f = *st;
	uint64_t id = live_session(f);
	struct kg_session *s;

	s = knock(f, f->k1, &f->src2, KG_KNOCK_ADD_SOURCE, NULL);
	assert_true(s->id == id);
	assert_int_equal(s->state, KG_SESS_LIVE);
	assert_int_equal(s->n_src, 2);
	assert_true(kg_sess_src_in_use(&f->t, &f->src2, 0, 0));
	assert_false(kg_sess_src_in_use(&f->t, &f->src2, 0, id));
	knock(f, f->k1, &f->src2, KG_KNOCK_SAME, NULL);
	assert_int_equal(s->n_src, 2);
}

/* The kernel's wg_seen set, as the test sets it. */
static bool seen[256];

static bool fake_seen(void *ctx, const struct kg_addr *src)
{
	(void)ctx;
	return seen[src->b[3]];
}

static void src_n(struct kg_addr *a, int n)
{
	char s[32];

	snprintf(s, sizeof(s), "203.0.113.%d", n);
	kg_addr_parse(s, a);
}

/* A key thief knocking from new places: the real user's source is still
 * sending, the slots are young or busy: refused, nothing pushed out. A
 * slot is freed only for a source that held it a lease and went silent. */
static void test_full_sources_freed_only_when_silent_for_a_lease(void **st)
{
	struct fx *f = *st;
	struct kg_session *s, old;
	enum kg_knock_action a;
	struct kg_addr x;
	uint64_t id = live_session(f);   /* src1 = 198.51.100.10, seen */

	memset(seen, 0, sizeof(seen));
	seen[10] = true;
	kg_sess_set_src_seen(&f->t, fake_seen, NULL);
	for (int i = 1; i <= 3; i++) {
		src_n(&x, i);
		knock(f, f->k1, &x, KG_KNOCK_ADD_SOURCE, NULL);
	}
	/* full; all young */
	src_n(&x, 4);
	assert_int_equal(kg_sess_knock(&f->t, "alice", &f->tun, f->k1, &x, &a,
				       &s, &old), -EBUSY);
	/* a lease later the thief's sources never sent WireGuard, but the
	 * real user's did: the oldest silent one (203.0.113.1) goes */
	clock_now += 180;
	kg_sess_touch(&f->t, id);
	s = knock(f, f->k1, &x, KG_KNOCK_MOVE_SOURCE, &old);
	assert_true(old.id == id);
	assert_int_equal(old.src[0].b[3], 1);
	assert_int_equal(s->n_src, 4);
	assert_true(kg_addr_eq(&s->src[0], &f->src1));
	assert_true(kg_addr_eq(&s->src[3], &x));
	/* every slot busy or young again once the silent ones are used up */
	seen[2] = seen[3] = true;
	src_n(&x, 5);
	assert_int_equal(kg_sess_knock(&f->t, "alice", &f->tun, f->k1, &x, &a,
				       &s, &old), -EBUSY);
	s = kg_sess_by_id(&f->t, id);
	assert_true(kg_addr_eq(&s->src[0], &f->src1));
	/* the real user's source, silent for a lease (it moved away) */
	seen[10] = false;
	s = knock(f, f->k1, &x, KG_KNOCK_MOVE_SOURCE, &old);
	assert_true(kg_addr_eq(&old.src[0], &f->src1));
	kg_sess_set_src_seen(&f->t, NULL, NULL);
}

/* WireGuard stamps handshakes with the wall clock: a step back or forward
 * of that clock must neither keep a silent peer alive nor end a heard
 * one. Only a change of the stamp counts, at the table's own clock. */
static void test_handshake_stamp_is_a_change_not_a_time(void **st)
{
	struct fx *f = *st;
	int64_t t0;

	live_session(f);
	t0 = clock_now;
	/* stamp far in the future (wall clock stepped forward), then silence */
	kg_sess_observe_peer(&f->t, f->k1, t0 + 86400, 0);
	clock_now = t0 + 100;
	kg_sess_observe_peer(&f->t, f->k1, t0 + 86400, 0);   /* unchanged */
	/* a new handshake stamped in the past (wall clock stepped back) */
	clock_now = t0 + 140;
	kg_sess_observe_peer(&f->t, f->k1, t0 - 3600, 0);
	/* heard at t0 + 140: peer silence at t0 + 140 + 180, not earlier, and
	 * not pushed to t0 + 86400 either */
	expect_end(f, t0 + 140 + 180, KG_END_PEER_SILENT);
}

static void test_table_full_and_bad_user_refused(void **st)
{
	struct fx *f = *st;
	enum kg_knock_action a;
	struct kg_session *s, old;
	char addr[32];

	for (int i = 0; i < 8; i++) {
		struct kg_addr tun;
		uint8_t k[32];

		snprintf(addr, sizeof(addr), "10.88.2.%d", i + 1);
		kg_addr_parse(addr, &tun);
		memset(k, 0x40 + i, 32);
		assert_int_equal(kg_sess_knock(&f->t, "bob", &tun, k, &f->src1,
					       &a, &s, &old), 0);
	}
	assert_int_equal(kg_sess_knock(&f->t, "alice", &f->tun, f->k1, &f->src1,
				       &a, &s, &old), -ENOSPC);
	assert_int_equal(kg_sess_knock(&f->t, "", &f->tun, f->k1, &f->src1, &a,
				       &s, &old), -EINVAL);
	assert_true(kg_sess_next_deadline(&f->t) == 180);
}

static void test_session_conf_defaults_and_refusals(void **st)
{
	static const char good[] = "[session]\nidle_timeout = 900\nio_timeout = 5\n";
	static const char typo[] = "[session]\nreproof_intervall = 60\n";
	static const char range[] = "[session]\n\nhandshake_timeout = 100\n";
	struct kg_session_conf sc;
	struct kg_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(kg_conf_parse(&c, "green.conf", "", 0, &e), 0);
	assert_int_equal(kg_session_conf_read(&c, &sc, &e), 0);
	assert_int_equal(sc.lim.idle_timeout, 600);
	assert_int_equal(sc.lim.max_lifetime, 28800);
	assert_int_equal(sc.lim.reproof_interval, 300);
	assert_int_equal(sc.lim.handshake_timeout, 180);
	assert_int_equal(sc.control_port, 4433);
	assert_int_equal(sc.max_clients, 256);
	assert_int_equal(sc.io_timeout, 10);
	kg_conf_free(&c);

	assert_int_equal(kg_conf_parse(&c, "green.conf", good, strlen(good), &e), 0);
	assert_int_equal(kg_session_conf_read(&c, &sc, &e), 0);
	assert_int_equal(sc.lim.idle_timeout, 900);
	assert_int_equal(sc.lim.reproof_grace, 5);
	kg_conf_free(&c);

	assert_int_equal(kg_conf_parse(&c, "green.conf", typo, strlen(typo), &e), 0);
	assert_int_equal(kg_session_conf_read(&c, &sc, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green.conf:2"));
	assert_non_null(strstr(e.msg, "reproof_intervall"));
	kg_conf_free(&c);

	assert_int_equal(kg_conf_parse(&c, "green.conf", range, strlen(range), &e), 0);
	assert_int_equal(kg_session_conf_read(&c, &sc, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "green.conf:3"));
	kg_conf_free(&c);
}

static size_t count_user(const struct kg_sess_table *t, const char *user)
{
	size_t n = 0;

	for (size_t i = 0; i < t->n; i++)
		n += strcmp(t->s[i].user, user) == 0;
	return n;
}

/* The per-user chains through the table's moves: sessions of five users
 * opened and ended in a scrambled order (every end moves the last session
 * into the hole), then each user's sessions ended by name, exactly those,
 * and a name nobody has ends nothing. */
static void test_end_user_follows_the_user_index_through_moves(void **st)
{
	static const char *const users[] = { "u0", "u1", "u2", "u3", "u4" };
	struct kg_sess_table t;
	uint64_t ids[200];
	size_t n = 0;
	uint32_t x = 12345;

	(void)st;
	clock_now = 1000000;
	assert_int_equal(kg_sess_init(&t, 200, &lim, 5, fake_clock, NULL), 0);
	for (uint32_t i = 0; i < 200; i++) {
		struct kg_addr tun = { .family = AF_INET, .b = { 10, 88, (uint8_t)(i >> 8), (uint8_t)i } };
		struct kg_addr src = { .family = AF_INET, .b = { 198, 51, 100, (uint8_t)i } };
		uint8_t key[32] = { (uint8_t)i, (uint8_t)(i >> 8), 1 };
		enum kg_knock_action a;
		struct kg_session *s, old;

		assert_int_equal(kg_sess_knock(&t, users[(i * 7) % 5], &tun, key,
					       &src, &a, &s, &old), 0);
		ids[n++] = s->id;
		/* now and then end a random earlier one */
		x = x * 1103515245u + 12345u;
		if (i % 3 == 2) {
			size_t k = (x >> 8) % n;

			assert_int_equal(kg_sess_end(&t, ids[k], KG_END_CLOSE, NULL), 0);
			ids[k] = ids[--n];
		}
	}
	for (size_t u = 0; u < 5; u++) {
		size_t want = count_user(&t, users[u]), left = t.n;

		assert_true(want > 0);
		assert_int_equal(kg_sess_end_user(&t, users[u], KG_END_REVOKED,
						  NULL, NULL), want);
		assert_int_equal(count_user(&t, users[u]), 0);
		assert_int_equal(t.n, left - want);
		assert_int_equal(kg_sess_end_user(&t, "nobody", KG_END_REVOKED,
						  NULL, NULL), 0);
	}
	assert_int_equal(t.n, 0);
	kg_sess_free(&t);
}

/* Shard hook as green's: the tunnel address's block (here: the last
 * byte's top bit, two shards). */
static unsigned two_shards(void *ctx, const struct kg_addr *tun)
{
	(void)ctx;
	return tun->b[3] >= 128 ? 1 : 0;
}

static struct kg_session *knock_as(struct fx *f, const char *user,
				   const char *tun, uint8_t keybyte,
				   const struct kg_addr *src)
{
	enum kg_knock_action a;
	struct kg_session *s, old;
	struct kg_addr t;
	uint8_t key[32];

	memset(key, keybyte, 32);
	assert_int_equal(kg_addr_parse(tun, &t), 0);
	assert_int_equal(kg_sess_knock(&f->t, user, &t, key, src, &a, &s, &old), 0);
	assert_int_equal(a, KG_KNOCK_NEW);
	return s;
}

/* Two users behind one NAT address on two shards each hold their own
 * opening (source . their shard's port): ending one must not close the
 * other's, and a second user on the same shard keeps it open. */
static void test_source_in_use_is_per_shard(void **st)
{
	struct fx *f = *st;
	uint64_t alice, bob, carol;
	struct kg_session gone;
	struct kg_addr key;

	kg_sess_set_shard(&f->t, two_shards, NULL);
	alice = knock_as(f, "alice", "10.88.1.10", 0x11, &f->src1)->id;
	bob = knock_as(f, "bob", "10.88.1.200", 0x22, &f->src1)->id;
	assert_int_equal(kg_sess_by_id(&f->t, alice)->shard, 0);
	assert_int_equal(kg_sess_by_id(&f->t, bob)->shard, 1);
	/* each is the only one on its shard */
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 0, alice));
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 1, bob));
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 0, bob));
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 1, alice));
	/* carol on alice's shard from the same address */
	carol = knock_as(f, "carol", "10.88.1.11", 0x33, &f->src1)->id;
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 0, alice));
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 0, carol));
	/* bob ends: shard 1's opening goes, shard 0's stays */
	assert_int_equal(kg_sess_end(&f->t, bob, KG_END_CLOSE, &gone), 0);
	assert_int_equal(gone.shard, 1);
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 1, 0));
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 0, 0));
	/* the ban key counts every shard's use */
	kg_addr_ban_key(&f->src1, &key);
	assert_true(kg_sess_ban_key_in_use(&f->t, &key));
	assert_int_equal(kg_sess_end(&f->t, alice, KG_END_CLOSE, NULL), 0);
	assert_true(kg_sess_src_in_use(&f->t, &f->src1, 0, 0));
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 0, carol));
	assert_int_equal(kg_sess_end(&f->t, carol, KG_END_CLOSE, NULL), 0);
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 0, 0));
	assert_false(kg_sess_ban_key_in_use(&f->t, &key));
}

/* A roaming session's freed source is reported with its shard, so the
 * caller closes the opening on the right port. */
static void test_moved_source_keeps_the_shard(void **st)
{
	struct fx *f = *st;
	struct kg_session *s, old;
	enum kg_knock_action a;
	struct kg_addr tun, src;
	uint8_t key[32];
	char buf[32];
	uint64_t id;

	kg_sess_set_shard(&f->t, two_shards, NULL);
	memset(key, 0x44, 32);
	kg_addr_parse("10.88.1.222", &tun);
	assert_int_equal(kg_sess_knock(&f->t, "dave", &tun, key, &f->src1, &a, &s,
				       &old), 0);
	id = s->id;
	assert_int_equal(kg_sess_prove(&f->t, id), 0);
	for (int i = 2; i <= KG_SESS_MAX_SRC; i++) {
		snprintf(buf, sizeof(buf), "198.51.100.%d", 100 + i);
		kg_addr_parse(buf, &src);
		assert_int_equal(kg_sess_knock(&f->t, "dave", &tun, key, &src, &a,
					       &s, &old), 0);
	}
	clock_now += 2 * 180;   /* every slot silent for a lease (no hook) */
	assert_int_equal(kg_sess_knock(&f->t, "dave", &tun, key, &f->src2, &a, &s,
				       &old), 0);
	assert_int_equal(a, KG_KNOCK_MOVE_SOURCE);
	assert_true(kg_addr_eq(&old.src[0], &f->src1));
	assert_int_equal(old.shard, 1);
	assert_false(kg_sess_src_in_use(&f->t, &f->src1, 1, 0));
	assert_true(kg_sess_src_in_use(&f->t, &f->src2, 1, 0));
	assert_false(kg_sess_src_in_use(&f->t, &f->src2, 0, 0));
}

int main(void)
{
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_knock_makes_pending_and_proof_makes_live),
		T(test_pending_without_proof_ends_auth_timeout),
		T(test_live_ends_at_lifetime),
		T(test_live_ends_idle_without_activity),
		T(test_traffic_counter_is_activity),
		T(test_live_ends_peer_silent),
		T(test_missed_reproof_ends_session),
		T(test_close_revoked_removed_end_reasons),
		T(test_knock_replaces_pending_peer),
		T(test_knock_never_replaces_live_peer),
		T(test_knock_replaces_live_peer_silent_past_idle),
		T(test_live_key_from_new_source_adds_source),
		T(test_table_full_and_bad_user_refused),
		T(test_full_sources_freed_only_when_silent_for_a_lease),
		T(test_handshake_stamp_is_a_change_not_a_time),
		T(test_source_in_use_is_per_shard),
		T(test_moved_source_keeps_the_shard),
		cmocka_unit_test(test_session_conf_defaults_and_refusals),
		cmocka_unit_test(test_end_user_follows_the_user_index_through_moves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
