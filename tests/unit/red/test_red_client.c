/* SPDX-License-Identifier: MIT */
/* Green's side of the signed knock: only answers signed by red to a
 * pending knock are accepted, once; lost knocks are resent a bounded
 * number of times, as the same bytes. Both ends use the vector key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "pki.h"
#include "red_batch.h"
#include "red_client.h"
#include "sk_vectors.h"

#define NOW_MS 1795315200000ULL

static struct kg_red_client rc;
static struct kg_hostkey *key;
static X509 *cert;

static int setup(void **state)
{
	struct kg_err e;
	FILE *f = fopen(VEC_DIR "/vector-green-test.pem", "r");

	(void)state;
	assert_non_null(f);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_int_equal(kg_hostkey_load(&key, VEC_DIR "/vector-green-test.key",
					 &e), 0);
	/* the vector key plays red too: answers are checked against it */
	assert_int_equal(kg_rc_init(&rc, "green1", "red1", key, cert, 2, 3, 500), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_rc_free(&rc);
	kg_hostkey_free(key);
	X509_free(cert);
	return 0;
}

/* Red's answer to the knock of hash h, signed with the vector key. */
static size_t make_answer(const uint8_t h[32], uint8_t *buf, const char *red)
{
	struct kg_skanswer a;
	uint8_t d[32], sig[KG_SK_SIG_MAX];
	size_t n, sn;

	vec_answer(&a);
	strcpy(a.red_id, red);
	memcpy(a.knock_hash, h, 32);
	assert_int_equal(kg_skanswer_encode_body(&a, buf, KG_SK_PACKET_MAX, &n), 0);
	kg_sk_digest(buf, n, d);
	assert_int_equal(kg_hostkey_sign(key, d, sig, &sn), 0);
	assert_int_equal(kg_sk_append_sig(buf, KG_SK_PACKET_MAX, &n, sig, sn), 0);
	return n;
}

static void request(uint8_t h[32], const uint8_t **pkt, size_t *len)
{
	struct kg_sknock k, parsed;
	struct kg_sk_view v;

	vec_knock(&k);
	assert_int_equal(kg_rc_request(&rc, &k, NOW_MS, (void *)0x1, pkt, len), 0);
	assert_int_equal(kg_sknock_parse(*pkt, *len, &parsed, &v), KG_SK_E_OK);
	assert_string_equal(parsed.green_id, "green1");
	assert_int_equal(parsed.timestamp, NOW_MS / 1000);
	assert_memory_not_equal(parsed.nonce, k.nonce, KG_SK_NONCE_LEN);
	kg_sk_digest(v.body, v.body_len, h);
	/* green's knock verifies with green's certificate */
	assert_int_equal(kg_pki_verify_sig(cert, h, v.sig, v.sig_len), KG_PKI_OK);
}

static void test_answer_to_pending_knock_is_accepted_once(void **state)
{
	uint8_t h[32], buf[KG_SK_PACKET_MAX];
	const uint8_t *pkt;
	size_t len, n;
	struct kg_skanswer a;
	struct kg_sknock req;
	enum kg_sk_err why;
	void *cookie = NULL;

	(void)state;
	request(h, &pkt, &len);
	n = make_answer(h, buf, "red1");
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, &cookie, &why), KG_RC_OK);
	assert_int_equal(a.port, 40123);
	assert_int_equal(req.seq, 7);
	assert_ptr_equal(cookie, (void *)0x1);
	assert_int_equal(kg_rc_n_pending(&rc), 0);
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, &cookie, &why),
			 KG_RC_NOT_PENDING);
}

static void test_unasked_forged_or_foreign_answers_are_refused(void **state)
{
	uint8_t h[32], other[32] = { 9 }, buf[KG_SK_PACKET_MAX];
	const uint8_t *pkt;
	size_t len, n;
	struct kg_skanswer a;
	struct kg_sknock req;
	enum kg_sk_err why;

	(void)state;
	request(h, &pkt, &len);
	n = make_answer(other, buf, "red1");
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, NULL, &why),
			 KG_RC_NOT_PENDING);
	n = make_answer(h, buf, "red2");
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, NULL, &why),
			 KG_RC_WRONG_HOSTS);
	n = make_answer(h, buf, "red1");
	buf[n - 5] ^= 1;                       /* signature damaged */
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, NULL, &why),
			 KG_RC_BAD_SIGNATURE);
	assert_int_equal(kg_rc_answer(&rc, pkt, len, &a, &req, NULL, &why),
			 KG_RC_MALFORMED);        /* our own knock echoed */
	assert_int_equal(why, KG_SK_E_BAD_TYPE);
	assert_int_equal(kg_rc_n_pending(&rc), 1);
}

