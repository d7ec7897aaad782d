/* SPDX-License-Identifier: MIT */
/* Transcripts the card signs: the vectors of docs/protocol.md ("Control
 * protocol", "Transcript vectors") are what the code builds, and the
 * document still shows them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "transcript.h"

#define CARD_HEX \
	"6b6e6f636b6761746520636172642070726f6f660001000102030405060708090a0b0c0d0e0f" \
	"101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435" \
	"363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b" \
	"5c5d5e5f040a58010a"
#define CARD_SHA "6fc0c421354e2f91ce2bce9f485b2163805c2f9ef6a45a55e727dee27de11479"
#define REPROOF_HEX \
	"6b6e6f636b6761746520726570726f6f660001000102030405060708090a0b0c0d0e0f101112" \
	"131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738" \
	"393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e" \
	"5f040a58010a0102030405060708"
#define REPROOF_SHA "ba68a1dd78af531f801851d061c3f12981d300d512d34a946ea6e80ba6782a64"
#define SERVICE_HEX \
	"6b6e6f636b676174652073657276696365207265717565737400010102030405060708606162" \
	"636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f03776562"
#define SERVICE_SHA "2632cb772570cc46b4da4bcf8a481d739da837e8782edd691526c04ae00db0b0"

static const uint64_t sid = 0x0102030405060708ull;

static void fill(uint8_t *p, uint8_t start)
{
	for (int i = 0; i < 32; i++)
		p[i] = (uint8_t)(start + i);
}

static void vector_binding(struct kg_proof_binding *b)
{
	fill(b->challenge, 0x00);
	fill(b->client_wg_pub, 0x20);
	fill(b->green_wg_pub, 0x40);
	assert_int_equal(kg_addr_parse("10.88.1.10", &b->tunnel), 0);
}

static void check(const uint8_t *buf, int len, const uint8_t digest[32],
		  const char *hex, const char *sha)
{
	char got[2 * KG_TRANSCRIPT_MAX + 1], dgot[65];

	assert_true(len > 0);
	kg_hex_encode(buf, (size_t)len, got);
	assert_string_equal(got, hex);
	kg_hex_encode(digest, 32, dgot);
	assert_string_equal(dgot, sha);
}

static void test_card_proof_transcript_matches_vector(void **st)
{
	struct kg_proof_binding b;
	uint8_t buf[KG_TRANSCRIPT_MAX], d[32];
	int n;

	(void)st;
	vector_binding(&b);
	n = kg_transcript_card_proof(&b, buf, sizeof(buf));
	assert_int_equal(kg_transcript_card_proof_digest(&b, d), 0);
	check(buf, n, d, CARD_HEX, CARD_SHA);
}

static void test_reproof_transcript_matches_vector(void **st)
{
	struct kg_proof_binding b;
	uint8_t buf[KG_TRANSCRIPT_MAX], d[32];
	int n;

	(void)st;
	vector_binding(&b);
	n = kg_transcript_reproof(&b, sid, buf, sizeof(buf));
	assert_int_equal(kg_transcript_reproof_digest(&b, sid, d), 0);
	check(buf, n, d, REPROOF_HEX, REPROOF_SHA);
}

static void test_service_transcript_matches_vector(void **st)
{
	uint8_t buf[KG_TRANSCRIPT_MAX], d[32], nonce[32];
	int n;

	(void)st;
	fill(nonce, 0x60);
	n = kg_transcript_service(sid, nonce, "web", buf, sizeof(buf));
	assert_int_equal(kg_transcript_service_digest(sid, nonce, "web", d), 0);
	check(buf, n, d, SERVICE_HEX, SERVICE_SHA);
}

/* Each bound value changes the digest: a signature cannot be moved to
 * another challenge, key pair or tunnel address. */
static void test_every_bound_value_changes_the_digest(void **st)
{
	struct kg_proof_binding b, x;
	uint8_t ref[32], d[32];

	(void)st;
	vector_binding(&b);
	assert_int_equal(kg_transcript_card_proof_digest(&b, ref), 0);
	for (int field = 0; field < 4; field++) {
		x = b;
		if (field == 0)
			x.challenge[31] ^= 1;
		else if (field == 1)
			x.client_wg_pub[0] ^= 1;
		else if (field == 2)
			x.green_wg_pub[5] ^= 1;
		else
			x.tunnel.b[3] ^= 1;
		assert_int_equal(kg_transcript_card_proof_digest(&x, d), 0);
		assert_memory_not_equal(d, ref, 32);
	}
	/* the reproof differs from the proof over the same values */
	assert_int_equal(kg_transcript_reproof_digest(&b, sid, d), 0);
	assert_memory_not_equal(d, ref, 32);
}

static void test_ipv6_tunnel_and_bad_arguments(void **st)
{
	struct kg_proof_binding b;
	uint8_t buf[KG_TRANSCRIPT_MAX], nonce[32] = { 0 };

	(void)st;
	vector_binding(&b);
	assert_int_equal(kg_addr_parse("fd00::1", &b.tunnel), 0);
	assert_int_equal(kg_transcript_card_proof(&b, buf, sizeof(buf)),
			 21 + 1 + 96 + 17);
	b.tunnel.family = 0;
	assert_int_equal(kg_transcript_card_proof(&b, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(kg_transcript_service(1, nonce, "Bad Name", buf,
					       sizeof(buf)), -EINVAL);
	assert_int_equal(kg_transcript_service(1, nonce, "web", buf, 10),
			 -EMSGSIZE);
}

static void test_protocol_md_shows_the_vectors(void **st)
{
	FILE *f = fopen(KG_PROTOCOL_MD, "r");
	char *text = calloc(1, 1 << 20);
	size_t n;

	(void)st;
	assert_non_null(f);
	assert_non_null(text);
	n = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[n] = 0;
	assert_non_null(strstr(text, "## Control protocol"));
	assert_non_null(strstr(text, CARD_SHA));
	assert_non_null(strstr(text, REPROOF_SHA));
	assert_non_null(strstr(text, SERVICE_SHA));
	assert_non_null(strstr(text, SERVICE_HEX));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_card_proof_transcript_matches_vector),
		cmocka_unit_test(test_reproof_transcript_matches_vector),
		cmocka_unit_test(test_service_transcript_matches_vector),
		cmocka_unit_test(test_every_bound_value_changes_the_digest),
		cmocka_unit_test(test_ipv6_tunnel_and_bad_arguments),
		cmocka_unit_test(test_protocol_md_shows_the_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
