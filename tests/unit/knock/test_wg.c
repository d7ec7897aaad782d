/* SPDX-License-Identifier: MIT */
/* WireGuard control without a running WireGuard: the UAPI request text,
 * the UAPI answer parser, and the kernel netlink message bytes (checked
 * against an independent TLV layout written out here by hand). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "lib/wg.h"

static void one_peer(struct kg_wg_peer *p)
{
	memset(p, 0, sizeof(*p));
	memset(p->public_key, 0x01, 32);
	p->replace_allowed_ips = true;
	assert_int_equal(kg_prefix_parse("10.88.1.10/32", &p->allowed[0]), 0);
	p->n_allowed = 1;
	p->has_keepalive = true;
	p->keepalive_s = 25;
}

static void test_uapi_set_request_is_hex_keyed_text(void **st)
{
	struct kg_wg_peer p[2];
	struct kg_wg_device d = { .has_private_key = true, .has_listen_port = true,
				  .listen_port = 51820, .peers = p, .n_peers = 2 };
	char buf[1024];
	size_t len;

	(void)st;
	memset(d.private_key, 0xab, 32);
	one_peer(&p[0]);
	p[0].has_endpoint = true;
	p[0].endpoint.in.sin_family = AF_INET;
	p[0].endpoint.in.sin_port = htons(4000);
	inet_pton(AF_INET, "198.51.100.10", &p[0].endpoint.in.sin_addr);
	memset(&p[1], 0, sizeof(p[1]));
	memset(p[1].public_key, 0x02, 32);
	p[1].remove = true;
	assert_int_equal(kg_wg_uapi_format_set(&d, buf, sizeof(buf), &len), 0);
	assert_string_equal(buf,
		"set=1\n"
		"private_key=abababababababababababababababababababababababababababababababab\n"
		"listen_port=51820\n"
		"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
		"endpoint=198.51.100.10:4000\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.88.1.10/32\n"
		"public_key=0202020202020202020202020202020202020202020202020202020202020202\n"
		"remove=true\n"
		"\n");
	assert_int_equal(len, strlen(buf));
	assert_int_equal(kg_wg_uapi_format_set(&d, buf, 100, &len), -EMSGSIZE);
}

static void test_uapi_get_answer_is_parsed_with_handshake_and_bytes(void **st)
{
	static const char ans[] =
		"private_key=abababababababababababababababababababababababababababababababab\n"
		"listen_port=51820\n"
		"public_key=0101010101010101010101010101010101010101010101010101010101010101\n"
		"endpoint=[2001:db8:100::10]:4000\n"
		"last_handshake_time_sec=1795000000\n"
		"last_handshake_time_nsec=5\n"
		"tx_bytes=92\nrx_bytes=180\n"
		"persistent_keepalive_interval=0\n"
		"allowed_ip=10.88.1.10/32\n"
		"protocol_version=1\n"
		"errno=0\n\n";
	struct kg_wg_device d;
	int remote = -1;

	(void)st;
	assert_int_equal(kg_wg_uapi_parse_get(ans, strlen(ans), &d, &remote), 0);
	assert_int_equal(remote, 0);
	assert_int_equal(d.listen_port, 51820);
	assert_int_equal(d.n_peers, 1);
	assert_int_equal(d.peers[0].last_handshake_sec, 1795000000);
	assert_int_equal(d.peers[0].rx_bytes, 180);
	assert_int_equal(d.peers[0].tx_bytes, 92);
	assert_int_equal(d.peers[0].endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(d.peers[0].endpoint.in6.sin6_port), 4000);
	assert_int_equal(d.peers[0].n_allowed, 1);
	kg_wg_device_free(&d);
	assert_int_equal(kg_wg_uapi_parse_get("errno=22\n\n", 10, &d, &remote), 0);
	assert_int_equal(remote, 22);
	kg_wg_device_free(&d);
	assert_int_equal(kg_wg_uapi_parse_get("listen_port=99999\nerrno=0\n\n", 27,
					      &d, &remote), -EPROTO);
	assert_int_equal(kg_wg_uapi_parse_get("listen_port=1\n", 14, &d, &remote),
			 -EPROTO);
}

/* Hand-written netlink TLVs (host order, 4-byte aligned). */
struct tlv {
	uint8_t b[512];
	size_t n;
};

