/* SPDX-License-Identifier: MIT */
/* Green's config sections and the ruleset rendered from them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "green.h"
#include "gate.h"

static int load(const char *text, struct green_conf *c, struct kg_err *e)
{
	char path[] = "/tmp/kg-test-green-XXXXXX";
	int fd = mkstemp(path);
	int r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = green_conf_load(c, path, e);
	unlink(path);
	return r;
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

/* Position of needle in hay; fails the test if absent. */
static size_t at(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (!p)
		fail_msg("missing from ruleset: %s", needle);
	return (size_t)(p - hay);
}

static const char base[] =
	"[green]\nwg_interface = kg-wg0\nmanagement_addresses = 198.51.100.5, 2001:db8:100::5\n"
	"[ips]\nscan_ports = 10\nmax_bans = 500\n";

static void test_defaults_give_the_contract_ports(void **state)
{
	char *t = render("[green]\n");

	(void)state;
	at(t, "table inet knockgate {");
	at(t, "udp dport 62201 jump knock");
	/* every WireGuard packet of an open source marks it seen (roaming) */
	at(t, "udp dport 51820 ip saddr . udp dport @wg_open4 update @wg_seen4 { ip saddr } accept");
	at(t, "udp dport 51820 ip6 saddr . udp dport @wg_open6 update @wg_seen6 { ip6 saddr } accept");
	at(t, "set wg_seen4 { type ipv4_addr; size 65535; flags dynamic,timeout; timeout 180s; }");
	at(t, "iifname \"kg-green0\" ip daddr 10.88.0.1 tcp dport 4433 ip saddr @peers_pending accept");
	at(t, "log prefix \"kg-knock\" group 1");
	at(t, "log prefix \"kg-scan\" group 2");
	/* No management configured: no set, no rule. */
	assert_null(strstr(t, "mgmt4"));
	free(t);
}

static void test_order_knock_before_ban_before_timed_sets_before_established(void **state)
{
	char *t = render(base);

	(void)state;
	assert_true(at(t, "iif \"lo\" accept") < at(t, "ip saddr @mgmt4 tcp dport { 22 } accept"));
	assert_true(at(t, "ip saddr @mgmt4") < at(t, "jump knock"));
	assert_true(at(t, "jump knock") < at(t, "ip saddr @banned4 drop"));
	/* Sessions before bans: a ban never cuts a live session. */
	assert_true(at(t, "@wg_open4 update @wg_seen4 { ip saddr } accept") < at(t, "ip saddr @banned4 drop"));
	assert_true(at(t, "@wg_open6 update @wg_seen6 { ip6 saddr } accept") < at(t, "@banned6 drop"));
	assert_true(at(t, "@peers_live accept") < at(t, "ip saddr @banned4 drop"));
	assert_true(at(t, "@peers_pending accept") < at(t, "ip saddr @banned4 drop"));
	assert_true(at(t, "@banned6 drop") < at(t, "udp dport 51820 counter name \"wg_closed\" jump scan"));
	assert_true(at(t, "udp dport 51820 counter name \"wg_closed\" jump scan") < at(t, "ct state established,related accept"));
	assert_true(at(t, "@peers_live accept") < at(t, "ct state established,related accept"));
	at(t, "ip6 saddr & ffff:ffff:ffff:ffff:: @banned6 drop");
	at(t, "set banned4 { type ipv4_addr; flags timeout; size 500; }");
	/* an opening is for one WireGuard port (its session's shard) */
	at(t, "set wg_open4 { type ipv4_addr . inet_service; flags timeout; }");
	at(t, "set wg_open6 { type ipv6_addr . inet_service; flags timeout; }");
	at(t, "counter wg_closed { }");
	at(t, "elements = { 198.51.100.5/32 }");
	at(t, "elements = { 2001:db8:100::5/128 }");
	/* a new connection must hit the grant's current port; an
	 * established one any port the grant held (a hopping grant) */
	at(t, "iifname \"kg-wg0\" ct state new ip saddr . ip daddr . tcp dport @fwd_grants accept");
	at(t, "iifname \"kg-wg0\" ct state established,related ip saddr . ip daddr . tcp dport @fwd_held accept");
	at(t, "policy drop;");
	free(t);
}

