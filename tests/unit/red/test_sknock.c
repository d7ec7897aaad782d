/* SPDX-License-Identifier: MIT */
/* The signed knock's wire format: vectors from docs/protocol.md, and every
 * field corrupted refused with its own reason. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include "sk_vectors.h"

struct pkt {
	uint8_t b[KG_SK_PACKET_MAX + 8];
	size_t n;
};

static void from_hex(const char *h, uint8_t *out, size_t *n)
{
	*n = strlen(h) / 2;
	assert_int_equal(kg_hex_decode(h, out, *n), 0);
}

/* The vector knock with the vector signature appended. */
static void vec_packet(struct pkt *p)
{
	uint8_t sig[KG_SK_SIG_MAX];
	size_t sn;

	from_hex(VEC_KNOCK_BODY, p->b, &p->n);
	from_hex(VEC_KNOCK_SIG, sig, &sn);
	assert_int_equal(kg_sk_append_sig(p->b, sizeof(p->b), &p->n, sig, sn), 0);
}

static void test_knock_body_matches_vector(void **state)
{
	struct kg_sknock k;
	uint8_t body[KG_SK_BODY_MAX], want[KG_SK_BODY_MAX];
	size_t n, wn;

	(void)state;
	vec_knock(&k);
	assert_int_equal(kg_sknock_encode_body(&k, body, sizeof(body), &n), 0);
	from_hex(VEC_KNOCK_BODY, want, &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(body, want, n);
}

static void test_knock_hash_is_sha256_of_body_vector(void **state)
{
	uint8_t body[KG_SK_BODY_MAX], h[32], want[32];
	size_t n, wn;

	(void)state;
	from_hex(VEC_KNOCK_BODY, body, &n);
	kg_sk_digest(body, n, h);
	from_hex(VEC_KNOCK_HASH, want, &wn);
	assert_memory_equal(h, want, 32);
}

static void test_answer_body_matches_vector(void **state)
{
	struct kg_skanswer a;
	uint8_t body[KG_SK_BODY_MAX], want[KG_SK_BODY_MAX];
	size_t n, wn;

	(void)state;
	vec_answer(&a);
	assert_int_equal(kg_skanswer_encode_body(&a, body, sizeof(body), &n), 0);
	from_hex(VEC_ANSWER_BODY, want, &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(body, want, n);
}

static void test_vector_packet_parses_to_its_fields(void **state)
{
	struct pkt p;
	struct kg_sknock k, want;
	struct kg_sk_view v;

	(void)state;
	vec_packet(&p);
	vec_knock(&want);
	assert_int_equal(kg_sknock_parse(p.b, p.n, &k, &v), KG_SK_E_OK);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_int_equal(v.body_len, strlen(VEC_KNOCK_BODY) / 2);
	assert_int_equal(v.sig_len, strlen(VEC_KNOCK_SIG) / 2);
	assert_ptr_equal(v.body, p.b);
}

static void test_answer_round_trips(void **state)
{
	struct kg_skanswer a, b;
	struct kg_sk_view v;
	uint8_t buf[KG_SK_PACKET_MAX], sig[KG_SK_SIG_MIN] = { 0x30 };
	size_t n;

	(void)state;
	vec_answer(&a);
	assert_int_equal(kg_skanswer_encode_body(&a, buf, sizeof(buf), &n), 0);
	assert_int_equal(kg_sk_append_sig(buf, sizeof(buf), &n, sig, sizeof(sig)), 0);
	assert_int_equal(kg_skanswer_parse(buf, n, &b, &v), KG_SK_E_OK);
	assert_memory_equal(&a, &b, sizeof(a));
	/* a knock is never an answer and the reverse */
	assert_int_equal(kg_sknock_parse(buf, n, &(struct kg_sknock){0}, &v),
			 KG_SK_E_BAD_TYPE);
}

/* Offsets of the vector knock's fields (green1, red1, IPv4, "web"). */
enum { O_MAGIC = 0, O_VER = 4, O_TYPE = 5, O_ACTION = 6, O_GLEN = 7,
       O_GID = 8, O_RLEN = 14, O_RID = 15, O_FAM = 31, O_SLEN = 36,
       O_SVC = 37, O_LIFE = 40, O_SIGLEN = 68 };

static enum kg_sk_err corrupt(size_t off, uint8_t val)
{
	struct pkt p;
	struct kg_sknock k;
	struct kg_sk_view v;

	vec_packet(&p);
	p.b[off] = val;
	return kg_sknock_parse(p.b, p.n, &k, &v);
}

static void test_each_corrupted_field_is_refused_with_its_reason(void **state)
{
	(void)state;
	assert_int_equal(corrupt(O_MAGIC, 'X'), KG_SK_E_BAD_MAGIC);
	assert_int_equal(corrupt(O_VER, 2), KG_SK_E_BAD_VERSION);
	assert_int_equal(corrupt(O_TYPE, 2), KG_SK_E_BAD_TYPE);
	assert_int_equal(corrupt(O_ACTION, 0), KG_SK_E_BAD_ACTION);
	assert_int_equal(corrupt(O_ACTION, 4), KG_SK_E_BAD_ACTION);
	assert_int_equal(corrupt(O_GLEN, 0), KG_SK_E_BAD_GREEN_ID);
	assert_int_equal(corrupt(O_GLEN, 33), KG_SK_E_BAD_GREEN_ID);
	assert_int_equal(corrupt(O_GID, ' '), KG_SK_E_BAD_GREEN_ID);
	assert_int_equal(corrupt(O_RLEN, 0), KG_SK_E_BAD_RED_ID);
	assert_int_equal(corrupt(O_RID + 1, '\n'), KG_SK_E_BAD_RED_ID);
	assert_int_equal(corrupt(O_FAM, 5), KG_SK_E_BAD_FAMILY);
	assert_int_equal(corrupt(O_SLEN, 0), KG_SK_E_BAD_SERVICE);
	assert_int_equal(corrupt(O_SVC, '='), KG_SK_E_BAD_SERVICE);
	assert_int_equal(corrupt(O_LIFE + 3, 0), KG_SK_E_BAD_LIFETIME);
	assert_int_equal(corrupt(O_LIFE, 0xff), KG_SK_E_BAD_LIFETIME);
	assert_int_equal(corrupt(O_SIGLEN, 7), KG_SK_E_BAD_SIG_LEN);
	assert_int_equal(corrupt(O_SIGLEN, 73), KG_SK_E_BAD_SIG_LEN);
	assert_int_equal(corrupt(O_SIGLEN, 71), KG_SK_E_TRAILING);
}

static void test_every_truncation_and_trailing_byte_is_refused(void **state)
{
	struct pkt p;
	struct kg_sknock k;
	struct kg_sk_view v;

	(void)state;
	vec_packet(&p);
	for (size_t n = 0; n < p.n; n++)
		assert_int_not_equal(kg_sknock_parse(p.b, n, &k, &v), KG_SK_E_OK);
	assert_int_equal(kg_sknock_parse(p.b, 3, &k, &v), KG_SK_E_TRUNCATED);
	p.b[p.n] = 0;
	assert_int_equal(kg_sknock_parse(p.b, p.n + 1, &k, &v), KG_SK_E_TRAILING);
}

static void test_inconsistent_answers_are_refused(void **state)
{
	struct kg_skanswer a;
	uint8_t buf[KG_SK_BODY_MAX];
	size_t n;

	(void)state;
	vec_answer(&a);
	a.reason = KG_SK_R_REPLAY;            /* granted with a reason */
	assert_int_equal(kg_skanswer_encode_body(&a, buf, sizeof(buf), &n), -EINVAL);
	vec_answer(&a);
	a.result = KG_SK_REFUSED;             /* refused with no reason */
	a.port = 0;
	a.lease = 0;
	assert_int_equal(kg_skanswer_encode_body(&a, buf, sizeof(buf), &n), -EINVAL);
	vec_answer(&a);
	a.port = 0;                           /* granted with no port */
	assert_int_equal(kg_skanswer_encode_body(&a, buf, sizeof(buf), &n), -EINVAL);
}

static void test_encoder_refuses_bad_fields(void **state)
{
	struct kg_sknock k;
	uint8_t buf[KG_SK_BODY_MAX];
	size_t n;

	(void)state;
	vec_knock(&k);
	strcpy(k.service, "we b");
	assert_int_equal(kg_sknock_encode_body(&k, buf, sizeof(buf), &n), -EINVAL);
	vec_knock(&k);
	k.lifetime = 0;
	assert_int_equal(kg_sknock_encode_body(&k, buf, sizeof(buf), &n), -EINVAL);
	vec_knock(&k);
	assert_int_equal(kg_sknock_encode_body(&k, buf, 20, &n), -EMSGSIZE);
	assert_string_equal(kg_sk_err_name(KG_SK_E_BAD_SIG_LEN), "bad_sig_len");
	assert_string_equal(kg_sk_reason_name(KG_SK_R_OUTSIDE_WINDOW), "outside_window");
}

static void hex_eq(const uint8_t *b, size_t n, const char *want)
{
	char h[2 * KG_SK_BATCH_BODY_MAX + 1];

	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", b[i]);
	h[2 * n] = '\0';
	assert_string_equal(h, want);
}

static void test_batch_matches_vectors_and_round_trips(void **state)
{
	static struct kg_skrenews b, got;
	static struct kg_skrenews_answer a, agot;
	static uint8_t body[KG_SK_BATCH_PACKET_MAX];
	uint8_t h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	struct kg_sk_view v;
	size_t n, sn;

	(void)state;
	vec_batch(&b);
	assert_int_equal(kg_skrenews_encode_body(&b, body, sizeof(body), &n), 0);
	hex_eq(body, n, VEC_BATCH_BODY);
	kg_sk_digest(body, n, h);
	hex_eq(h, KG_SK_HASH_LEN, VEC_BATCH_HASH);
	kg_sk_entry_hash(h, 1, h);
	hex_eq(h, KG_SK_HASH_LEN, VEC_BATCH_ENTRY1_HASH);
	from_hex(VEC_BATCH_SIG, sig, &sn);
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, sn), 0);
	assert_int_equal(kg_sk_peek_type(body, n), KG_SK_TYPE_RENEWS);
	assert_int_equal(kg_skrenews_parse(body, n, &got, &v), KG_SK_E_OK);
	assert_memory_equal(&got, &b, sizeof(b));
	assert_int_equal(v.sig_len, sn);
	/* a batch is never a knock nor the reverse */
	assert_int_equal(kg_sknock_parse(body, n, &(struct kg_sknock){ 0 }, &v),
			 KG_SK_E_BAD_TYPE);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(kg_skrenews_parse(body, i, &got, &v), KG_SK_E_OK);

	vec_batch_answer(&a);
	assert_int_equal(kg_skrenews_answer_encode_body(&a, body, sizeof(body), &n), 0);
	hex_eq(body, n, VEC_BATCH_ANSWER_BODY);
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, sn), 0);
	assert_int_equal(kg_skrenews_answer_parse(body, n, &agot, &v), KG_SK_E_OK);
	assert_memory_equal(&agot, &a, sizeof(a));
}

