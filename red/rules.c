/* SPDX-License-Identifier: MIT */
#include "rules.h"

#include <stdarg.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "strbuf.h"

/* The table is mostly lines of put(): a short name keeps them readable. */
__attribute__((format(printf, 2, 3)))
static void put(struct kg_sb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kg_sb_vprintf(b, fmt, ap);
	va_end(ap);
}

static bool has_family(const struct kg_prefix *p, size_t n, int family)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].a.family == family)
			return true;
	return false;
}

/* "a, b" of the addresses of one family. */
static void put_prefixes(struct kg_sb *b, const struct kg_prefix *p, size_t n,
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
}

static void put_set(struct kg_sb *b, const char *name, const char *type,
		    const struct kg_prefix *p, size_t n, int family)
{
	/* auto-merge: a green listed in never_ban as well is no conflict */
	put(b, "\tset %s { type %s; flags interval; auto-merge; ", name, type);
	if (p && has_family(p, n, family)) {
		put(b, "elements = { ");
		put_prefixes(b, p, n, family);
		put(b, " }; ");
	}
	put(b, "}\n");
}

/* "inside" picks each green's inside address, else its link address. */
static size_t greens_as_prefixes(const struct kg_red_config *c, bool inside,
				 struct kg_prefix *out)
{
	for (size_t i = 0; i < c->n_greens; i++) {
		out[i].a = inside ? c->greens[i].addr : c->greens[i].link;
		out[i].len = out[i].a.family == AF_INET ? 32 : 128;
	}
	return c->n_greens;
}

static void sets(struct kg_sb *b, const struct kg_red_config *c)
{
	struct kg_prefix g[KG_RED_MAX_GREENS], nb[KG_RED_NEVER_BAN_MAX];
	size_t n_nb = kg_red_never_ban(c, nb, KG_RED_NEVER_BAN_MAX);

	greens_as_prefixes(c, true, g);
	put_set(b, "greens4", "ipv4_addr", g, c->n_greens, AF_INET);
	put_set(b, "greens6", "ipv6_addr", g, c->n_greens, AF_INET6);
	greens_as_prefixes(c, false, g);
	put_set(b, "links4", "ipv4_addr", g, c->n_greens, AF_INET);
	put_set(b, "links6", "ipv6_addr", g, c->n_greens, AF_INET6);
	/* never_ban, greens (both addresses), the tunnel range */
	put_set(b, "never_ban4", "ipv4_addr", nb, n_nb, AF_INET);
	put_set(b, "never_ban6", "ipv6_addr", nb, n_nb, AF_INET6);
	put_set(b, "mgmt4", "ipv4_addr", c->mgmt, c->n_mgmt, AF_INET);
	put_set(b, "mgmt6", "ipv6_addr", c->mgmt, c->n_mgmt, AF_INET6);
	put(b, "\tset " KG_RED_SET_BANNED4 " { type ipv4_addr; flags timeout; size 65536; }\n");
	put(b, "\tset " KG_RED_SET_BANNED6 " { type ipv6_addr; flags timeout; size 65536; }\n");
	put(b, "\tmap " KG_RED_SET_GRANTS " { type ipv4_addr . inet_service : inet_service; flags timeout; }\n");
	put(b, "\tset " KG_RED_SET_ALLOWED " { type ipv4_addr . inet_service; flags timeout; }\n");
	/* IPv6: keyed on the destination address too (address shuffling) */
	put(b, "\tmap " KG_RED_SET_GRANTS6 " { type ipv6_addr . ipv6_addr . inet_service : inet_service; flags timeout; }\n");
	put(b, "\tset " KG_RED_SET_ALLOWED6 " { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }\n");
	put(b, "\tset " KG_RED_SET_HELD " { type ipv4_addr . inet_service; flags timeout; }\n");
	put(b, "\tset " KG_RED_SET_HELD6 " { type ipv6_addr . inet_service; flags timeout; }\n");
	/* knock-port drops that reach neither NFLOG nor the IPS, visible here */
	put(b, "\tcounter " KG_RED_CTR_KNOCK_FOREIGN " { }\n");
	put(b, "\tcounter " KG_RED_CTR_KNOCK_LIMITED " { }\n");
}

