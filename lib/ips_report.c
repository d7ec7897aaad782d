/* SPDX-License-Identifier: MIT */
#include "ips_report.h"

#include <inttypes.h>
#include <netinet/in.h>

struct ban_ctx {
	struct kg_sb *o;
	bool json;
	size_t n;
};

static void one_ban(void *ctx, const struct kg_addr *key, uint64_t left_ms)
{
	struct ban_ctx *c = ctx;
	char a[KG_ADDR_STRLEN];
	const char *len = key->family == AF_INET6 ? "/64" : "";

	kg_addr_str(key, a);
	if (c->json)
		kg_sb_printf(c->o, "%s{\"source\":\"%s%s\",\"left_s\":%" PRIu64 "}",
			     c->n ? "," : "", a, len, left_ms / 1000);
	else
		kg_sb_printf(c->o, "%-44s %" PRIu64 "s\n", a, left_ms / 1000);
	c->n++;
}

void kg_ips_report_bans(const struct kg_ips *ips, bool json, struct kg_sb *o)
{
	struct ban_ctx c = { o, json, 0 };

	kg_sb_printf(o, json ? "{\"bans\":[" : "%-44s %s\n", "SOURCE", "LEFT");
	if (ips)
		kg_ips_foreach_ban(ips, one_ban, &c);
	if (json)
		kg_sb_printf(o, "]}\n");
}