static void test_batch_refusals(void **state)
{
	static struct kg_skrenews b, got;
	static struct kg_skrenews_answer a;
	static uint8_t body[KG_SK_BATCH_PACKET_MAX];
	struct kg_sk_view v;
	size_t n;

	(void)state;
	vec_batch(&b);
	b.n = 0;
	assert_int_equal(kg_skrenews_encode_body(&b, body, sizeof(body), &n), -EINVAL);
	b.n = KG_SK_BATCH_MAX + 1;
	assert_int_equal(kg_skrenews_encode_body(&b, body, sizeof(body), &n), -EINVAL);
	/* the largest batch fits the stated maximum */
	vec_batch(&b);
	for (unsigned i = 0; i < KG_SK_BATCH_MAX; i++) {
		b.e[i] = b.e[1];
		memset(b.e[i].service, 'x', KG_SK_ID_MAX);
		b.e[i].service[KG_SK_ID_MAX] = '\0';
	}
	b.n = KG_SK_BATCH_MAX;
	assert_int_equal(kg_skrenews_encode_body(&b, body, KG_SK_BATCH_BODY_MAX, &n), 0);
	vec_batch(&b);
	b.e[1].lifetime = 0;
	assert_int_equal(kg_skrenews_encode_body(&b, body, sizeof(body), &n), -EINVAL);

	/* the count byte (offset 6 + 7 + 5 + 8 + 16) and an entry's lifetime */
	vec_batch(&b);
	assert_int_equal(kg_skrenews_encode_body(&b, body, sizeof(body), &n), 0);
	body[n] = 8;
	memset(body + n + 1, 0x30, 8);
	body[42] = 0;
	assert_int_equal(kg_skrenews_parse(body, n + 9, &got, &v), KG_SK_E_BAD_COUNT);
	body[42] = KG_SK_BATCH_MAX + 1;
	assert_int_equal(kg_skrenews_parse(body, n + 9, &got, &v), KG_SK_E_BAD_COUNT);
	body[42] = 2;
	body[n - 1] = 0;
	body[n - 2] = 0;
	assert_int_equal(kg_skrenews_parse(body, n + 9, &got, &v), KG_SK_E_BAD_LIFETIME);

	/* a batch answer never says closed, and stays consistent */
	vec_batch_answer(&a);
	a.r[1].result = KG_SK_CLOSED;
	a.r[1].reason = 0;
	assert_int_equal(kg_skrenews_answer_encode_body(&a, body, sizeof(body), &n), -EINVAL);
	vec_batch_answer(&a);
	a.r[0].port = 0;
	assert_int_equal(kg_skrenews_answer_encode_body(&a, body, sizeof(body), &n), -EINVAL);
	assert_string_equal(kg_sk_err_name(KG_SK_E_BAD_COUNT), "bad_count");
	assert_string_equal(kg_sk_err_name(KG_SK_E_BAD_HOP), "bad_hop");
}