static void test_reverse_path_before_anything(void **state)
{
	char *t = render(base);
	size_t pre = at(t, "chain prerouting {");

	(void)state;
	/* Before conntrack and before the input chain counts anything. */
	at(t, "type filter hook prerouting priority raw; policy accept;");
	assert_true(pre < at(t, "chain input {"));
	assert_true(pre < at(t, "fib saddr . iif oif missing counter drop"));
	assert_true(at(t, "fib saddr . iif oif missing counter drop") < at(t, "chain input {"));
	/* Tunnel sources only from the WireGuard interface, whatever the
	 * routes say; the exemptions (loopback, ND, DHCP) come after it. */
	assert_true(at(t, "iif \"lo\" accept") < at(t, "iifname != \"kg-wg0\" ip saddr 10.88.0.0/16 counter drop"));
	assert_true(at(t, "iifname != \"kg-wg0\" ip saddr 10.88.0.0/16 counter drop") <
		    at(t, "udp sport 67 udp dport 68 accept"));
	assert_true(at(t, "nd-neighbor-solicit") < at(t, "fib saddr"));
	free(t);
	t = render("[green]\ntunnel_address = 10.99.7.1\ndhcp_client = no\n");
	at(t, "iifname != \"kg-green0\" ip saddr 10.99.0.0/16 counter drop");
	assert_null(strstr(t, "udp sport 67"));
	free(t);
}

static void test_prefilter_on_by_default(void **state)
{
	char *t = render(base);

	(void)state;
	at(t, "set knock_ids { typeof @th,104,64; flags timeout; }");
	at(t, "counter knock_prefilter_drop { }");
	at(t, "udp dport 62201 jump knock_port");
	/* Only a first knock's length (8 + 81) with a current id goes on. */
	assert_true(at(t, "chain knock_port {") < at(t, "udp length 89 @th,104,64 @knock_ids goto knock"));
	assert_true(at(t, "@knock_ids goto knock_id\n") < at(t, "log prefix \"kg-knock-miss\" group 1"));
	/* Then per key id, before the per-source meter. */
	at(t, "set knock_id_meter { typeof @th,104,64; size 1048576; flags dynamic,timeout;");
	at(t, "counter knock_id_limited { }");
	assert_true(at(t, "chain knock_id {") < at(t, "update @knock_id_meter { @th,104,64 limit rate 10/second burst 20 packets } goto knock\n"));
	assert_true(at(t, "@knock_id_meter {") < at(t, "counter name \"knock_id_limited\" drop"));
	at(t, "limit rate 1/second burst 1 packets log prefix \"kg-knock-miss\"");
	assert_true(at(t, "kg-knock-miss") < at(t, "counter name \"knock_prefilter_drop\" drop"));
	free(t);
	/* Off: today's path, no set. */
	t = render("[green]\nknock_id_rate = 3\n");
	at(t, "limit rate 3/second burst 6 packets } goto knock\n");
	free(t);
	t = render("[green]\n[knock]\nprefilter = no\n");
	assert_null(strstr(t, "knock_ids"));
	assert_null(strstr(t, "knock_id_meter"));
	assert_null(strstr(t, "knock_port"));
	at(t, "udp dport 62201 jump knock\n");
	free(t);
	/* Sequence mode keeps today's path for its ports. */
	t = render("[green]\n[knock]\nsequence = yes\n");
	at(t, "meta l4proto . th dport @seq_ports jump knock\n");
	at(t, "udp dport 62201 jump knock_port");
	free(t);
}

static void test_knock_meter_per_64_and_degrades(void **state)
{
	char *t = render("[green]\nknock_meter_size = 1000\nknock_overflow_rate = 7\n");
	size_t k = at(t, "chain knock {");

	(void)state;
	at(t, "set knock_meter4 { type ipv4_addr; size 1000;");
	at(t, "set knock_meter6 { type ipv6_addr; size 1000;");
	at(t, "update @knock_meter6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate 20/second");
	assert_true(k < at(t, "update @knock_meter4 { ip saddr limit rate 20/second burst 40 packets } log prefix \"kg-knock\" group 1 drop"));
	/* Over its limit: a source in the meter is dropped; one the meter
	 * had no room for still reaches green under the global limit. */
	at(t, "set knock_seen4 { type ipv4_addr; size 1000;");
	at(t, "set knock_seen6 { type ipv6_addr; size 1000;");
	assert_true(at(t, "update @knock_seen4 { ip saddr }") < at(t, "update @knock_meter4"));
	assert_true(at(t, "update @knock_seen6 { ip6 saddr & ffff:ffff:ffff:ffff:: }") < at(t, "update @knock_meter6"));
	assert_true(at(t, "update @knock_meter6") < at(t, "ip saddr @knock_seen4 drop"));
	assert_true(at(t, "ip6 saddr & ffff:ffff:ffff:ffff:: @knock_seen6 drop") <
		    at(t, "limit rate 7/second burst 7 packets log prefix \"kg-knock\" group 1\n"));
	free(t);
}

#define PUB "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="