static size_t attr(struct tlv *t, uint16_t type, const void *v, size_t len)
{
	uint16_t l = (uint16_t)(4 + len);
	size_t at = t->n;

	memcpy(t->b + t->n, &l, 2);
	memcpy(t->b + t->n + 2, &type, 2);
	if (v)
		memcpy(t->b + t->n + 4, v, len);
	t->n += (4 + len + 3) & ~(size_t)3;
	return at;
}

static void close_nest(struct tlv *t, size_t at)
{
	uint16_t l = (uint16_t)(t->n - at);

	memcpy(t->b + at, &l, 2);
}

static void test_netlink_set_device_bytes_match_wireguard_h_layout(void **st)
{
	struct kg_wg_peer p;
	struct kg_wg_device d = { .has_listen_port = true, .listen_port = 51820,
				  .peers = &p, .n_peers = 1 };
	uint8_t buf[512], key[32], ip[4] = { 10, 88, 1, 10 }, mask = 32;
	uint16_t port = 51820, ka = 25, fam = AF_INET;
	uint32_t flags = 2 /* WGPEER_F_REPLACE_ALLOWEDIPS */, hdr[4];
	uint8_t genl[4] = { 1 /* WG_CMD_SET_DEVICE */, 1, 0, 0 };
	struct tlv t = { .n = 20 };
	size_t len, peers, peer, ips, one;

	(void)st;
	one_peer(&p);
	memset(key, 0x01, 32);
	attr(&t, 2 /* IFNAME */, "wg0", 4);
	attr(&t, 6 /* LISTEN_PORT */, &port, 2);
	peers = attr(&t, 8 | NLA_F_NESTED, NULL, 0);
	peer = attr(&t, 0 | NLA_F_NESTED, NULL, 0);
	attr(&t, 1 /* PUBLIC_KEY */, key, 32);
	attr(&t, 3 /* FLAGS */, &flags, 4);
	attr(&t, 5 /* KEEPALIVE */, &ka, 2);
	ips = attr(&t, 9 | NLA_F_NESTED, NULL, 0);
	one = attr(&t, 0 | NLA_F_NESTED, NULL, 0);
	attr(&t, 1 /* FAMILY */, &fam, 2);
	attr(&t, 2 /* IPADDR */, ip, 4);
	attr(&t, 3 /* CIDR_MASK */, &mask, 1);
	close_nest(&t, one);
	close_nest(&t, ips);
	close_nest(&t, peer);
	close_nest(&t, peers);
	hdr[0] = (uint32_t)t.n;
	hdr[1] = 0x1234 | (uint32_t)(NLM_F_REQUEST | NLM_F_ACK) << 16;
	hdr[2] = 7;
	hdr[3] = 0;
	memcpy(t.b, hdr, 16);
	memcpy(t.b + 16, genl, 4);

	assert_int_equal(kg_wg_nl_encode_set("wg0", 0x1234, 7, &d, buf,
					     sizeof(buf), &len), 0);
	assert_int_equal(len, t.n);
	assert_memory_equal(buf, t.b, t.n);
	assert_int_equal(kg_wg_nl_encode_set("wg0", 0x1234, 7, &d, buf, 60, &len),
			 -EMSGSIZE);
	assert_int_equal(kg_wg_nl_encode_set("a-name-far-too-long", 1, 1, &d, buf,
					     sizeof(buf), &len), -EINVAL);
}

static void test_netlink_remove_peer_sends_only_key_and_flag(void **st)
{
	struct kg_wg_peer p;
	struct kg_wg_device d = { .peers = &p, .n_peers = 1 };
	uint8_t buf[256];
	size_t len;

	(void)st;
	one_peer(&p);
	p.remove = true;
	assert_int_equal(kg_wg_nl_encode_set("wg0", 9, 1, &d, buf, sizeof(buf), &len), 0);
	/* 16 nlmsghdr + 4 genl + 8 ifname + 4 peers + 4 peer + 36 key + 8 flags */
	assert_int_equal(len, 16 + 4 + 8 + 4 + 4 + 36 + 8);
	assert_int_equal(buf[len - 4], 1 /* WGPEER_F_REMOVE_ME */);
}