/* The host keeps its neighbours and its DHCP lease: accepted before the
 * reverse-path check (a DHCP offer's or DAD's source has no route yet). */
static void host_basics(struct kg_sb *b)
{
	put(b, "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n"
	       "\t\tudp sport 67 udp dport 68 accept\n"
	       "\t\tudp sport 547 udp dport 546 accept\n");
}

/* Anti-spoofing, before conntrack and before any rule that counts: a
 * packet whose source red would not route back out of the interface it
 * came in on (a tunnel-range, site-link or green source on the inside
 * network, a forged outside source) is dropped here, unlogged. */
static void antispoof(struct kg_sb *b)
{
	put(b, "\tchain antispoof {\n"
	       "\t\ttype filter hook prerouting priority raw; policy accept;\n"
	       "\t\tiif lo accept\n"
	       "\t\tip saddr @mgmt4 accept\n"
	       "\t\tip6 saddr @mgmt6 accept\n");
	host_basics(b);
	put(b, "\t\tfib saddr . iif oif missing drop\n"
	       "\t}\n");
}

static bool has_range6(const struct kg_red_config *c)
{
	return c->tunnel_range6.a.family == AF_INET6;
}

static void prerouting(struct kg_sb *b, const struct kg_red_config *c)
{
	char r[KG_ADDR_STRLEN];

	kg_addr_str(&c->tunnel_range.a, r);
	put(b, "\tchain prerouting {\n"
	       "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	put(b, "\t\tiifname \"%s\" ip saddr %s/%u meta l4proto tcp redirect to :ip saddr . tcp dport map @" KG_RED_SET_GRANTS "\n",
	    c->site.interface, r, c->tunnel_range.len);
	put(b, "\t\tiifname \"%s\" ip saddr %s/%u meta l4proto udp redirect to :ip saddr . udp dport map @" KG_RED_SET_GRANTS "\n",
	    c->site.interface, r, c->tunnel_range.len);
	if (has_range6(c)) {
		kg_addr_str(&c->tunnel_range6.a, r);
		put(b, "\t\tiifname \"%s\" ip6 saddr %s/%u meta l4proto tcp redirect to :ip6 saddr . ip6 daddr . tcp dport map @" KG_RED_SET_GRANTS6 "\n",
		    c->site.interface, r, c->tunnel_range6.len);
		put(b, "\t\tiifname \"%s\" ip6 saddr %s/%u meta l4proto udp redirect to :ip6 saddr . ip6 daddr . udp dport map @" KG_RED_SET_GRANTS6 "\n",
		    c->site.interface, r, c->tunnel_range6.len);
	}
	put(b, "\t}\n");
}

/* Knocks: only through the site link, only from a green's link address,
 * to the daemon through NFLOG only (never to a socket), one rate limit
 * per green sized for the grants. Everything else sent to the knock port
 * is dropped without a log line and without reaching the IPS: nobody
 * else has a reason to send there, and counting forged sources is how an
 * insider got a green banned. */
static void knocks(struct kg_sb *b, const struct kg_red_config *c)
{
	const char *ifn = c->site.interface;
	char a[KG_ADDR_STRLEN];

	for (size_t i = 0; i < c->n_greens; i++) {
		const struct kg_addr *l = &c->greens[i].link;

		put(b, "\t\tiifname \"%s\" %s saddr %s udp dport %u limit rate %u/second burst %u packets log group %u prefix \"knock\" drop\n",
		    ifn, l->family == AF_INET ? "ip" : "ip6", kg_addr_str(l, a),
		    c->knock_port, c->knock_rate, c->knock_burst, c->knock_group);
	}
	put(b, "\t\tiifname \"%s\" ip saddr @links4 udp dport %u counter name " KG_RED_CTR_KNOCK_LIMITED " drop\n",
	    ifn, c->knock_port);
	put(b, "\t\tiifname \"%s\" ip6 saddr @links6 udp dport %u counter name " KG_RED_CTR_KNOCK_LIMITED " drop\n",
	    ifn, c->knock_port);
	put(b, "\t\tudp dport %u counter name " KG_RED_CTR_KNOCK_FOREIGN " drop\n",
	    c->knock_port);
}

