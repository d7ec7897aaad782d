/* SPDX-License-Identifier: MIT */
/* The dark table both daemons leave when they are not running: its text,
 * and (as root, in a network namespace of its own) the kernel taking it in
 * place of a full table and giving it back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nft.h"
#include "nft_dark.h"
#include "nft_list.h"

static void has(const char *t, const char *needle)
{
	if (!strstr(t, needle))
		fail_msg("missing from the dark table: %s\n%s", needle, t);
}

static void lacks(const char *t, const char *needle)
{
	if (strstr(t, needle))
		fail_msg("must not be in the dark table: %s\n%s", needle, t);
}

static struct kg_prefix pfx(const char *s)
{
	struct kg_prefix p;

	assert_int_equal(kg_prefix_parse(s, &p), 0);
	return p;
}

static void test_green_like(void **state)
{
	struct kg_prefix m[2] = { pfx("198.51.100.5"), pfx("2001:db8:100::/64") };
	char *ifs[1] = { (char *)"mgmt0" }, *fwd[2] = { (char *)"kg-wg0", (char *)"kg-site" };
	uint16_t ports[2] = { 22, 2222 };
	struct kg_nft_dark d = {
		.table = "knockgate", .mgmt = m, .n_mgmt = 2, .mgmt_ifaces = ifs,
		.n_mgmt_ifaces = 1, .mgmt_ports = ports, .n_mgmt_ports = 2,
		.dhcp = false, .fwd_drop_ifaces = fwd, .n_fwd_drop_ifaces = 2,
	};
	char *t;

	(void)state;
	assert_int_equal(kg_nft_dark_render(&d, &t), 0);
	has(t, "table inet knockgate {\n\tcomment \"" KG_NFT_DARK_COMMENT "\"\n");
	has(t, "type filter hook input priority filter; policy drop;\n\t\tiif \"lo\" accept\n");
	has(t, "\t\tiifname { \"mgmt0\" } accept\n");
	has(t, "\t\tip saddr { 198.51.100.5/32 } tcp dport { 22, 2222 } accept\n");
	has(t, "\t\tip6 saddr { 2001:db8:100::/64 } tcp dport { 22, 2222 } accept\n");
	has(t, "nd-neighbor-solicit");
	has(t, "ct state established,related ct direction reply accept\n\t\tcounter drop\n\t}\n");
	has(t, "\t\tiifname { \"kg-wg0\", \"kg-site\" } drop\n");
	lacks(t, "udp sport 67");
	/* nothing a later element could open */
	lacks(t, "set ");
	lacks(t, "map ");
	lacks(t, "@");
	free(t);
}

static void test_red_like(void **state)
{
	struct kg_prefix m[1] = { pfx("203.0.113.5") };
	struct kg_nft_dark d = {
		.table = "knockgate", .mgmt = m, .n_mgmt = 1, .dhcp = true,
	};
	char *t;

	(void)state;
	assert_int_equal(kg_nft_dark_render(&d, &t), 0);
	has(t, "\t\tip saddr { 203.0.113.5/32 } accept\n");
	lacks(t, "ip6 saddr");
	lacks(t, "tcp dport");
	lacks(t, "iifname");
	lacks(t, "chain forward");
	has(t, "udp sport 67 udp dport 68 accept\n\t\tudp sport 547 udp dport 546 accept\n");
	free(t);
}

static void test_no_management_is_loopback_only(void **state)
{
	struct kg_nft_dark d = { .table = "kg" };
	char *t;

	(void)state;
	assert_int_equal(kg_nft_dark_render(&d, &t), 0);
	lacks(t, "saddr");
	has(t, "iif \"lo\" accept\n");
	free(t);
}

static void test_names_cannot_inject(void **state)
{
	char *bad[1] = { (char *)"x\" accept #" };
	char *t = (char *)"untouched";
	struct kg_nft_dark d = { .table = "knockgate", .mgmt_ifaces = bad,
				 .n_mgmt_ifaces = 1 };

	(void)state;
	assert_int_equal(kg_nft_dark_render(&d, &t), -EINVAL);
	assert_null(t);
	d.n_mgmt_ifaces = 0;
	d.fwd_drop_ifaces = bad;
	d.n_fwd_drop_ifaces = 1;
	assert_int_equal(kg_nft_dark_render(&d, &t), -EINVAL);
	d.n_fwd_drop_ifaces = 0;
	d.table = "a b";
	assert_int_equal(kg_nft_dark_render(&d, &t), -EINVAL);
	d.table = "";
	assert_int_equal(kg_nft_dark_render(&d, &t), -EINVAL);
}

static const char *list(void)
{
	return nft_list_table("kgdark");
}

static void test_kernel_swaps_full_and_dark(void **state)
{
	static const char full[] =
		"table inet kgdark {\n"
		"\tset allowed4 { type ipv4_addr; flags timeout; elements = { 192.0.2.7 timeout 1h } }\n"
		"\tchain input { type filter hook input priority filter; policy drop; ip saddr @allowed4 accept; }\n"
		"}\n";
	struct kg_prefix m[1] = { pfx("198.51.100.5") };
	uint16_t port = 22;
	struct kg_nft_dark d = { .table = "kgdark", .mgmt = m, .n_mgmt = 1,
				 .mgmt_ports = &port, .n_mgmt_ports = 1, .dhcp = true };
	struct kg_err e = { "" };
	struct kg_nft *n;
	char *t;

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		skip();
	assert_int_equal(kg_nft_open(&n, "kgdark", &e), 0);
	assert_int_equal(kg_nft_table_replace(n, full, false, &e), 0);
	assert_non_null(strstr(list(), "192.0.2.7"));
	assert_int_equal(kg_nft_dark_render(&d, &t), 0);
	/* the daemons' stop: the full table (and its open element) gone, the
	 * dark one there, in one replace */
	if (kg_nft_table_replace(n, t, false, &e))
		fail_msg("the kernel refused the dark table: %s", e.msg);
	has(list(), KG_NFT_DARK_COMMENT);
	has(list(), "ip saddr 198.51.100.5 tcp dport 22 accept");
	lacks(list(), "192.0.2.7");
	lacks(list(), "set ");
	/* the next start: the full table replaces the dark one */
	assert_int_equal(kg_nft_table_replace(n, full, false, &e), 0);
	lacks(list(), KG_NFT_DARK_COMMENT);
	has(list(), "set allowed4");
	free(t);
	kg_nft_close(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_green_like),
		cmocka_unit_test(test_red_like),
		cmocka_unit_test(test_no_management_is_loopback_only),
		cmocka_unit_test(test_names_cannot_inject),
		cmocka_unit_test(test_kernel_swaps_full_and_dark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