/* Spoofed junk and answers to nothing pending cost no signature check:
 * the pending lookup comes first (a flood on the answer port must not buy
 * an ECDSA verification per packet). */
static void test_junk_and_unasked_answers_cost_no_signature_check(void **state)
{
	uint8_t h[32], other[32] = { 9 }, buf[KG_SK_PACKET_MAX];
	const uint8_t *pkt;
	size_t len, n;
	struct kg_skanswer a;
	struct kg_sknock req;
	enum kg_sk_err why;

	(void)state;
	request(h, &pkt, &len);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(kg_rc_answer(&rc, buf, 120, &a, &req, NULL, &why),
			 KG_RC_MALFORMED);
	n = make_answer(other, buf, "red1");
	buf[n - 5] ^= 1;                       /* forged too: never looked at */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, NULL, &why),
				 KG_RC_NOT_PENDING);
	assert_int_equal(rc.sig_checks, 0);
	/* the answer to the pending knock is checked, once */
	n = make_answer(h, buf, "red1");
	assert_int_equal(kg_rc_answer(&rc, buf, n, &a, &req, NULL, &why), KG_RC_OK);
	assert_int_equal(rc.sig_checks, 1);
}

/* Many pending knocks: each answer finds its own (hash chains), a
 * forgotten one is gone, the others stay. */
static void test_many_pending_each_answer_finds_its_knock(void **state)
{
	static struct kg_red_client big;
	uint8_t h[40][32], buf[KG_SK_PACKET_MAX];
	const uint8_t *pkt;
	size_t len, n;
	struct kg_sknock k, req, parsed;
	struct kg_skanswer a;
	struct kg_sk_view v;
	enum kg_sk_err why;
	void *cookie;

	(void)state;
	assert_int_equal(kg_rc_init(&big, "green1", "red1", key, cert, 40, 3, 500), 0);
	vec_knock(&k);
	for (uintptr_t i = 0; i < 40; i++) {
		k.seq = (uint32_t)i + 1;
		assert_int_equal(kg_rc_request(&big, &k, NOW_MS, (void *)(i + 1), &pkt, &len), 0);
		assert_int_equal(kg_sknock_parse(pkt, len, &parsed, &v), KG_SK_E_OK);
		kg_sk_digest(v.body, v.body_len, h[i]);
	}
	for (uintptr_t i = 0; i < 40; i += 2) {
		n = make_answer(h[i], buf, "red1");
		assert_int_equal(kg_rc_answer(&big, buf, n, &a, &req, &cookie, &why), KG_RC_OK);
		assert_ptr_equal(cookie, (void *)(i + 1));
		assert_int_equal(req.seq, i + 1);
		assert_int_equal(kg_rc_answer(&big, buf, n, &a, &req, &cookie, &why),
				 KG_RC_NOT_PENDING);
	}
	assert_int_equal(kg_rc_n_pending(&big), 20);
	for (uintptr_t i = 1; i < 40; i += 2) {
		n = make_answer(h[i], buf, "red1");
		assert_int_equal(kg_rc_answer(&big, buf, n, &a, &req, &cookie, &why), KG_RC_OK);
		assert_ptr_equal(cookie, (void *)(i + 1));
	}
	assert_int_equal(kg_rc_n_pending(&big), 0);
	kg_rc_free(&big);
}

struct sent {
	int n;
	uint8_t last[KG_SK_PACKET_MAX];
	size_t len;
	int gave_up;
};

static void on_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct sent *s = ctx;

	s->n++;
	memcpy(s->last, pkt, len);
	s->len = len;
}

static void on_gave_up(void *ctx, const struct kg_rc_pending *p)
{
	(void)p;
	((struct sent *)ctx)->gave_up++;
}

static void test_lost_knock_is_resent_same_bytes_then_given_up(void **state)
{
	uint8_t h[32];
	const uint8_t *pkt;
	size_t len;
	struct sent s = { 0 };
	uint8_t first[KG_SK_PACKET_MAX];

	(void)state;
	request(h, &pkt, &len);
	memcpy(first, pkt, len);
	assert_int_equal(kg_rc_tick(&rc, NOW_MS + 100, on_send, on_gave_up, &s), 400);
	assert_int_equal(s.n, 0);
	kg_rc_tick(&rc, NOW_MS + 500, on_send, on_gave_up, &s);
	kg_rc_tick(&rc, NOW_MS + 1000, on_send, on_gave_up, &s);
	assert_int_equal(s.n, 2);                 /* 3 sends in all */
	assert_int_equal(s.len, len);
	assert_memory_equal(s.last, first, len);
	assert_int_equal(kg_rc_tick(&rc, NOW_MS + 1500, on_send, on_gave_up, &s),
			 UINT32_MAX);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.gave_up, 1);
	assert_int_equal(kg_rc_n_pending(&rc), 0);
}

