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
	at(t, "udp dport 51820 ip saddr @wg_open4 update @wg_seen4 { ip saddr } accept");
	at(t, "udp dport 51820 ip6 saddr @wg_open6 update @wg_seen6 { ip6 saddr } accept");
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
	assert_true(at(t, "ip saddr @banned4 drop") < at(t, "@wg_open4 update"));
	assert_true(at(t, "udp dport 51820 jump scan") < at(t, "ct state established,related accept"));
	assert_true(at(t, "@peers_live accept") < at(t, "ct state established,related accept"));
	at(t, "ip6 saddr & ffff:ffff:ffff:ffff:: @banned6 drop");
	at(t, "set banned4 { type ipv4_addr; flags timeout; size 500; }");
	at(t, "elements = { 198.51.100.5/32 }");
	at(t, "elements = { 2001:db8:100::5/128 }");
	at(t, "iifname \"kg-wg0\" ip saddr . ip daddr . tcp dport @fwd_grants accept");
	at(t, "policy drop;");
	free(t);
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
		cmocka_unit_test(test_management_interfaces_and_all_ports),
		cmocka_unit_test(test_config_errors_name_file_and_value),
		cmocka_unit_test(test_interface_names_cannot_inject_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
