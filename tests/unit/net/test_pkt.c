/* SPDX-License-Identifier: MIT */
/* Packet header parsing (lib/pkt.c): what NFLOG hands us is untrusted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

/* IPv4 (IHL 5) + UDP 40000 -> 62201 + "knock". */
static const uint8_t v4_udp[] = {
	0x45, 0, 0, 33, 0, 0, 0x40, 0, 64, 17, 0, 0,
	198, 51, 100, 66, 198, 51, 100, 1,
	0x9c, 0x40, 0xf2, 0xf9, 0, 13, 0, 0,
	'k', 'n', 'o', 'c', 'k',
};

/* IPv4 with IHL 6 (one option word) + TCP SYN 1234 -> 22, doff 5. */
static const uint8_t v4_tcp_opt[] = {
	0x46, 0, 0, 44, 0, 0, 0, 0, 64, 6, 0, 0,
	198, 51, 100, 66, 198, 51, 100, 1,
	1, 1, 0, 0,
	0x04, 0xd2, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

/* IPv6 + hop-by-hop (8 bytes) + TCP 5555 -> 443. */
static const uint8_t v6_hbh_tcp[] = {
	0x60, 0, 0, 0, 0, 28, 0, 64,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66,
	0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	6, 0, 1, 4, 0, 0, 0, 0,
	0x15, 0xb3, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0, 0, 0, 0, 0, 0,
};

static void test_ipv4_udp_ports_and_payload(void **state)
{
	struct kg_pkt p;
	char s[KG_ADDR_STRLEN];

	(void)state;
	assert_int_equal(kg_pkt_parse(v4_udp, sizeof(v4_udp), &p), 0);
	assert_true(p.l4_ok);
	assert_int_equal(p.l4proto, IPPROTO_UDP);
	assert_string_equal(kg_addr_str(&p.src, s), "198.51.100.66");
	assert_string_equal(kg_addr_str(&p.dst, s), "198.51.100.1");
	assert_int_equal(p.sport, 40000);
	assert_int_equal(p.dport, 62201);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(p.payload, "knock", 5);
}

static void test_ipv4_options_are_skipped(void **state)
{
	struct kg_pkt p;

	(void)state;
	assert_int_equal(kg_pkt_parse(v4_tcp_opt, sizeof(v4_tcp_opt), &p), 0);
	assert_true(p.l4_ok);
	assert_int_equal(p.l4proto, IPPROTO_TCP);
	assert_int_equal(p.sport, 1234);
	assert_int_equal(p.dport, 22);
	assert_int_equal(p.tcp_flags, 0x02);
	assert_int_equal(p.payload_len, 0);
}

static void test_every_truncation_is_refused_or_portless(void **state)
{
	struct kg_pkt p;

	(void)state;
	for (size_t n = 0; n < sizeof(v4_udp); n++) {
		int r = kg_pkt_parse(v4_udp, n, &p);

		/* The total length says 33: anything shorter is inconsistent. */
		assert_int_equal(r, -EMSGSIZE);
	}
	for (size_t n = 0; n < 40; n++)
		assert_int_not_equal(kg_pkt_parse(v6_hbh_tcp, n, &p), 0);
}

static void test_bad_ihl_is_refused(void **state)
{
	uint8_t b[sizeof(v4_udp)];
	struct kg_pkt p;

	(void)state;
	memcpy(b, v4_udp, sizeof(b));
	b[0] = 0x44;   /* IHL 4: shorter than the fixed header */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), -EMSGSIZE);
	b[0] = 0x4f;   /* IHL 15: 60 bytes, more than the packet */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), -EMSGSIZE);
	b[0] = 0x55;   /* version 5 */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), -EPROTONOSUPPORT);
}

static void test_short_udp_header_has_no_ports(void **state)
{
	uint8_t b[sizeof(v4_udp)];
	struct kg_pkt p;

	(void)state;
	memcpy(b, v4_udp, sizeof(b));
	b[3] = 24;     /* total length: IP header + 4 bytes of UDP */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
	assert_int_equal(p.l4proto, IPPROTO_UDP);
}

static void test_later_fragment_has_no_ports(void **state)
{
	uint8_t b[sizeof(v4_udp)];
	struct kg_pkt p;

	(void)state;
	memcpy(b, v4_udp, sizeof(b));
	b[6] = 0x00;
	b[7] = 0x10;   /* offset 16*8: bytes there are not a UDP header */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
}

static void test_tcp_data_offset_past_the_end(void **state)
{
	uint8_t b[sizeof(v4_tcp_opt)];
	struct kg_pkt p;

	(void)state;
	memcpy(b, v4_tcp_opt, sizeof(b));
	b[24 + 12] = 0xf0;   /* doff 15: 60 bytes of TCP header, 20 there */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
	b[24 + 12] = 0x40;   /* doff 4: below the minimum */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
}

static void test_ipv6_hop_by_hop_is_followed(void **state)
{
	struct kg_pkt p;
	char s[KG_ADDR_STRLEN];

	(void)state;
	assert_int_equal(kg_pkt_parse(v6_hbh_tcp, sizeof(v6_hbh_tcp), &p), 0);
	assert_true(p.l4_ok);
	assert_string_equal(kg_addr_str(&p.src, s), "2001:db8:100::66");
	assert_int_equal(p.l4proto, IPPROTO_TCP);
	assert_int_equal(p.sport, 5555);
	assert_int_equal(p.dport, 443);
}

static void test_ipv6_unknown_next_header_stops(void **state)
{
	uint8_t b[sizeof(v6_hbh_tcp)];
	struct kg_pkt p;

	(void)state;
	memcpy(b, v6_hbh_tcp, sizeof(b));
	b[6] = 50;     /* ESP: not followed */
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
	assert_int_equal(p.l4proto, 50);
	/* Payload length larger than the bytes. */
	memcpy(b, v6_hbh_tcp, sizeof(b));
	b[5] = 200;
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), -EMSGSIZE);
	/* Extension header whose length runs past the payload. */
	memcpy(b, v6_hbh_tcp, sizeof(b));
	b[41] = 9;
	assert_int_equal(kg_pkt_parse(b, sizeof(b), &p), 0);
	assert_false(p.l4_ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_udp_ports_and_payload),
		cmocka_unit_test(test_ipv4_options_are_skipped),
		cmocka_unit_test(test_every_truncation_is_refused_or_portless),
		cmocka_unit_test(test_bad_ihl_is_refused),
		cmocka_unit_test(test_short_udp_header_has_no_ports),
		cmocka_unit_test(test_later_fragment_has_no_ports),
		cmocka_unit_test(test_tcp_data_offset_past_the_end),
		cmocka_unit_test(test_ipv6_hop_by_hop_is_followed),
		cmocka_unit_test(test_ipv6_unknown_next_header_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
