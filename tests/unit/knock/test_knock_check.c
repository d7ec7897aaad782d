/* SPDX-License-Identifier: MIT */
/*
 * First knock: the encoder and decoder agree with the docs/protocol.md
 * vector; every field corrupted in turn is refused with its own reason;
 * time, replay and ordering rules; and the cost rule (no AEAD for unknown
 * ids, at most one per packet, whatever the number of users).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keyid.h"
#include "lib/knock.h"
#include "lib/replay.h"
#include "lib/time.h"
#include "green/knock_check.h"
#include "knock_vectors.h"

struct fx {
	struct kg_users users;
	struct kg_rcache *rc;
	struct kg_knock_checker k;
	uint8_t key[32], gpub[32], cpub[32], nonce[12];
};

static void add_user(struct kg_users *u, const char *name,
		     const uint8_t key[32], const char *addr, const char *mode)
{
	char hex[65], text[512];
	struct kg_conf c;
	struct kg_err e;

	kg_hex_encode(key, 32, hex);
	snprintf(text, sizeof(text),
		 "[user %s]\nknock_key = %s\ntunnel_address = %s\n"
		 "spki_sha256 = %064d\nservices = web\n%s", name, hex, addr, 0,
		 mode);
	assert_int_equal(kg_conf_parse(&c, "t.conf", text, strlen(text), &e), 0);
	if (kg_users_add_conf(u, &c, &e))
		fail_msg("%s", e.msg);
	kg_conf_free(&c);
}

static struct fx *fx_new(size_t cache, size_t extra_users)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	vec_inputs(f->key, f->gpub, f->cpub, f->nonce);
	kg_users_init(&f->users, VEC_SLOT_S);
	add_user(&f->users, "alice", f->key, "10.88.1.10", "");
	for (size_t i = 0; i < extra_users; i++) {
		uint8_t k[32];
		char name[32], addr[32];

		memset(k, 0, sizeof(k));
		memcpy(k, &i, sizeof(i));
		k[31] = 0x55;
		snprintf(name, sizeof(name), "u%zu", i);
		snprintf(addr, sizeof(addr), "10.%zu.%zu.%zu", 100 + i / 65536,
			 (i / 256) % 256, i % 256);
		add_user(&f->users, name, k, addr, "");
	}
	assert_int_equal(kg_rcache_new(cache, KG_RCACHE_KEY_LEN, &f->rc), 0);
	assert_int_equal(kg_knock_checker_init(&f->k, f->gpub, 30,
					       VEC_TS_MS - 5000, &f->users,
					       f->rc), 0);
	return f;
}

static void fx_free(struct fx *f)
{
	kg_users_free(&f->users);
	kg_rcache_free(f->rc);
	free(f);
}

static enum kg_knock_reason check_at(struct fx *f, const uint8_t *p,
				     size_t n, uint64_t now)
{
	struct kg_knock_decision d;

	return kg_knock_check(&f->k, p, n, now, &d);
}

static void knock_at(struct fx *f, uint64_t ts, uint8_t nonce_byte,
		     uint8_t out[KG_KNOCK_LEN])
{
	uint64_t id;

	f->nonce[0] = nonce_byte;
	assert_int_equal(kg_keyid_derive(f->key, ts / 1000 / VEC_SLOT_S, &id), 0);
	assert_int_equal(kg_knock_encode(f->key, id, ts, f->nonce, f->gpub,
					 f->cpub, out), 0);
}

static void test_encoder_matches_protocol_vector(void **st)
{
	uint8_t key[32], g[32], c[32], n[12], out[KG_KNOCK_LEN], back[32];
	struct kg_knock k;
	uint64_t id;

	(void)st;
	vec_inputs(key, g, c, n);
	assert_int_equal(kg_keyid_derive(key, VEC_TS_MS / 1000 / VEC_SLOT_S, &id), 0);
	assert_int_equal(id, VEC_KEY_ID);
	assert_int_equal(kg_knock_encode(key, id, VEC_TS_MS, n, g, c, out), 0);
	assert_int_equal(sizeof(vec_knock), KG_KNOCK_LEN);
	assert_memory_equal(out, vec_knock, KG_KNOCK_LEN);
	assert_int_equal(kg_knock_parse(vec_knock, sizeof(vec_knock), &k), 0);
	assert_int_equal(k.version, 1);
	assert_int_equal(k.key_id, VEC_KEY_ID);
	assert_int_equal(k.ts_ms, VEC_TS_MS);
	assert_memory_equal(k.nonce, n, 12);
	assert_int_equal(kg_knock_open(&k, key, g, back), 0);
	assert_memory_equal(back, c, 32);
	/* The AD names the green: another green's key does not open it. */
	g[0] ^= 1;
	assert_int_equal(kg_knock_open(&k, key, g, back), -EBADMSG);
}