/* A kernel GET_DEVICE answer, built as the kernel lays it out. */
static size_t kernel_answer(uint8_t *buf, size_t cap, const char *ip,
			    bool with_stats)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct nlattr *peers, *peer, *ips, *one;
	uint8_t key[32], a[4];
	struct sockaddr_in ep = { .sin_family = AF_INET, .sin_port = htons(4000) };
	struct { int64_t sec, nsec; } ts = { 1795000000, 7 };

	memset(buf, 0, cap);
	memset(key, 0x01, 32);
	inet_pton(AF_INET, "198.51.100.10", &ep.sin_addr);
	inet_pton(AF_INET, ip, a);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = 0x1234;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = 0;
	mnl_attr_put_u16(nlh, 6 /* LISTEN_PORT */, 51820);
	peers = mnl_attr_nest_start(nlh, 8);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, 1 /* PUBLIC_KEY */, 32, key);
	if (with_stats) {
		mnl_attr_put(nlh, 4 /* ENDPOINT */, sizeof(ep), &ep);
		mnl_attr_put(nlh, 6 /* LAST_HANDSHAKE_TIME */, sizeof(ts), &ts);
		mnl_attr_put_u64(nlh, 7 /* RX */, 180);
		mnl_attr_put_u64(nlh, 8 /* TX */, 92);
		mnl_attr_put_u16(nlh, 5 /* KEEPALIVE */, 25);
	}
	ips = mnl_attr_nest_start(nlh, 9);
	one = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, 1, AF_INET);
	mnl_attr_put(nlh, 2, 4, a);
	mnl_attr_put_u8(nlh, 3, 32);
	mnl_attr_nest_end(nlh, one);
	mnl_attr_nest_end(nlh, ips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return nlh->nlmsg_len;
}

static void test_netlink_get_answer_is_parsed_and_split_peers_merged(void **st)
{
	uint8_t m1[512], m2[512];
	size_t n1 = kernel_answer(m1, sizeof(m1), "10.88.1.10", true);
	size_t n2 = kernel_answer(m2, sizeof(m2), "10.88.1.11", false);
	struct kg_wg_device d = { 0 };
	char a[KG_ADDR_STRLEN];

	(void)st;
	assert_int_equal(kg_wg_nl_parse_get(m1, n1, &d), 0);
	assert_int_equal(kg_wg_nl_parse_get(m2, n2, &d), 0);
	assert_int_equal(d.listen_port, 51820);
	assert_int_equal(d.n_peers, 1);   /* the second message continues it */
	assert_int_equal(d.peers[0].last_handshake_sec, 1795000000);
	assert_int_equal(d.peers[0].rx_bytes, 180);
	assert_int_equal(d.peers[0].tx_bytes, 92);
	assert_int_equal(d.peers[0].keepalive_s, 25);
	assert_int_equal(ntohs(d.peers[0].endpoint.in.sin_port), 4000);
	assert_int_equal(d.peers[0].n_allowed, 2);
	assert_string_equal(kg_addr_str(&d.peers[0].allowed[1].a, a), "10.88.1.11");
	kg_wg_device_free(&d);
	/* A public key of the wrong length is refused. */
	n1 = kernel_answer(m1, sizeof(m1), "10.88.1.10", true);
	m1[16 + 4 + 8 + 4 + 4] = 4 + 31;   /* PUBLIC_KEY nla_len */
	assert_int_equal(kg_wg_nl_parse_get(m1, n1, &d), -EPROTO);
	kg_wg_device_free(&d);
	assert_int_equal(kg_wg_nl_parse_get(m1, 10, &d), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uapi_set_request_is_hex_keyed_text),
		cmocka_unit_test(test_uapi_get_answer_is_parsed_with_handshake_and_bytes),
		cmocka_unit_test(test_netlink_set_device_bytes_match_wireguard_h_layout),
		cmocka_unit_test(test_netlink_remove_peer_sends_only_key_and_flag),
		cmocka_unit_test(test_netlink_get_answer_is_parsed_and_split_peers_merged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