static void input_head(struct kg_sb *b, const struct kg_red_config *c)
{
	char r[KG_ADDR_STRLEN];
	const char *ifn = c->site.interface;

	kg_addr_str(&c->tunnel_range.a, r);
	put(b, "\tchain input {\n"
	       "\t\ttype filter hook input priority filter; policy drop;\n"
	       "\t\tiif lo accept\n");
	/* an inside host cannot pose as a granted client or as green's end
	 * of the link, whatever the routing table says: before management,
	 * knocks and bans */
	put(b, "\t\tip saddr %s/%u iifname != \"%s\" drop\n", r,
	    c->tunnel_range.len, ifn);
	if (has_range6(c)) {
		kg_addr_str(&c->tunnel_range6.a, r);
		put(b, "\t\tip6 saddr %s/%u iifname != \"%s\" drop\n", r,
		    c->tunnel_range6.len, ifn);
	}
	put(b, "\t\tip saddr @links4 iifname != \"%s\" drop\n", ifn);
	put(b, "\t\tip6 saddr @links6 iifname != \"%s\" drop\n", ifn);
	put(b, "\t\tip saddr @mgmt4 accept\n"
	       "\t\tip6 saddr @mgmt6 accept\n");
	host_basics(b);
	knocks(b, c);
	/* the site link's WireGuard from the greens' inside addresses */
	put(b, "\t\tip saddr @greens4 udp dport %u accept\n", c->site.listen_port);
	put(b, "\t\tip6 saddr @greens6 udp dport %u accept\n", c->site.listen_port);
	/* bans: never a green (either address), never_ban or the tunnel
	 * range, whatever the IPS was fed */
	put(b, "\t\tip saddr != @never_ban4 ip saddr @" KG_RED_SET_BANNED4 " drop\n");
	put(b, "\t\tip6 saddr != @never_ban6 ip6 saddr & ffff:ffff:ffff:ffff:: @" KG_RED_SET_BANNED6 " drop\n");
}

static void input_site(struct kg_sb *b, const struct kg_red_config *c)
{
	const char *ifn = c->site.interface;

	/* every packet of a mapped flow, not only the first: a new one must
	 * hit the current port (or the one just left, for the overlap), an
	 * established one any port its grant held during the lease */
	put(b, "\t\tiifname \"%s\" meta l4proto { tcp, udp } ct state new ip saddr . ct original proto-dst @" KG_RED_SET_ALLOWED " accept\n",
	    ifn);
	put(b, "\t\tiifname \"%s\" meta l4proto { tcp, udp } ct state established,related ip saddr . ct original proto-dst @" KG_RED_SET_HELD " accept\n",
	    ifn);
	if (has_range6(c)) {
		put(b, "\t\tiifname \"%s\" meta l4proto { tcp, udp } ct state new ip6 saddr . ct original ip6 daddr . ct original proto-dst @" KG_RED_SET_ALLOWED6 " accept\n",
		    ifn);
		put(b, "\t\tiifname \"%s\" meta l4proto { tcp, udp } ct state established,related ip6 saddr . ct original proto-dst @" KG_RED_SET_HELD6 " accept\n",
		    ifn);
	}
	put(b, "\t\tiifname \"%s\" limit rate 20/second log group %u prefix \"site\" drop\n",
	    ifn, c->scan_group);
	put(b, "\t\tiifname \"%s\" drop\n", ifn);
	/* replies to red's own connections; no timed set governs them */
	put(b, "\t\tct state established,related accept\n");
}

static void input_tail(struct kg_sb *b, const struct kg_red_config *c)
{
	put(b, "\t\tlimit rate 200/second log group %u prefix \"scan\" drop\n",
	    c->scan_group);
	put(b, "\t}\n");
}

int kg_red_render_rules(const struct kg_red_config *c, char *out, size_t cap)
{
	struct kg_sb b;

	kg_sb_fixed(&b, out, cap);
	put(&b, "table inet " KG_RED_TABLE " {\n");
	sets(&b, c);
	antispoof(&b);
	prerouting(&b, c);
	input_head(&b, c);
	input_site(&b, c);
	input_tail(&b, c);
	put(&b, "}\n");
	return kg_sb_error(&b);
}