static void test_decoder_accepts_protocol_vector(void **st)
{
	struct fx *f = fx_new(16, 0);
	struct kg_knock_decision d;

	(void)st;
	assert_int_equal(kg_knock_check(&f->k, vec_knock, sizeof(vec_knock),
					 VEC_TS_MS + 200, &d), KG_KNOCK_ACCEPTED);
	assert_string_equal(d.user->name, "alice");
	assert_memory_equal(d.client_pub, f->cpub, 32);
	assert_int_equal(f->users.v[0].last_ts_ms, VEC_TS_MS);
	fx_free(f);
}

static void test_every_corrupted_field_is_refused_with_its_reason(void **st)
{
	static const struct {
		size_t from, to;
		enum kg_knock_reason r;
	} fields[] = {
		{ 0, 1, KG_KNOCK_BAD_VERSION },    /* version */
		{ 1, 5, KG_KNOCK_WRONG_GREEN },    /* green hint */
		{ 5, 13, KG_KNOCK_UNKNOWN_ID },    /* key id */
		{ 13, 21, KG_KNOCK_BAD_TAG },      /* timestamp (authenticated) */
		{ 21, 33, KG_KNOCK_BAD_TAG },      /* nonce */
		{ 33, 65, KG_KNOCK_BAD_TAG },      /* sealed WireGuard key */
		{ 65, 81, KG_KNOCK_BAD_TAG },      /* tag */
	};
	struct fx *f = fx_new(16, 0);
	uint8_t p[KG_KNOCK_LEN + 1];

	(void)st;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (size_t b = fields[i].from; b < fields[i].to; b++) {
			for (int bit = 0; bit < 8; bit += 7) {
				memcpy(p, vec_knock, KG_KNOCK_LEN);
				p[b] ^= (uint8_t)(1u << bit);
				if (check_at(f, p, KG_KNOCK_LEN, VEC_TS_MS) != fields[i].r)
					fail_msg("byte %zu bit %d: got %s, want %s", b, bit,
						 kg_knock_reason_name(check_at(f, p, KG_KNOCK_LEN, VEC_TS_MS)),
						 kg_knock_reason_name(fields[i].r));
			}
		}
	}
	memcpy(p, vec_knock, KG_KNOCK_LEN);
	assert_int_equal(check_at(f, p, KG_KNOCK_LEN - 1, VEC_TS_MS), KG_KNOCK_MALFORMED);
	assert_int_equal(check_at(f, p, KG_KNOCK_LEN + 1, VEC_TS_MS), KG_KNOCK_MALFORMED);
	assert_int_equal(check_at(f, p, 0, VEC_TS_MS), KG_KNOCK_MALFORMED);
	/* None of those was accepted, so the genuine knock still is. */
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS), KG_KNOCK_ACCEPTED);
	fx_free(f);
}

static void test_replayed_knock_is_refused_as_duplicate(void **st)
{
	struct fx *f = fx_new(16, 0);

	(void)st;
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS), KG_KNOCK_ACCEPTED);
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS + 1000),
			 KG_KNOCK_DUPLICATE);
	assert_false(kg_knock_reason_counts_for_ban(KG_KNOCK_DUPLICATE));
	fx_free(f);
}

static void test_knock_outside_window_is_stale_and_bans_no_one(void **st)
{
	struct fx *f = fx_new(16, 0);

	(void)st;
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS + 30001),
			 KG_KNOCK_STALE);
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS - 30001),
			 KG_KNOCK_STALE);
	assert_false(kg_knock_reason_counts_for_ban(KG_KNOCK_STALE));
	assert_true(kg_knock_reason_counts_for_ban(KG_KNOCK_BAD_TAG));
	/* a knock for the other green of a pair is a user's, not a scan */
	assert_false(kg_knock_reason_counts_for_ban(KG_KNOCK_WRONG_GREEN));
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS + 30000),
			 KG_KNOCK_ACCEPTED);
	fx_free(f);
}

static void test_knock_stamped_before_start_is_refused(void **st)
{
	struct fx *f = fx_new(16, 0);

	(void)st;
	f->k.start_ms = VEC_TS_MS + 1;   /* green restarted after the knock */
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS + 2),
			 KG_KNOCK_BEFORE_START);
	fx_free(f);
}