static void test_site_link_sources_and_rules_before_bans(void **state)
{
	char *t = render("[green]\nwg_interface = kg-wg0\n"
			 "[site]\nid = green1\ninterface = kgsite0\nprivate_key = /x/site.key\n"
			 "address = 10.89.0.1/30\nhost_key = /x/host.key\nlease = 30\n"
			 "[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
			 "site_public_key = " PUB "\ncert = /x/red.pem\n");

	(void)state;
	assert_true(at(t, "iifname != \"kgsite0\" ip saddr 10.89.0.0/30 counter drop") < at(t, "fib saddr"));
	assert_true(at(t, "ip saddr 203.0.113.2") < at(t, "ip saddr @banned4 drop"));
	free(t);
}

/* Green never bans its reds (inside or site-link address), the site link
 * or the tunnel range, however its junk arrives. */
static void test_exempt_protects_infrastructure(void **state)
{
	struct green g;
	struct kg_err e = { "" };
	struct kg_addr a;
	static const char *const yes[] = {
		"203.0.113.2", "10.89.0.2", "10.89.0.1", "10.89.0.3",
		"10.88.1.10", "10.88.255.1",
	};
	static const char *const no[] = {
		"203.0.113.66", "10.89.0.4", "10.87.1.10", "198.51.100.66",
		"2001:db8:100::66",
	};

	(void)state;
	memset(&g, 0, sizeof(g));
	assert_int_equal(load("[green]\n"
			      "[site]\nid = green1\ninterface = kgsite0\nprivate_key = /x/site.key\n"
			      "address = 10.89.0.1/30\nhost_key = /x/host.key\nlease = 30\n"
			      "[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
			      "site_public_key = " PUB "\ncert = /x/red.pem\n", &g.conf, &e), 0);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(kg_addr_parse(yes[i], &a), 0);
		if (!green_gate_exempt(&g, &a))
			fail_msg("%s is not protected", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(kg_addr_parse(no[i], &a), 0);
		if (green_gate_exempt(&g, &a))
			fail_msg("%s is protected", no[i]);
	}
	green_conf_free(&g.conf);
}

static void test_never_reject(void **state)
{
	char *t = render(base);

	(void)state;
	assert_null(strstr(t, "reject"));
	free(t);
}

static void test_management_interfaces_and_all_ports(void **state)
{
	char *t = render("[green]\nmanagement_interfaces = eth9, mgmt0\n"
			 "management_addresses = 203.0.113.0/24\nmanagement_ports = all\n"
			 "dhcp_client = no\n");

	(void)state;
	at(t, "iifname { \"eth9\", \"mgmt0\" } accept");
	at(t, "ip saddr @mgmt4 accept");
	assert_null(strstr(t, "udp sport 67"));
	free(t);
}

static void test_config_errors_name_file_and_value(void **state)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)state;
	assert_int_equal(load("[green]\nknock_prot = 1\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "knock_prot"));
	green_conf_free(&c);
	/* A misspelt section is refused, even empty. */
	assert_int_equal(load("[gren]\n[green]\nknock_port = 1\n", &c, &e), -EINVAL);
	green_conf_free(&c);
	assert_int_equal(load("[gren]\nx = 1\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown section"));
	green_conf_free(&c);
	assert_int_equal(load("[green]\nknock_port = 70000\n", &c, &e), -EINVAL);
	green_conf_free(&c);
	assert_int_equal(load("[ips]\nnever_ban = 10.0.0.0/33\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "10.0.0.0/33"));
	green_conf_free(&c);
	assert_int_equal(load("[green]\nnflog_group_knock = 2\n", &c, &e), -EINVAL);
	green_conf_free(&c);
}

static void test_interface_names_cannot_inject_rules(void **state)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)state;
	assert_int_equal(load("[green]\nwg_interface = x\" accept #\n", &c, &e), -EINVAL);
	green_conf_free(&c);
	assert_int_equal(load("[green]\nmanagement_interfaces = a}b\n", &c, &e), -EINVAL);
	green_conf_free(&c);
	assert_int_equal(load("[green]\nwg_interface = abcdefghijklmnop\n", &c, &e), -EINVAL);
	green_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_give_the_contract_ports),
		cmocka_unit_test(test_order_knock_before_ban_before_timed_sets_before_established),
		cmocka_unit_test(test_never_reject),
		cmocka_unit_test(test_reverse_path_before_anything),
		cmocka_unit_test(test_prefilter_on_by_default),
		cmocka_unit_test(test_knock_meter_per_64_and_degrades),
		cmocka_unit_test(test_site_link_sources_and_rules_before_bans),
		cmocka_unit_test(test_exempt_protects_infrastructure),
		cmocka_unit_test(test_management_interfaces_and_all_ports),
		cmocka_unit_test(test_config_errors_name_file_and_value),
		cmocka_unit_test(test_interface_names_cannot_inject_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
