/* SPDX-License-Identifier: MIT */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

struct sb {
	char *p;
	size_t cap, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->full = true;
	else
		b->len += (size_t)n;
}

/* "{ a, b }" of the addresses of one family; false if there are none. */
static bool put_prefixes(struct sb *b, const struct kg_prefix *p, size_t n,
			 int family)
{
	char s[KG_ADDR_STRLEN];
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		if (p[i].a.family != family)
			continue;
		put(b, "%s%s/%u", any ? ", " : "", kg_addr_str(&p[i].a, s),
		    p[i].len);
		any = true;
	}
	return any;
}

static void put_set(struct sb *b, const char *name, const char *type,
		    const struct kg_prefix *p, size_t n, int family)
{
	put(b, "\tset %s { type %s; flags interval; ", name, type);
	if (p) {
		struct sb probe = *b;

		put(&probe, "elements = { ");
		if (put_prefixes(&probe, p, n, family)) {
			*b = probe;
			put(b, " }; ");
		}
	}
	put(b, "}\n");
}

static void greens_as_prefixes(const struct kg_red_config *c,
			       struct kg_prefix *out)
{
	for (size_t i = 0; i < c->n_greens; i++) {
		out[i].a = c->greens[i].addr;
		out[i].len = c->greens[i].addr.family == AF_INET ? 32 : 128;
	}
}

static void sets(struct sb *b, const struct kg_red_config *c)
{
	struct kg_prefix g[KG_RED_MAX_GREENS];

	greens_as_prefixes(c, g);
	put_set(b, "greens4", "ipv4_addr", g, c->n_greens, AF_INET);
	put_set(b, "greens6", "ipv6_addr", g, c->n_greens, AF_INET6);
	put_set(b, "never_ban4", "ipv4_addr", c->never_ban, c->n_never_ban, AF_INET);
	put_set(b, "never_ban6", "ipv6_addr", c->never_ban, c->n_never_ban, AF_INET6);
	put_set(b, "mgmt4", "ipv4_addr", c->mgmt, c->n_mgmt, AF_INET);
	put_set(b, "mgmt6", "ipv6_addr", c->mgmt, c->n_mgmt, AF_INET6);
	put(b, "\tset " KG_RED_SET_BANNED4 " { type ipv4_addr; flags timeout; size 65536; }\n");
	put(b, "\tset " KG_RED_SET_BANNED6 " { type ipv6_addr; flags timeout; size 65536; }\n");
	put(b, "\tmap " KG_RED_SET_GRANTS " { type ipv4_addr . inet_service : inet_service; flags timeout; }\n");
	put(b, "\tset " KG_RED_SET_ALLOWED " { type ipv4_addr . inet_service; flags timeout; }\n");
}

static void prerouting(struct sb *b, const struct kg_red_config *c)
{
	char r[KG_ADDR_STRLEN];

	kg_addr_str(&c->tunnel_range.a, r);
	put(b, "\tchain prerouting {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	put(b, "\t\tiifname \"%s\" ip saddr %s/%u meta l4proto tcp redirect to :ip saddr . tcp dport map @" KG_RED_SET_GRANTS "\n",
	    c->site.interface, r, c->tunnel_range.len);
	put(b, "\t\tiifname \"%s\" ip saddr %s/%u meta l4proto udp redirect to :ip saddr . udp dport map @" KG_RED_SET_GRANTS "\n",
	    c->site.interface, r, c->tunnel_range.len);
	put(b, "\t}\n");
}

/* knocks: to the daemon through NFLOG only, never to a socket; a flood
 * from one source cannot crowd out the others */
static void knocks(struct sb *b, const struct kg_red_config *c)
{
	put(b, "\t\tudp dport %u meter knock4 { ip saddr limit rate 20/second } log group %u prefix \"knock\" drop\n",
	    c->knock_port, c->knock_group);
	put(b, "\t\tudp dport %u meter knock6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate 20/second } log group %u prefix \"knock\" drop\n",
	    c->knock_port, c->knock_group);
	put(b, "\t\tudp dport %u drop\n", c->knock_port);
}

static void input_head(struct sb *b, const struct kg_red_config *c)
{
	put(b, "\tchain input {\n"
	       "\t\ttype filter hook input priority filter; policy drop;\n"
	       "\t\tiif lo accept\n"
	       "\t\tip saddr @mgmt4 accept\n"
	       "\t\tip6 saddr @mgmt6 accept\n"
	       /* the host must keep its neighbours and its DHCP lease */
	       "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n"
	       "\t\tudp sport 67 udp dport 68 accept\n"
	       "\t\tudp sport 547 udp dport 546 accept\n");
	knocks(b, c);
	/* bans: after the knock port (a valid knock lifts a ban), before
	 * anything else; greens and never_ban are never banned */
	put(b, "\t\tip saddr != @greens4 ip saddr != @never_ban4 ip saddr @" KG_RED_SET_BANNED4 " drop\n");
	put(b, "\t\tip6 saddr != @greens6 ip6 saddr != @never_ban6 ip6 saddr & ffff:ffff:ffff:ffff:: @" KG_RED_SET_BANNED6 " drop\n");
}

static void input_site(struct sb *b, const struct kg_red_config *c)
{
	char r[KG_ADDR_STRLEN];
	const char *ifn = c->site.interface;

	kg_addr_str(&c->tunnel_range.a, r);
	put(b, "\t\tip saddr @greens4 udp dport %u accept\n", c->site.listen_port);
	put(b, "\t\tip6 saddr @greens6 udp dport %u accept\n", c->site.listen_port);
	/* an inside host cannot pose as a granted client */
	put(b, "\t\tip saddr %s/%u iifname != \"%s\" drop\n", r,
	    c->tunnel_range.len, ifn);
	/* every packet of a mapped flow, not only the first */
	put(b, "\t\tiifname \"%s\" meta l4proto { tcp, udp } ip saddr . ct original proto-dst @" KG_RED_SET_ALLOWED " accept\n",
	    ifn);
	put(b, "\t\tiifname \"%s\" limit rate 20/second log group %u prefix \"site\" drop\n",
	    ifn, c->scan_group);
	put(b, "\t\tiifname \"%s\" drop\n", ifn);
	/* replies to red's own connections; no timed set governs them */
	put(b, "\t\tct state established,related accept\n");
}

static void input_tail(struct sb *b, const struct kg_red_config *c)
{
	put(b, "\t\tlimit rate 200/second log group %u prefix \"scan\" drop\n",
	    c->scan_group);
	put(b, "\t}\n");
}

int kg_red_render_rules(const struct kg_red_config *c, char *out, size_t cap)
{
	struct sb b = { .p = out, .cap = cap };

	if (cap == 0)
		return -ENOSPC;
	out[0] = '\0';
	put(&b, "table inet " KG_RED_TABLE " {\n");
	sets(&b, c);
	prerouting(&b, c);
	input_head(&b, c);
	input_site(&b, c);
	input_tail(&b, c);
	put(&b, "}\n");
	return b.full ? -ENOSPC : 0;
}