/* Green started 5 s ago (monotonic); then its wall clock steps. Back an
 * hour: a fresh knock, stamped by a client with the same (stepped) clock,
 * is not "before start". Forward an hour: a knock stamped 6 s before now
 * is from before the start in the new frame, and is refused. */
static void test_before_start_follows_a_wall_clock_step(void **st)
{
	struct fx *f = fx_new(16, 0);
	uint8_t p[KG_KNOCK_LEN];
	uint64_t back = VEC_TS_MS - 3600000, fwd = VEC_TS_MS + 3600000;

	(void)st;
	f->k.start_ms = VEC_TS_MS - 5000;
	f->k.start_mono_ms = kg_mono_ms() - 5000;
	knock_at(f, back, 1, p);
	assert_int_equal(check_at(f, p, sizeof(p), back), KG_KNOCK_ACCEPTED);
	knock_at(f, fwd - 6000, 2, p);
	assert_int_equal(check_at(f, p, sizeof(p), fwd), KG_KNOCK_BEFORE_START);
	knock_at(f, fwd - 4000, 3, p);
	assert_int_equal(check_at(f, p, sizeof(p), fwd), KG_KNOCK_ACCEPTED);
	fx_free(f);
}

static void test_older_than_last_accepted_is_superseded(void **st)
{
	struct fx *f = fx_new(16, 0);
	uint8_t a[KG_KNOCK_LEN], b[KG_KNOCK_LEN];

	(void)st;
	knock_at(f, VEC_TS_MS, 1, a);
	knock_at(f, VEC_TS_MS - 10, 2, b);
	assert_int_equal(check_at(f, a, sizeof(a), VEC_TS_MS), KG_KNOCK_ACCEPTED);
	assert_int_equal(check_at(f, b, sizeof(b), VEC_TS_MS), KG_KNOCK_SUPERSEDED);
	knock_at(f, VEC_TS_MS, 3, b);   /* same millisecond: not after */
	assert_int_equal(check_at(f, b, sizeof(b), VEC_TS_MS), KG_KNOCK_SUPERSEDED);
	knock_at(f, VEC_TS_MS + 1, 4, b);
	assert_int_equal(check_at(f, b, sizeof(b), VEC_TS_MS), KG_KNOCK_ACCEPTED);
	fx_free(f);
}

static void test_full_replay_cache_refuses_instead_of_evicting(void **st)
{
	struct fx *f = fx_new(1, 0);
	uint8_t a[KG_KNOCK_LEN], b[KG_KNOCK_LEN];

	(void)st;
	knock_at(f, VEC_TS_MS, 1, a);
	knock_at(f, VEC_TS_MS + 1, 2, b);
	assert_int_equal(check_at(f, a, sizeof(a), VEC_TS_MS), KG_KNOCK_ACCEPTED);
	assert_int_equal(check_at(f, b, sizeof(b), VEC_TS_MS), KG_KNOCK_REPLAY_CACHE_FULL);
	/* a is still remembered, so its replay is still caught. */
	assert_int_equal(check_at(f, a, sizeof(a), VEC_TS_MS + 5), KG_KNOCK_DUPLICATE);
	/* Once a has left the window its entry is reclaimed. */
	knock_at(f, VEC_TS_MS + 31000, 3, b);
	assert_int_equal(check_at(f, b, sizeof(b), VEC_TS_MS + 31000), KG_KNOCK_ACCEPTED);
	fx_free(f);
}

/* A stolen knock key, knocking as fast as it likes: it fills only its
 * user's share of the cache; another user still gets in, and replays of
 * the thief's knocks are still caught. */
static void test_one_key_cannot_fill_the_cache_for_everyone(void **st)
{
	struct fx *f = fx_new(1024, 1);
	uint8_t p[KG_KNOCK_LEN], other[32];
	uint64_t id, ts = VEC_TS_MS;
	int i;

	(void)st;
	for (i = 0; i < KG_KNOCK_REPLAY_SHARE; i++) {
		knock_at(f, ts + (uint64_t)i, (uint8_t)i, p);
		assert_int_equal(check_at(f, p, sizeof(p), ts), KG_KNOCK_ACCEPTED);
	}
	knock_at(f, ts + (uint64_t)i, (uint8_t)i, p);
	assert_int_equal(check_at(f, p, sizeof(p), ts), KG_KNOCK_REPLAY_SHARE_FULL);
	assert_string_equal(kg_knock_reason_name(KG_KNOCK_REPLAY_SHARE_FULL),
			    "replay_share_full");
	assert_false(kg_knock_reason_counts_for_ban(KG_KNOCK_REPLAY_SHARE_FULL));
	assert_int_equal(kg_rcache_count(f->rc), KG_KNOCK_REPLAY_SHARE);
	/* the first knock, replayed: still a duplicate, not a share refusal */
	knock_at(f, ts, 0, p);
	assert_int_equal(check_at(f, p, sizeof(p), ts + 1), KG_KNOCK_DUPLICATE);
	/* user u0 (fx_new's extra user) is not affected */
	memset(other, 0, sizeof(other));
	other[31] = 0x55;
	assert_int_equal(kg_keyid_derive(other, ts / 1000 / VEC_SLOT_S, &id), 0);
	f->nonce[0] = 0xee;
	assert_int_equal(kg_knock_encode(other, id, ts, f->nonce, f->gpub,
					 f->cpub, p), 0);
	assert_int_equal(check_at(f, p, sizeof(p), ts), KG_KNOCK_ACCEPTED);
	/* once the thief's knocks leave the window, the share is free again */
	knock_at(f, ts + 62000, 0x77, p);
	assert_int_equal(check_at(f, p, sizeof(p), ts + 62000), KG_KNOCK_ACCEPTED);
	fx_free(f);
}

