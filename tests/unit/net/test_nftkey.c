/* SPDX-License-Identifier: MIT */
/* nft element keys: concatenations padded to 4-byte registers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "nft.h"

static void test_addr_port_concatenation_is_padded(void **state)
{
	/* ipv4_addr . inet_service : 198.51.100.10 . 443 */
	static const uint8_t want[8] = { 198, 51, 100, 10, 0x01, 0xbb, 0, 0 };
	static const uint8_t a[4] = { 198, 51, 100, 10 };
	struct kg_nft_key k;

	(void)state;
	kg_nft_key_init(&k);
	assert_int_equal(kg_nft_key_put(&k, a, 4), 0);
	assert_int_equal(kg_nft_key_put_port(&k, 443), 0);
	assert_int_equal(k.len, 8);
	assert_memory_equal(k.b, want, 8);
}

static void test_three_part_grant_key(void **state)
{
	/* ipv4_addr . ipv4_addr . inet_service: 12 bytes. */
	static const uint8_t s[4] = { 10, 88, 1, 10 }, d[4] = { 203, 0, 113, 2 };
	static const uint8_t want[12] = { 10, 88, 1, 10, 203, 0, 113, 2, 0, 22, 0, 0 };
	struct kg_nft_key k;

	(void)state;
	kg_nft_key_init(&k);
	assert_int_equal(kg_nft_key_put(&k, s, 4), 0);
	assert_int_equal(kg_nft_key_put(&k, d, 4), 0);
	assert_int_equal(kg_nft_key_put_port(&k, 22), 0);
	assert_int_equal(k.len, 12);
	assert_memory_equal(k.b, want, 12);
}

static void test_key_overflow_is_refused(void **state)
{
	uint8_t v6[16] = { 0x20, 0x01 };
	struct kg_nft_key k;

	(void)state;
	kg_nft_key_init(&k);
	for (int i = 0; i < 4; i++)
		assert_int_equal(kg_nft_key_put(&k, v6, 16), 0);
	assert_int_equal(k.len, KG_NFT_KEY_MAX);
	assert_int_equal(kg_nft_key_put_port(&k, 1), -EMSGSIZE);
	assert_int_equal(kg_nft_key_put(&k, v6, 0), -EMSGSIZE);
	assert_int_equal(k.len, KG_NFT_KEY_MAX);
}

static void test_batch_refuses_bad_sizes(void **state)
{
	struct kg_nft_batch *b = kg_nft_batch_new(NULL);
	uint8_t big[KG_NFT_KEY_MAX + 1] = { 0 };

	(void)state;
	assert_non_null(b);
	assert_int_equal(kg_nft_batch_elem(b, true, "banned4", big, 0, NULL, 0, 0), -EINVAL);
	assert_int_equal(kg_nft_batch_elem(b, true, "banned4", big, sizeof(big), NULL, 0, 0), -EINVAL);
	assert_int_equal(kg_nft_batch_elem(b, true, "m", big, 4, NULL, 8, 0), -EINVAL);
	assert_int_equal(kg_nft_batch_elem(b, true, NULL, big, 4, NULL, 0, 0), -EINVAL);
	for (int i = 0; i < 100; i++)
		assert_int_equal(kg_nft_batch_elem(b, true, "banned4", big, 4, big, 8, 1000), 0);
	kg_nft_batch_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_port_concatenation_is_padded),
		cmocka_unit_test(test_three_part_grant_key),
		cmocka_unit_test(test_key_overflow_is_refused),
		cmocka_unit_test(test_batch_refuses_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
