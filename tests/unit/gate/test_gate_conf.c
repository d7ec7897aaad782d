/* SPDX-License-Identifier: MIT */
/* Green's gate config: defaults, refusals, and the sequence-mode rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "wg_peers.h"

#define BASE "[green]\nwg_interface = kgt0\n"
#define SITE_PUB "Jl2w9hUOdw3Yd3V5U6cS2VqdTMNoVmHyVZ4sSR/yZ0k="

static int load(const char *text, struct green_conf *c, struct kg_err *e)
{
	char path[] = "/tmp/kg-test-gate-XXXXXX";
	int fd = mkstemp(path);
	int r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = green_conf_load(c, path, e);
	unlink(path);
	return r;
}

static void test_without_knock_section_the_gate_is_off(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(BASE, &c, &e), 0);
	assert_non_null(c.gate);
	assert_false(c.gate->enabled);
	green_conf_free(&c);
}

static void test_defaults_and_lab_values_are_read(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(BASE "[wireguard]\nprivate_key = /x/wg.key\n"
			      "[knock]\nusers_dir = /x/users.d\n"
			      "[pki]\nca = /x/ca.pem\ncrl = /x/crl.pem\n"
			      "[session]\nhandshake_timeout = 130\n"
			      "[service web]\nred = red1\naddress = 203.0.113.2\n",
			      &c, &e), 0);
	assert_true(c.gate->enabled);
	assert_string_equal(c.gate->wg_private_key, "/x/wg.key");
	assert_string_equal(c.gate->users_dir, "/x/users.d");
	assert_string_equal(c.gate->crl, "/x/crl.pem");
	assert_int_equal(c.gate->window_s, 30);
	assert_int_equal(c.gate->replay_cache, 65536);
	assert_false(c.gate->sequence);
	assert_int_equal(c.gate->sess.lim.handshake_timeout, 130);
	assert_int_equal(c.gate->sess.control_port, 4433);
	assert_int_equal(c.gate->services.n_svc, 1);
	assert_string_equal(c.gate->services.svc[0].name, "web");
	green_conf_free(&c);
}

static void refused(const char *text, const char *needle)
{
	struct green_conf c;
	struct kg_err e = { "" };

	assert_int_not_equal(load(text, &c, &e), 0);
	if (!strstr(e.msg, needle))
		fail_msg("'%s' lacks '%s'", e.msg, needle);
	green_conf_free(&c);
}

static void test_unknown_keys_and_bad_values_are_refused(void **st)
{
	(void)st;
	refused(BASE "[knock]\nuser_dir = /x\n", "user_dir");
	refused(BASE "[wireguard]\nprivatekey = /x\n", "privatekey");
	refused(BASE "[pki]\ncrls = /x\n", "crls");
	refused(BASE "[knock]\nwindow = 1\n", "window");
	refused(BASE "[knock]\nsequence = maybe\n", "sequence");
	refused(BASE "[session]\nhandshake_timeout = 60\n", "handshake_timeout");
	refused(BASE "[service web]\nred = red1\n", "address");
	refused(BASE "[servic web]\nred = red1\n", "servic");
}

static void test_two_control_ports_are_refused(void **st)
{
	(void)st;
	refused(BASE "[session]\ncontrol_port = 4434\n", "control_port");
}

static char *render(const char *text)
{
	struct green_conf c;
	struct kg_err e = { "" };
	char *out;

	assert_int_equal(load(text, &c, &e), 0);
	assert_int_equal(green_ruleset_render(&c, &out), 0);
	green_conf_free(&c);
	return out;
}

static void test_sequence_ports_go_to_the_knock_group_only_in_sequence_mode(void **st)
{
	char *off = render(BASE "[knock]\n");
	char *on = render(BASE "[knock]\nsequence = yes\n");
	const char *rule = "meta l4proto . th dport @seq_ports jump knock";

	(void)st;
	assert_null(strstr(off, "seq_ports"));
	assert_non_null(strstr(on, "set seq_ports { type inet_proto . inet_service; }"));
	assert_non_null(strstr(on, rule));
	assert_non_null(strstr(on, "th dport 40000-49999 jump knock"));
	/* After the ban drop: banned sources get no sequence through. */
	assert_true(strstr(on, rule) > strstr(on, "@banned4 drop"));
	free(off);
	free(on);
}