static void test_id_of_another_slot_is_refused(void **st)
{
	struct fx *f = fx_new(16, 0);
	uint8_t p[KG_KNOCK_LEN];
	uint64_t id;

	(void)st;
	assert_int_equal(kg_keyid_derive(f->key, VEC_TS_MS / 1000 / VEC_SLOT_S - 1, &id), 0);
	assert_int_equal(kg_knock_encode(f->key, id, VEC_TS_MS, f->nonce, f->gpub,
					 f->cpub, p), 0);
	assert_int_equal(check_at(f, p, sizeof(p), VEC_TS_MS), KG_KNOCK_WRONG_SLOT);
	fx_free(f);
}

static void test_sequence_mode_user_cannot_spa_knock(void **st)
{
	struct fx *f = fx_new(16, 0);

	(void)st;
	f->users.v[0].mode = KG_MODE_SEQUENCE;
	assert_int_equal(check_at(f, vec_knock, KG_KNOCK_LEN, VEC_TS_MS), KG_KNOCK_WRONG_MODE);
	fx_free(f);
}

/* The cost rule, counted: random knocks (unknown ids) open nothing; a
 * known id with a bad tag opens exactly once; same with 1 or 10,000 users. */
static void count_opens(size_t extra, uint64_t *unknown, uint64_t *known)
{
	struct fx *f = fx_new(16, extra);
	uint8_t p[KG_KNOCK_LEN];

	memcpy(p, vec_knock, sizeof(p));
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(kg_random(p + 5, KG_KNOCK_LEN - 5), 0);
		assert_int_equal(check_at(f, p, sizeof(p), VEC_TS_MS), KG_KNOCK_UNKNOWN_ID);
	}
	*unknown = f->k.aead_opens;
	memcpy(p, vec_knock, sizeof(p));
	p[KG_KNOCK_LEN - 1] ^= 1;
	assert_int_equal(check_at(f, p, sizeof(p), VEC_TS_MS), KG_KNOCK_BAD_TAG);
	*known = f->k.aead_opens - *unknown;
	fx_free(f);
}

static void test_rejection_opens_at_most_one_aead_for_1_or_10000_users(void **st)
{
	uint64_t u1, k1, u2, k2;

	(void)st;
	count_opens(0, &u1, &k1);
	count_opens(9999, &u2, &k2);
	assert_int_equal(u1, 0);
	assert_int_equal(u2, 0);
	assert_int_equal(k1, 1);
	assert_int_equal(k2, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoder_matches_protocol_vector),
		cmocka_unit_test(test_decoder_accepts_protocol_vector),
		cmocka_unit_test(test_every_corrupted_field_is_refused_with_its_reason),
		cmocka_unit_test(test_replayed_knock_is_refused_as_duplicate),
		cmocka_unit_test(test_knock_outside_window_is_stale_and_bans_no_one),
		cmocka_unit_test(test_knock_stamped_before_start_is_refused),
		cmocka_unit_test(test_older_than_last_accepted_is_superseded),
		cmocka_unit_test(test_before_start_follows_a_wall_clock_step),
		cmocka_unit_test(test_full_replay_cache_refuses_instead_of_evicting),
		cmocka_unit_test(test_one_key_cannot_fill_the_cache_for_everyone),
		cmocka_unit_test(test_id_of_another_slot_is_refused),
		cmocka_unit_test(test_sequence_mode_user_cannot_spa_knock),
		cmocka_unit_test(test_rejection_opens_at_most_one_aead_for_1_or_10000_users),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
