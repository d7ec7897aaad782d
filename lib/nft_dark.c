/* SPDX-License-Identifier: MIT */
#include "nft_dark.h"
#include "err.h"
#include "nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names go into nft text unquoted or between quotes: only characters that
 * can neither close a quote nor start a statement. */
static bool name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static void ifaces(FILE *f, char *const *v, size_t n)
{
	fprintf(f, "iifname { ");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", v[i]);
	fprintf(f, " }");
}

/* One rule for the management prefixes of one family, if any. */
static void mgmt_rule(FILE *f, const struct kg_nft_dark *d, int family)
{
	char buf[KG_ADDR_STRLEN];
	bool any = false;

	for (size_t i = 0; i < d->n_mgmt; i++) {
		if (d->mgmt[i].a.family != family)
			continue;
		fprintf(f, "%s%s/%u", any ? ", " :
			family == AF_INET ? "\t\tip saddr { " : "\t\tip6 saddr { ",
			kg_addr_str(&d->mgmt[i].a, buf), d->mgmt[i].len);
		any = true;
	}
	if (!any)
		return;
	fprintf(f, " }");
	if (d->n_mgmt_ports) {
		fprintf(f, " tcp dport { ");
		for (size_t i = 0; i < d->n_mgmt_ports; i++)
			fprintf(f, "%s%u", i ? ", " : "", d->mgmt_ports[i]);
		fprintf(f, " }");
	}
	fprintf(f, " accept\n");
}

static bool args_ok(const struct kg_nft_dark *d)
{
	if (!name_ok(d->table, 63))
		return false;
	for (size_t i = 0; i < d->n_mgmt; i++)
		if ((d->mgmt[i].a.family != AF_INET && d->mgmt[i].a.family != AF_INET6) ||
		    d->mgmt[i].len > (d->mgmt[i].a.family == AF_INET ? 32 : 128))
			return false;
	for (size_t i = 0; i < d->n_mgmt_ifaces; i++)
		if (!name_ok(d->mgmt_ifaces[i], 15))
			return false;
	for (size_t i = 0; i < d->n_fwd_drop_ifaces; i++)
		if (!name_ok(d->fwd_drop_ifaces[i], 15))
			return false;
	return true;
}

int kg_nft_dark_render(const struct kg_nft_dark *d, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	*out = NULL;
	if (!args_ok(d))
		return -EINVAL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "table inet %s {\n"
		"\tcomment \"" KG_NFT_DARK_COMMENT "\"\n"
		"\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n", d->table);
	if (d->n_mgmt_ifaces) {
		fprintf(f, "\t\t");
		ifaces(f, d->mgmt_ifaces, d->n_mgmt_ifaces);
		fprintf(f, " accept\n");
	}
	mgmt_rule(f, d, AF_INET);
	mgmt_rule(f, d, AF_INET6);
	fprintf(f, "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n");
	if (d->dhcp)
		fprintf(f, "\t\tudp sport 67 udp dport 68 accept\n"
			"\t\tudp sport 547 udp dport 546 accept\n");
	/* Only replies to what the host itself opened: a flow that came in
	 * (a grant, a service) is in the original direction and is cut. */
	fprintf(f, "\t\tct state established,related ct direction reply accept\n"
		"\t\tcounter drop\n"
		"\t}\n");
	if (d->n_fwd_drop_ifaces) {
		fprintf(f, "\tchain forward {\n"
			"\t\ttype filter hook forward priority filter; policy accept;\n"
			"\t\t");
		ifaces(f, d->fwd_drop_ifaces, d->n_fwd_drop_ifaces);
		fprintf(f, " drop\n\t}\n");
	}
	fprintf(f, "}\n");
	if (fclose(f) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}

int kg_nft_dark_install(struct kg_nft *nft, const struct kg_nft_dark *d,
			struct kg_err *e)
{
	char *text = NULL;
	int r = kg_nft_dark_render(d, &text);

	if (r)
		kg_err_set(e, "rendering the dark table: %s", strerror(-r));
	else
		r = kg_nft_table_replace(nft, text, false, e);
	free(text);
	return r;
}
