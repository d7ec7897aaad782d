/* SPDX-License-Identifier: MIT */
/* red.conf: fields, refusals quoting file:line, and the rendered table
 * holding the rules docs/nftables.md ("Red's table, rule by rule") needs. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "rules.h"

static const char base[] =
	"[red]\nid = red1\naddresses = 203.0.113.2, 2001:db8:113::2\n"
	"ca = ca.pem\ncrl = /abs/crl.pem\nhost_key = host.key\nhost_cert = host.pem\n"
	"management = 198.51.100.5\n"
	"[site]\ninterface = kg-red0\nprivate_key = site.key\n"
	"peer_public_key = AAAA\npeer_endpoint = 203.0.113.1:51821\n"
	"[green green1]\naddress = 203.0.113.1\ncert = green.pem\n"
	"[service web]\nport = 8080\npool = 40000-40099\n";

/* base with its [green green1] section given its own keys (a section
 * written twice is two sections) */
static int load_green1(const char *green1_keys, const char *extra,
		       struct kg_red_config *rc, struct kg_err *e)
{
	static const char g1[] = "[green green1]\naddress = 203.0.113.1\ncert = green.pem\n";
	const char *at = strstr(base, g1);
	char text[2048];
	struct kg_conf c;
	int r;

	snprintf(text, sizeof(text), "%.*s%s%s%s%s", (int)(at - base), base, g1,
		 green1_keys, at + strlen(g1), extra);
	r = kg_conf_parse(&c, "red.conf", text, strlen(text), e);
	if (r == 0)
		r = kg_red_config_from(rc, &c, "/etc/kg", e);
	kg_conf_free(&c);
	return r;
}

static int load(const char *extra, struct kg_red_config *rc, struct kg_err *e)
{
	char text[2048];
	struct kg_conf c;
	int r;

	snprintf(text, sizeof(text), "%s%s", base, extra);
	r = kg_conf_parse(&c, "red.conf", text, strlen(text), e);
	if (r == 0)
		r = kg_red_config_from(rc, &c, "/etc/kg", e);
	kg_conf_free(&c);
	return r;
}

