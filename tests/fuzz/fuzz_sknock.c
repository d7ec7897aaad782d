/* SPDX-License-Identifier: MIT */
/* Signed knocks, batched renewals, red's answers to both and red's hop
 * pushes: all five parsers, and whatever parses must re-encode to exactly
 * the body it came from (one canonical form). */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "sknock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t big[KG_SK_BATCH_BODY_MAX];
	static struct kg_skrenews b;
	static struct kg_skrenews_answer ba;
	uint8_t body[KG_SK_BODY_MAX];
	struct kg_sknock k;
	struct kg_skanswer a;
	struct kg_skhop h;
	struct kg_sk_view v;
	size_t n;

	if (kg_sknock_parse(data, size, &k, &v) == KG_SK_E_OK) {
		if (kg_sknock_encode_body(&k, body, sizeof(body), &n) != 0 ||
		    n != v.body_len || memcmp(body, v.body, n) != 0)
			abort();
	}
	if (kg_skanswer_parse(data, size, &a, &v) == KG_SK_E_OK) {
		if (kg_skanswer_encode_body(&a, body, sizeof(body), &n) != 0 ||
		    n != v.body_len || memcmp(body, v.body, n) != 0)
			abort();
	}
	if (kg_skrenews_parse(data, size, &b, &v) == KG_SK_E_OK) {
		if (kg_skrenews_encode_body(&b, big, sizeof(big), &n) != 0 ||
		    n != v.body_len || memcmp(big, v.body, n) != 0)
			abort();
	}
	if (kg_skrenews_answer_parse(data, size, &ba, &v) == KG_SK_E_OK) {
		if (kg_skrenews_answer_encode_body(&ba, big, sizeof(big), &n) != 0 ||
		    n != v.body_len || memcmp(big, v.body, n) != 0)
			abort();
	}
	if (kg_skhop_parse(data, size, &h, &v) == KG_SK_E_OK) {
		if (kg_skhop_encode_body(&h, body, sizeof(body), &n) != 0 ||
		    n != v.body_len || memcmp(body, v.body, n) != 0)
			abort();
	}
	(void)kg_sk_peek_type(data, size);
	return 0;
}
