/* SPDX-License-Identifier: MIT */
/* green.conf [site] and [red NAME]: parsing, refusals, and the input
 * rules they add to green's table. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "green.h"
#include "log.h"

#define PUB "Jl2w9hUOdw3Yd3V5U6cS2VqdTMNoVmHyVZ4sSR/yZ0k="

static const char base[] =
	"[green]\nwg_interface = kgtest0\ntunnel_address = 10.88.0.1\n";

static const char site[] =
	"[site]\nid = green1\ninterface = kgsite0\nprivate_key = /x/site.key\n"
	"address = 10.89.0.1/30\nhost_key = /x/host.key\nlease = 30\n";

static const char red[] =
	"[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
	"site_public_key = " PUB "\ncert = /x/red.pem\n";

static int load(const char *a, const char *b, const char *c,
		struct green_conf *out, struct kg_err *e)
{
	char path[] = "/tmp/kg-site-conf-XXXXXX";
	int fd = mkstemp(path), r;
	FILE *f = fdopen(fd, "w");

	fprintf(f, "%s%s%s", a, b ? b : "", c ? c : "");
	fclose(f);
	r = green_conf_load(out, path, e);
	unlink(path);
	return r;
}

static void test_site_and_red_sections_are_read(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	const struct green_red *r;

	(void)st;
	assert_int_equal(load(base, site, red, &c, &e), 0);
	assert_true(c.site.enabled);
	assert_string_equal(c.site.id, "green1");
	assert_int_equal(c.site.listen_port, 51821);
	assert_int_equal(c.site.answer_port, 62203);
	assert_int_equal(c.site.lease, 30);
	assert_int_equal(c.site.address.len, 30);
	/* green's own end, not the network: knocks leave from it */
	assert_int_equal(c.site.address.a.b[3], 1);
	r = green_site_red(&c.site, "red1");
	assert_non_null(r);
	assert_int_equal(r->knock_port, 62202);
	assert_int_equal(r->site_port, 51821);
	assert_null(green_site_red(&c.site, "red2"));
	green_conf_free(&c);
}

/* IPv6 beside IPv4: green's tunnel_prefix6 and the IPv6 ends of the
 * site link; the table forwards fwd_grants6 from the tunnel only and
 * drops the prefix arriving anywhere else; bad values are refused. */
static void test_ipv6_tunnel_prefix_and_site_ends(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	const struct green_red *r;
	struct kg_addr g6;
	char *text;

	(void)st;
	assert_int_equal(load("[green]\nwg_interface = kgtest0\ntunnel_address = 10.88.0.1\n"
			      "tunnel_prefix6 = fd88::/64\n",
			      "[site]\nid = green1\ninterface = kgsite0\nprivate_key = /x/site.key\n"
			      "address = 10.89.0.1/30\naddress6 = fd89::1/64\nhost_key = /x/host.key\n",
			      "[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
			      "site_address6 = fd89::2\nsite_public_key = " PUB "\ncert = /x/red.pem\n",
			      &c, &e), 0);
	assert_int_equal(c.tunnel_prefix6.len, 64);
	green_tunnel_address6(&c, &g6);
	assert_int_equal(g6.b[15], 1);
	assert_int_equal(c.site.address6.a.b[15], 1);
	r = green_site_red(&c.site, "red1");
	assert_int_equal(r->site_address6.family, AF_INET6);
	assert_int_equal(r->site_address6.b[15], 2);
	assert_int_equal(green_ruleset_render(&c, &text), 0);
	assert_non_null(strstr(text, "set fwd_grants6 { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }"));
	assert_non_null(strstr(text, "iifname \"kgtest0\" ct state new ip6 saddr . ip6 daddr . tcp dport @fwd_grants6 accept"));
	assert_non_null(strstr(text, "set fwd_held6 { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }"));
	assert_non_null(strstr(text, "iifname \"kgtest0\" ct state established,related ip6 saddr . ip6 daddr . tcp dport @fwd_held6 accept"));
	assert_non_null(strstr(text, "iifname != \"kgtest0\" ip6 saddr fd88::/64 counter drop"));
	free(text);
	green_conf_free(&c);

	assert_int_equal(load(base, "[green]\ntunnel_prefix6 = 10.0.0.0/8\n", NULL, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "tunnel_prefix6"));
	green_conf_free(&c);
	assert_int_equal(load(base, "[green]\ntunnel_prefix6 = fd88::/96\n", NULL, &c, &e), -EINVAL);
	green_conf_free(&c);
	assert_int_equal(load(base, site, "[red red1]\naddress = 203.0.113.2\nsite_address = 10.89.0.2\n"
			      "site_address6 = 10.89.0.3\nsite_public_key = " PUB "\ncert = /x/red.pem\n",
			      &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "site_address6"));
	green_conf_free(&c);
}