static void test_valid_config_fills_every_field(void **state)
{
	static struct kg_red_config rc;
	struct kg_err e;

	(void)state;
	if (load("[service ssh]\nport = 22\npool = 41000-41000\nproto = tcp\n", &rc, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(rc.id, "red1");
	assert_int_equal(rc.n_addrs, 2);
	assert_int_equal(rc.knock_port, 62202);
	assert_string_equal(rc.ca, "/etc/kg/ca.pem");
	assert_string_equal(rc.crl, "/abs/crl.pem");
	assert_int_equal(rc.window, 30);
	assert_int_equal(rc.site.listen_port, 51821);
	assert_int_equal(rc.site.peer_port, 51821);
	assert_int_equal(rc.site.address.len, 30);
	assert_int_equal(rc.site.address.a.b[3], 2);
	assert_int_equal(rc.tunnel_range.len, 16);
	assert_int_equal(rc.n_greens, 1);
	assert_string_equal(rc.greens[0].cert, "/etc/kg/green.pem");
	assert_int_equal(rc.n_services, 2);
	assert_int_equal(rc.services[1].pool_lo, 41000);
	assert_int_equal(rc.services[1].proto, IPPROTO_TCP);
	/* a lone green knocks from [site] peer_address (default 10.89.0.1) */
	assert_int_equal(rc.greens[0].link.family, AF_INET);
	assert_int_equal(rc.greens[0].link.b[3], 1);
	assert_int_equal(rc.greens[0].link.b[0], 10);
	assert_ptr_equal(kg_red_green_by_link(&rc, &rc.greens[0].link), &rc.greens[0]);
	assert_null(kg_red_green_by_link(&rc, &rc.greens[0].addr));
	/* knock limit per green, from max_grants (1024): 0.4/s a grant */
	assert_int_equal(rc.knock_rate, 410);
	assert_int_equal(rc.knock_burst, 1024);
	assert_null(kg_red_service_by_name(&rc, "nope"));
}

static void test_hop_keys(void **state)
{
	static struct kg_red_config rc;
	struct kg_err e = { "" };
	const struct kg_red_service *h;

	(void)state;
	if (load("[service h]\nport = 22\npool = 9001-9050, 9060-9099\nhop = yes\n"
		 "hop_interval = 10, 20,30\nhop_overlap = 1500ms\n", &rc, &e))
		fail_msg("%s", e.msg);
	h = kg_red_service_by_name(&rc, "h");
	assert_non_null(h);
	assert_true(h->hop.on);
	assert_int_equal(h->hop.n_pool, 2);
	assert_int_equal(h->pool_lo, 9001);
	assert_int_equal(h->pool_hi, 9099);
	assert_int_equal(h->hop.n_intervals, 3);
	assert_int_equal(h->hop.intervals[2], 30000);
	assert_int_equal(h->hop.overlap_ms, 1500);
	/* defaults: no hopping, 30 s, 2 s overlap */
	h = kg_red_service_by_name(&rc, "web");
	assert_false(h->hop.on);
	assert_int_equal(h->hop.intervals[0], 30000);
	assert_int_equal(h->hop.overlap_ms, 2000);
}

static void test_link_addresses_and_knock_limits(void **state)
{
	static struct kg_red_config rc;
	struct kg_prefix nb[KG_RED_NEVER_BAN_MAX];
	struct kg_addr a;
	struct kg_err e;
	size_t n;
	bool tunnel = false, inside = false, link = false;

	(void)state;
	if (load("[green green2]\naddress = 203.0.113.3\nlink_address = 10.89.0.5\ncert = g2.pem\n"
		 "[red]\n", &rc, &e) == 0)
		fail_msg("two greens, one without link_address, accepted");
	assert_non_null(strstr(e.msg, "link_address"));
	if (load("[red]\nmax_grants = 10\nknock_rate = 7\nknock_burst = 9\n", &rc, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rc.knock_rate, 7);
	assert_int_equal(rc.knock_burst, 9);
	n = kg_red_never_ban(&rc, nb, KG_RED_NEVER_BAN_MAX);
	for (size_t i = 0; i < n; i++) {
		tunnel |= nb[i].len == 16 && nb[i].a.b[0] == 10 && nb[i].a.b[1] == 88;
		inside |= nb[i].len == 32 && kg_addr_eq(&nb[i].a, &rc.greens[0].addr);
		link |= nb[i].len == 32 && kg_addr_eq(&nb[i].a, &rc.greens[0].link);
	}
	assert_true(tunnel && inside && link);
	kg_addr_parse("10.89.0.1", &a);
	assert_non_null(kg_red_green_by_link(&rc, &a));
}

static void refused(const char *extra, const char *needle)
{
	static struct kg_red_config rc;
	struct kg_err e = { "" };

	assert_int_not_equal(load(extra, &rc, &e), 0);
	if (!strstr(e.msg, needle))
		fail_msg("error '%s' lacks '%s'", e.msg, needle);
}

static void test_bad_configs_are_refused_with_file_and_line(void **state)
{
	(void)state;
	refused("[service ssh]\nport = 22\npool = 40050-40200\n", "pools must not overlap");
	refused("[service ssh]\nport = 22\npool = 5-4\n", "red.conf:22: pool");
	refused("[service ssh]\nport = 22\npool = 1-4\nproto = sctp\n", "'sctp'");
	/* hopping: intervals, overlap, pool */
	refused("[service h]\nport = 22\npool = 9001-9099\nhop = yes\nhop_interval = 500ms\n",
		"hop_interval: at least 1 s, got '500ms'");
	refused("[service h]\nport = 22\npool = 9001-9099\nhop = yes\nhop_interval = 2-1\n",
		"hop_interval");
	refused("[service h]\nport = 22\npool = 9001-9099\nhop = yes\nhop_interval = 2\nhop_overlap = 2\n",
		"shorter than the shortest");
	refused("[service h]\nport = 22\npool = 9001\nhop = yes\n", "at least two ports");
	refused("[service h]\nport = 22\npool = 9001-9010, 40050\n", "pools must not overlap");
	refused("[green green2]\naddress = nowhere\ncert = x\n", "'nowhere'");
	refused("[service s]\nport = 1\npool = 2-3\ncolour = red\n", "colour");
	refused("[green green2]\naddress = 203.0.113.3\nlink_address = 10.89.0.1\ncert = x\n"
		"[green green1]\n", "link_address");
	refused("[red]\nknock_rate = 0\n", "knock_rate");
	refused("[red]\ntunnel_range = fd88::/64\n", "tunnel_range");
	refused("[red]\ntunnel_range6 = 10.0.0.0/8\n", "tunnel_range6");
	refused("[red]\ntunnel_range6 = fd88::/96\n", "tunnel_range6");
	refused("[site]\naddress6 = 10.89.0.2/30\n", "address6");
}

/* Two greens: each its own tunnel range inside [red] tunnel_range and
 * its own site key; a client address belongs to one green only. */
static const char green1_keys[] = "link_address = 10.89.0.1\ntunnel_range = 10.88.0.0/24\n";
static const char green2[] =
	"[green green2]\naddress = 203.0.113.3\nlink_address = 10.89.0.3\ncert = g2.pem\n"
	"site_public_key = BBBB\nsite_endpoint = 203.0.113.3:51821\n";

static void refused2(const char *g1, const char *extra, const char *needle)
{
	static struct kg_red_config rc;
	struct kg_err e = { "" };

	assert_int_not_equal(load_green1(g1, extra, &rc, &e), 0);
	if (!strstr(e.msg, needle))
		fail_msg("error '%s' lacks '%s'", e.msg, needle);
}

static void test_many_greens_have_disjoint_ranges(void **state)
{
	static struct kg_red_config rc;
	char text[1024];
	struct kg_addr a;
	struct kg_err e;

	(void)state;
	snprintf(text, sizeof(text), "%stunnel_range = 10.88.1.0/24\n", green2);
	if (load_green1(green1_keys, text, &rc, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rc.n_greens, 2);
	assert_string_equal(rc.greens[1].site_public_key, "BBBB");
	assert_int_equal(rc.greens[1].site_port, 51821);
	assert_int_equal(rc.greens[0].site_public_key[0], '\0');
	kg_addr_parse("10.88.1.10", &a);
	assert_ptr_equal(kg_red_green_by_client(&rc, &a), &rc.greens[1]);
	kg_addr_parse("10.88.0.10", &a);
	assert_ptr_equal(kg_red_green_by_client(&rc, &a), &rc.greens[0]);
	kg_addr_parse("10.88.2.10", &a);
	assert_null(kg_red_green_by_client(&rc, &a));
	/* a lone green has [red] tunnel_range */
	if (load("", &rc, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rc.greens[0].tunnel_range.len, 16);

	/* a range for every green once there are several */
	refused2(green1_keys, green2, "tunnel_range: required with more than one");
	refused2("link_address = 10.89.0.1\n", text, "tunnel_range: required with more than one");
	snprintf(text, sizeof(text), "%stunnel_range = 10.88.0.128/25\n", green2);
	refused2(green1_keys, text,
		 "must not overlap [green green1] tunnel_range, got '10.88.0.128/25'");
	snprintf(text, sizeof(text), "%stunnel_range = 10.88.0.0/15\n", green2);
	refused2(green1_keys, text, "inside [red] tunnel_range");
	snprintf(text, sizeof(text), "%stunnel_range = 10.90.0.0/24\n", green2);
	refused2(green1_keys, text, "inside [red] tunnel_range");
	/* one green at most rides on [site]'s peer; keys are not shared */
	refused2(green1_keys,
		 "[green green2]\naddress = 203.0.113.3\nlink_address = 10.89.0.3\ncert = g2.pem\n"
		 "tunnel_range = 10.88.1.0/24\n", "site_public_key: required");
	snprintf(text, sizeof(text),
		 "%stunnel_range = 10.88.1.0/24\n[green green3]\naddress = 203.0.113.4\n"
		 "link_address = 10.89.0.4\ncert = g3.pem\ntunnel_range = 10.88.2.0/24\n"
		 "site_public_key = BBBB\n", green2);
	refused2(green1_keys, text, "one key per green");
	refused2("site_endpoint = 203.0.113.1:1\n", "", "needs site_public_key");
}

/* Where needle first occurs in text; fails the test if it does not. */
static const char *at(const char *text, const char *needle)
{
	const char *p = strstr(text, needle);

	if (!p)
		fail_msg("rules lack '%s'", needle);
	return p;
}

static void test_rules_hold_the_required_rules(void **state)
{
	static struct kg_red_config rc;
	static char text[32768];
	const char *input, *spoof, *links, *knock, *foreign, *ban, *site_wg;
	struct kg_err e;

	(void)state;
	assert_int_equal(load("[red]\nnever_ban = 203.0.113.1\n", &rc, &e), 0);
	assert_int_equal(kg_red_render_rules(&rc, text, sizeof(text)), 0);
	at(text, "table inet knockgate {");
	at(text, "policy drop;");
	/* reverse path, before conntrack, before anything counts */
	at(text, "type filter hook prerouting priority raw; policy accept;");
	assert_true(at(text, "fib saddr . iif oif missing drop") < at(text, "chain input {"));
	assert_true(at(text, "udp sport 67 udp dport 68 accept") < at(text, "fib saddr"));
	input = at(text, "chain input {");
	/* wrong-interface tunnel and link sources, then knocks, then bans */
	spoof = at(input, "ip saddr 10.88.0.0/16 iifname != \"kg-red0\" drop");
	links = at(input, "ip saddr @links4 iifname != \"kg-red0\" drop");
	knock = at(input, "iifname \"kg-red0\" ip saddr 10.89.0.1 udp dport 62202 limit rate 410/second burst 1024 packets log group 2 prefix \"knock\" drop");
	foreign = at(input, "udp dport 62202 counter name knock_foreign drop");
	ban = at(input, "ip saddr != @never_ban4 ip saddr @banned4 drop");
	site_wg = at(input, "ip saddr @greens4 udp dport 51821 accept");
	assert_true(spoof < at(input, "ip saddr @mgmt4 accept"));
	assert_true(links < knock && spoof < knock && knock < foreign);
	assert_true(foreign < ban && site_wg < ban);
	/* no other rule sends knock-port packets to NFLOG: one per green */
	assert_null(strstr(strchr(knock, '\n'), "prefix \"knock\""));
	assert_null(strstr(text, "meter knock"));
	/* never banned: never_ban, greens (inside, link), the tunnel range;
	 * the green listed twice is merged, not a conflict */
	at(text, "set never_ban4 { type ipv4_addr; flags interval; auto-merge; elements = { 203.0.113.1/32, 203.0.113.1/32, 10.89.0.1/32, 10.88.0.0/16 }; }");
	at(text, "set links4 { type ipv4_addr; flags interval; auto-merge; elements = { 10.89.0.1/32 }; }");
	at(text, "set greens4 { type ipv4_addr; flags interval; auto-merge; elements = { 203.0.113.1/32 }; }");
	at(text, "counter knock_foreign { }");
	at(input, "iifname \"kg-red0\" meta l4proto { tcp, udp } ct state new ip saddr . ct original proto-dst @allowed4 accept");
	at(input, "iifname \"kg-red0\" meta l4proto { tcp, udp } ct state established,related ip saddr . ct original proto-dst @held4 accept");
	at(text, "redirect to :ip saddr . tcp dport map @grants4");
	/* every packet of a granted flow passes the allow set: no blanket
	 * "established" accept before it */
	assert_true(at(text, "ct state established,related accept") >
		    at(text, "@held4 accept"));
	assert_int_equal(kg_red_render_rules(&rc, text, 100), -ENOSPC);
}

/* IPv6 tunnel addresses: their own map and allow set, the same
 * wrong-interface drop, never banned; a v4-only red has no v6 rules. */
static void test_rules_with_tunnel_range6(void **state)
{
	static struct kg_red_config rc;
	static char text[32768];
	struct kg_prefix nb[KG_RED_NEVER_BAN_MAX];
	struct kg_addr a;
	size_t n;
	struct kg_err e;

	(void)state;
	assert_int_equal(load("", &rc, &e), 0);
	assert_int_equal(kg_red_render_rules(&rc, text, sizeof(text)), 0);
	assert_null(strstr(text, "ip6 saddr . tcp dport map"));
	assert_int_equal(kg_addr_parse("fd88::10", &a), 0);
	assert_false(kg_red_in_tunnel_range(&rc, &a));

	if (load("[red]\ntunnel_range6 = fd88::/64\n[site]\naddress6 = fd89::2/64\n",
		 &rc, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rc.site.address6.a.b[15], 2);
	assert_true(kg_red_in_tunnel_range(&rc, &a));
	assert_int_equal(kg_addr_parse("fd87::10", &a), 0);
	assert_false(kg_red_in_tunnel_range(&rc, &a));
	n = kg_red_never_ban(&rc, nb, KG_RED_NEVER_BAN_MAX);
	assert_true(n > 0 && nb[n - 1].a.family == AF_INET6 && nb[n - 1].len == 64);
	assert_int_equal(kg_red_render_rules(&rc, text, sizeof(text)), 0);
	at(text, "map grants6 { type ipv6_addr . inet_service : inet_service; flags timeout; }");
	at(text, "set allowed6 { type ipv6_addr . inet_service; flags timeout; }");
	at(text, "iifname \"kg-red0\" ip6 saddr fd88::/64 meta l4proto tcp redirect to :ip6 saddr . tcp dport map @grants6");
	at(text, "iifname \"kg-red0\" ip6 saddr fd88::/64 meta l4proto udp redirect to :ip6 saddr . udp dport map @grants6");
	assert_true(at(text, "ip6 saddr fd88::/64 iifname != \"kg-red0\" drop") <
		    at(at(text, "chain input {"), "ip6 saddr @mgmt6 accept"));
	assert_true(at(text, "ip6 saddr . ct original proto-dst @allowed6 accept") <
		    at(text, "ct state established,related accept"));
	at(text, "fd88::/64 }; }");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_config_fills_every_field),
		cmocka_unit_test(test_bad_configs_are_refused_with_file_and_line),
		cmocka_unit_test(test_hop_keys),
		cmocka_unit_test(test_link_addresses_and_knock_limits),
		cmocka_unit_test(test_many_greens_have_disjoint_ranges),
		cmocka_unit_test(test_rules_hold_the_required_rules),
		cmocka_unit_test(test_rules_with_tunnel_range6),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