static void test_hop_matches_vector_and_round_trips(void **state)
{
	struct kg_skhop h, back;
	struct kg_sk_view v;
	uint8_t body[KG_SK_BODY_MAX + 80], want[KG_SK_BODY_MAX], sig[8] = { 0x30, 6 };
	size_t n, wn;

	(void)state;
	vec_hop(&h);
	assert_int_equal(kg_skhop_encode_body(&h, body, sizeof(body), &n), 0);
	from_hex(VEC_HOP_BODY, want, &wn);
	assert_int_equal(n, wn);
	assert_memory_equal(body, want, n);
	assert_int_equal(kg_sk_peek_type(body, n), KG_SK_TYPE_HOP);
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, 8), 0);
	assert_int_equal(kg_skhop_parse(body, n, &back, &v), KG_SK_E_OK);
	assert_int_equal(v.body_len, wn);
	assert_memory_equal(&back, &h, sizeof(h));
	/* a hop is never taken for a knock or an answer, nor the reverse */
	{
		struct kg_sknock k;
		struct kg_skanswer a;

		assert_int_equal(kg_sknock_parse(body, n, &k, &v), KG_SK_E_BAD_TYPE);
		assert_int_equal(kg_skanswer_parse(body, n, &a, &v), KG_SK_E_BAD_TYPE);
	}
	/* every truncation refused */
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(kg_skhop_parse(body, i, &back, &v), KG_SK_E_OK);
	/* inconsistent hops: refused by the encoder and the parser */
	h.old_port = h.port;
	assert_int_equal(kg_skhop_encode_body(&h, body, sizeof(body), &n), -EINVAL);
	from_hex(VEC_HOP_BODY, body, &n);
	body[n - 19] = 0x23;   /* old_port (before overlap, timestamp and */
	body[n - 18] = 0x52;   /* the held ports): 9017 -> 9042, the new port */
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, 8), 0);
	assert_int_equal(kg_skhop_parse(body, n, &back, &v), KG_SK_E_BAD_HOP);
	assert_string_equal(kg_sk_err_name(KG_SK_E_BAD_HOP), "bad_hop");
	/* held ports: 1..32, none 0, the current port among them */
	vec_hop(&h);
	h.held[1] = 9000;
	assert_int_equal(kg_skhop_encode_body(&h, body, sizeof(body), &n), -EINVAL);
	h.n_held = 0;
	assert_int_equal(kg_skhop_encode_body(&h, body, sizeof(body), &n), -EINVAL);
	from_hex(VEC_HOP_BODY, body, &n);
	body[n - 5] = 0;       /* n_held 2 -> 0 */
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, 8), 0);
	assert_int_equal(kg_skhop_parse(body, n, &back, &v), KG_SK_E_BAD_HOP);
	from_hex(VEC_HOP_BODY, body, &n);
	body[n - 1] = 0x51;    /* the held current port 9042 -> 9041 */
	assert_int_equal(kg_sk_append_sig(body, sizeof(body), &n, sig, 8), 0);
	assert_int_equal(kg_skhop_parse(body, n, &back, &v), KG_SK_E_BAD_HOP);
}