static void test_without_site_nothing_is_enabled(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	char *text;

	(void)st;
	assert_int_equal(load(base, NULL, NULL, &c, &e), 0);
	assert_false(c.site.enabled);
	assert_int_equal(green_ruleset_render(&c, &text), 0);
	assert_null(strstr(text, "62203"));
	free(text);
	green_conf_free(&c);
}

static void test_red_without_site_is_refused(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(base, red, NULL, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "needs a [site]"));
	green_conf_free(&c);
}

static void test_site_without_red_is_refused(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(base, site, NULL, &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "without any [red"));
	green_conf_free(&c);
}

static void test_unknown_key_in_red_is_refused(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(base, site, "[red red1]\naddress = 203.0.113.2\n"
			      "site_adress = 10.89.0.2\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "site_adress"));
	green_conf_free(&c);
}

static void test_bad_site_key_is_refused(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };

	(void)st;
	assert_int_equal(load(base, site, "[red red1]\naddress = 203.0.113.2\n"
			      "site_address = 10.89.0.2\nsite_public_key = nope\n"
			      "cert = /x\n", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "site_public_key"));
	green_conf_free(&c);
}

static void test_ruleset_lets_in_only_reds_answers_and_site_link(void **st)
{
	struct green_conf c;
	struct kg_err e = { "" };
	const char *ans, *drop;
	char *text;

	(void)st;
	assert_int_equal(load(base, site, red, &c, &e), 0);
	assert_int_equal(green_ruleset_render(&c, &text), 0);
	/* answers only inside the site link, from red's link address,
	 * limited (max_grants 4096, two sends a retry_ms of 500 ms) */
	ans = strstr(text, "iifname \"kgsite0\" ip saddr 10.89.0.2 udp dport 62203 limit rate 16384/second burst 8192 packets accept");
	assert_non_null(ans);
	/* red's inside address no longer reaches the answer port; anything
	 * else sent there is dropped before it could be counted as a scan */
	assert_null(strstr(text, "ip saddr 203.0.113.2 udp dport 62203"));
	drop = strstr(text, "\t\tudp dport 62203 drop\n");
	assert_non_null(drop);
	assert_true(ans < drop);
	assert_true(drop < strstr(text, "jump scan\n\t}"));
	assert_non_null(strstr(text, "ip saddr 203.0.113.2 udp sport 51821 udp dport 51821 accept"));
	/* before the catch-all established rule and the final scan jump */
	assert_true(ans < strstr(text, "ct state established,related accept"));
	/* forwarding from clients only through fwd_grants */
	assert_non_null(strstr(text, "ip saddr . ip daddr . tcp dport @fwd_grants accept"));
	free(text);
	green_conf_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_site_and_red_sections_are_read),
		cmocka_unit_test(test_ipv6_tunnel_prefix_and_site_ends),
		cmocka_unit_test(test_without_site_nothing_is_enabled),
		cmocka_unit_test(test_red_without_site_is_refused),
		cmocka_unit_test(test_site_without_red_is_refused),
		cmocka_unit_test(test_unknown_key_in_red_is_refused),
		cmocka_unit_test(test_bad_site_key_is_refused),
		cmocka_unit_test(test_ruleset_lets_in_only_reds_answers_and_site_link),
	};

	kg_log_set_level(KG_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
