/* SPDX-License-Identifier: MIT */
/* red.conf: fields, refusals quoting file:line, and the rendered table
 * holding the rules the design requires. */
#include <stdarg.h>
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
	assert_non_null(kg_red_green_by_addr(&rc, &rc.greens[0].addr));
	assert_null(kg_red_service_by_name(&rc, "nope"));
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
	refused("[green green2]\naddress = nowhere\ncert = x\n", "'nowhere'");
	refused("[service s]\nport = 1\npool = 2-3\ncolour = red\n", "colour");
}

static void test_rules_hold_the_required_rules(void **state)
{
	static struct kg_red_config rc;
	static char text[32768];
	struct kg_err e;

	(void)state;
	assert_int_equal(load("", &rc, &e), 0);
	assert_int_equal(kg_red_render_rules(&rc, text, sizeof(text)), 0);
	assert_non_null(strstr(text, "table inet knockgate {"));
	assert_non_null(strstr(text, "policy drop;"));
	assert_non_null(strstr(text, "udp dport 62202 meter knock4 { ip saddr limit rate 20/second } log group 2 prefix \"knock\" drop"));
	assert_non_null(strstr(text, "ip saddr 10.88.0.0/16 iifname != \"kg-red0\" drop"));
	assert_non_null(strstr(text, "iifname \"kg-red0\" meta l4proto { tcp, udp } ip saddr . ct original proto-dst @allowed4 accept"));
	assert_non_null(strstr(text, "redirect to :ip saddr . tcp dport map @grants4"));
	assert_non_null(strstr(text, "elements = { 203.0.113.1/32 }"));
	assert_non_null(strstr(text, "ip saddr @mgmt4 accept"));
	/* every packet of a granted flow passes the allow set: no blanket
	 * "established" accept before it */
	assert_true(strstr(text, "ct state established") > strstr(text, "@allowed4 accept"));
	assert_int_equal(kg_red_render_rules(&rc, text, 100), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_config_fills_every_field),
		cmocka_unit_test(test_bad_configs_are_refused_with_file_and_line),
		cmocka_unit_test(test_rules_hold_the_required_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