static void test_shards_split_the_tunnel_prefix(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	struct kg_prefix tun, b;
	struct kg_addr a;
	char *text = NULL;

	(void)st;
	assert_int_equal(load(BASE "tunnel_address = 10.96.0.1\ntunnel_prefix_len = 14\n"
			      "wg_shards = 4\ntunnel_prefix6 = fd88::/64\n", &c, &e), 0);
	assert_int_equal(c.tunnel_prefix_len, 14);
	assert_int_equal(c.wg_shards, 4);
	green_tunnel_prefix(&c, &tun);
	assert_int_equal(tun.len, 14);
	assert_int_equal(kg_addr_parse("10.99.255.254", &a), 0);
	assert_int_equal(green_shard_of(&tun, 4, &a), 3);
	assert_int_equal(kg_addr_parse("10.97.1.2", &a), 0);
	assert_int_equal(green_shard_of(&tun, 4, &a), 1);
	green_shard_block(&tun, 4, 2, &b);
	assert_int_equal(b.len, 16);
	assert_int_equal(b.a.b[1], 98);
	assert_int_equal(kg_addr_parse("fd88::c000:0:0:1", &a), 0);
	assert_int_equal(green_shard_of(&c.tunnel_prefix6, 4, &a), 3);
	/* every rule naming the interface names all four; the port range */
	assert_int_equal(green_ruleset_render(&c, &text), 0);
	assert_non_null(strstr(text, "iifname { \"kgt0\", \"kgt0s1\", \"kgt0s2\", \"kgt0s3\" } drop"));
	assert_non_null(strstr(text, "udp dport 51820-51823 ip saddr . udp dport @wg_open4"));
	assert_non_null(strstr(text, "iifname != { \"kgt0\", \"kgt0s1\", \"kgt0s2\", \"kgt0s3\" } ip saddr 10.96.0.0/14 counter drop"));
	free(text);
	green_conf_free(&c);
	/* one device: as before */
	assert_int_equal(load(BASE, &c, &e), 0);
	assert_int_equal(c.wg_shards, 1);
	assert_int_equal(green_ruleset_render(&c, &text), 0);
	assert_non_null(strstr(text, "iifname != \"kgt0\" ip saddr 10.88.0.0/16 counter drop"));
	assert_non_null(strstr(text, "udp dport 51820 ip saddr . udp dport @wg_open4"));
	free(text);
	green_conf_free(&c);
}

static void test_bad_shards_are_refused(void **st)
{
	(void)st;
	refused(BASE "wg_shards = 3\n", "power of two");
	refused(BASE "wg_shards = 32\n", "wg_shards");
	refused(BASE "tunnel_prefix_len = 7\n", "tunnel_prefix_len");
	refused(BASE "tunnel_prefix_len = 25\n", "tunnel_prefix_len");
	refused(BASE "tunnel_address = 10.88.200.1\nwg_shards = 2\n", "first of the 2 blocks");
	refused("[green]\nwg_interface = kg-green-long\nwg_shards = 16\n", "15 characters");
	refused(BASE "wg_shards = 4\nknock_port = 51822\n", "knock_port");
	refused(BASE "wg_shards = 2\n[site]\nid = green1\ninterface = kgsite0\n"
		"private_key = /x/site.key\naddress = 10.89.0.1/30\nhost_key = /x/host.key\n"
		"listen_port = 51821\n[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
		"site_public_key = " SITE_PUB "\ncert = /x/red.pem\n",
		"listen_port 51821 is one of the WireGuard shards' ports 51820..51821");
}

static void test_records_must_fit_their_shard(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	struct kg_user v[2];
	struct kg_users u = { .v = v, .n = 2, .cap = 2 };

	(void)st;
	memset(v, 0, sizeof(v));
	assert_int_equal(load(BASE "wg_shards = 2\ntunnel_prefix6 = fd88::/64\n", &c, &e), 0);
	snprintf(v[0].name, sizeof(v[0].name), "alice");
	assert_int_equal(kg_addr_parse("10.88.1.10", &v[0].tunnel), 0);
	assert_int_equal(kg_addr_parse("fd88::10", &v[0].tunnel6), 0);
	snprintf(v[1].name, sizeof(v[1].name), "carol");
	assert_int_equal(kg_addr_parse("10.88.200.10", &v[1].tunnel), 0);
	assert_int_equal(kg_addr_parse("fd88::8000:0:0:10", &v[1].tunnel6), 0);
	assert_int_equal(gate_shards_check_users(&c, &u, &e), 0);
	/* carol's IPv6 address in shard 0's block, her IPv4 one in 1's */
	assert_int_equal(kg_addr_parse("fd88::11", &v[1].tunnel6), 0);
	assert_int_equal(gate_shards_check_users(&c, &u, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "user carol: tunnel_address6 fd88::11 is in shard 0's block"));
	/* an IPv4 address outside the prefix has no shard */
	assert_int_equal(kg_addr_parse("fd88::8000:0:0:11", &v[1].tunnel6), 0);
	assert_int_equal(kg_addr_parse("10.89.0.5", &v[1].tunnel), 0);
	assert_int_equal(gate_shards_check_users(&c, &u, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "user carol: tunnel_address 10.89.0.5 is not in green's tunnel prefix 10.88.0.0/16"));
	green_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_knock_section_the_gate_is_off),
		cmocka_unit_test(test_defaults_and_lab_values_are_read),
		cmocka_unit_test(test_unknown_keys_and_bad_values_are_refused),
		cmocka_unit_test(test_two_control_ports_are_refused),
		cmocka_unit_test(test_sequence_ports_go_to_the_knock_group_only_in_sequence_mode),
		cmocka_unit_test(test_shards_split_the_tunnel_prefix),
		cmocka_unit_test(test_bad_shards_are_refused),
		cmocka_unit_test(test_records_must_fit_their_shard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