static void test_pending_table_is_bounded(void **state)
{
	uint8_t h[32];
	const uint8_t *pkt;
	size_t len;
	struct kg_sknock k;

	(void)state;
	request(h, &pkt, &len);
	request(h, &pkt, &len);
	vec_knock(&k);
	assert_int_equal(kg_rc_request(&rc, &k, NOW_MS, NULL, &pkt, &len), -ENOSPC);
}

static unsigned gave_up_n;

static void count_gave_up(void *ctx, const struct kg_sknock *req, void *cookie)
{
	(void)ctx;
	assert_int_equal(req->action, KG_SK_RENEW);
	assert_non_null(cookie);
	gave_up_n++;
}

static unsigned sends_n;

static void count_send(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)pkt;
	(void)len;
	sends_n++;
}

/* A batch of renewals: signed once, parses to its entries; red's batch
 * answer (signed) is accepted once with every cookie, a copy or an
 * answer to nothing costs no signature check; an unanswered batch is
 * resent then given up entry by entry. */
static void test_batch_answer_accepted_once_then_given_up(void **state)
{
	static struct green_rb rb;
	static struct kg_skrenews parsed;
	static struct kg_skrenews_answer a;
	static struct green_rb_pending done;
	static uint8_t buf[KG_SK_BATCH_PACKET_MAX];
	struct kg_sk_renew e[2];
	void *cookies[2] = { (void *)0x11, (void *)0x22 };
	const uint8_t *pkt;
	uint8_t h[32], d[32], sig[KG_SK_SIG_MAX];
	struct kg_sk_view v;
	enum kg_sk_err why;
	size_t len, n, sn;
	uint64_t checks;

	(void)state;
	assert_int_equal(green_rb_init(&rb, 2), 0);
	vec_batch(&parsed);
	memcpy(e, parsed.e, sizeof(e));
	assert_int_equal(green_rb_request(&rb, &rc, e, cookies, 2, NOW_MS / 1000,
					  NOW_MS, &pkt, &len), 0);
	assert_int_equal(kg_skrenews_parse(pkt, len, &parsed, &v), KG_SK_E_OK);
	assert_int_equal(parsed.n, 2);
	assert_string_equal(parsed.red_id, "red1");
	kg_sk_digest(v.body, v.body_len, h);
	assert_int_equal(kg_pki_verify_sig(cert, h, v.sig, v.sig_len), KG_PKI_OK);

	vec_batch_answer(&a);
	memcpy(a.knock_hash, h, 32);
	assert_int_equal(kg_skrenews_answer_encode_body(&a, buf, sizeof(buf), &n), 0);
	kg_sk_digest(buf, n, d);
	assert_int_equal(kg_hostkey_sign(key, d, sig, &sn), 0);
	assert_int_equal(kg_sk_append_sig(buf, sizeof(buf), &n, sig, sn), 0);
	assert_int_equal(green_rb_answer(&rb, &rc, buf, n, &a, &done, &why), KG_RC_OK);
	assert_ptr_equal(done.cookies[1], (void *)0x22);
	assert_int_equal(a.r[0].port, 40123);
	checks = rc.sig_checks;
	assert_int_equal(green_rb_answer(&rb, &rc, buf, n, &a, &done, &why),
			 KG_RC_NOT_PENDING);
	assert_int_equal(rc.sig_checks, checks);

	/* never answered: resent max_sends - 1 times, then given up */
	assert_int_equal(green_rb_request(&rb, &rc, e, cookies, 2, NOW_MS / 1000,
					  NOW_MS, &pkt, &len), 0);
	for (int t = 1; t <= 4; t++)
		green_rb_tick(&rb, &rc, NOW_MS + (uint64_t)t * 500, count_send,
			      count_gave_up, NULL);
	assert_int_equal(sends_n, 2);
	assert_int_equal(gave_up_n, 2);
	green_rb_free(&rb);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(test_answer_to_pending_knock_is_accepted_once),
		T_(test_unasked_forged_or_foreign_answers_are_refused),
		T_(test_junk_and_unasked_answers_cost_no_signature_check),
		T_(test_many_pending_each_answer_finds_its_knock),
		T_(test_lost_knock_is_resent_same_bytes_then_given_up),
		T_(test_pending_table_is_bounded),
		T_(test_batch_answer_accepted_once_then_given_up),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