/* docs/protocol.md, whitespace removed, must hold every vector verbatim:
 * the spec and the code cannot drift apart. */
static void test_protocol_md_holds_the_same_vectors(void **state)
{
	FILE *f = fopen(KG_PROTOCOL_MD, "r");
	char *doc = calloc(1, 1 << 20);
	size_t n = 0;
	int c;

	(void)state;
	assert_non_null(f);
	assert_non_null(doc);
	while ((c = fgetc(f)) != EOF && n < (1 << 20) - 1)
		if (!isspace(c))
			doc[n++] = (char)c;
	fclose(f);
	assert_non_null(strstr(doc, "##Signedknock(greentored)"));
	assert_non_null(strstr(doc, VEC_KNOCK_BODY));
	assert_non_null(strstr(doc, VEC_KNOCK_HASH));
	assert_non_null(strstr(doc, VEC_KNOCK_SIG));
	assert_non_null(strstr(doc, VEC_ANSWER_BODY));
	assert_non_null(strstr(doc, VEC_BATCH_BODY));
	assert_non_null(strstr(doc, VEC_BATCH_HASH));
	assert_non_null(strstr(doc, VEC_BATCH_ENTRY1_HASH));
	assert_non_null(strstr(doc, VEC_BATCH_SIG));
	assert_non_null(strstr(doc, VEC_BATCH_ANSWER_BODY));
	assert_non_null(strstr(doc, VEC_HOP_BODY));
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_knock_body_matches_vector),
		cmocka_unit_test(test_knock_hash_is_sha256_of_body_vector),
		cmocka_unit_test(test_answer_body_matches_vector),
		cmocka_unit_test(test_vector_packet_parses_to_its_fields),
		cmocka_unit_test(test_answer_round_trips),
		cmocka_unit_test(test_each_corrupted_field_is_refused_with_its_reason),
		cmocka_unit_test(test_every_truncation_and_trailing_byte_is_refused),
		cmocka_unit_test(test_inconsistent_answers_are_refused),
		cmocka_unit_test(test_encoder_refuses_bad_fields),
		cmocka_unit_test(test_batch_matches_vectors_and_round_trips),
		cmocka_unit_test(test_batch_refusals),
		cmocka_unit_test(test_hop_matches_vector_and_round_trips),
		cmocka_unit_test(test_protocol_md_holds_the_same_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
