/* SPDX-License-Identifier: MIT */
/*
 * Green's nftables table, rendered as nft text from the config. The text
 * is what green_apply_table_replace() (apply.c) applies in one transaction and what an
 * admin reviews with `nft list table inet knockgate`. docs/nftables.md
 * explains each rule; the order matters:
 *
 *   prerouting (raw): reverse path        a source on the wrong interface
 *                                         (fib), a tunnel or site-link
 *                                         source from elsewhere: dropped
 *                                         before anything counts it
 *   loopback, management, ND, DHCP        accepted before anything
 *   knock port                            key-id pre-filter (knock_ids),
 *                                         own NFLOG group, per-source rate
 *                                         limit, even for banned sources
 *   WireGuard port, control port, site    timed sets, checked on EVERY packet,
 *                                         BEFORE the bans: a ban (a /64
 *                                         too) never cuts a live session
 *   VRRP from vrrp_peers                  the pair's other green (keepalived)
 *   banned4/banned6                       dropped (v6 by /64)
 *   established/related                   only for traffic no set governs
 *   the rest                              logged (rate-limited), dropped
 *
 * Sets that later steps fill are created empty here. Only drop, never
 * reject: a dark host sends no RST and no ICMP unreachable.
 */
#include "green.h"
#include "gate.h"
#include "knock.h"
#include "seq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every WireGuard device green has (wg_shards of them): the interface
 * match and the UDP ports, as nft text: one name / port, or an anonymous
 * set / a range. Names were checked at load (conf-green.c). */
static void wg_ifs(char *out, size_t cap, const struct green_conf *c)
{
	size_t n = c->wg_shards > 1 ? c->wg_shards : 1, len = 0;

	if (n == 1) {
		snprintf(out, cap, "\"%s\"", c->wg_interface);
		return;
	}
	len += (size_t)snprintf(out + len, cap - len, "{ ");
	for (size_t k = 0; k < n && len < cap; k++) {
		char name[16];

		green_shard_ifname(c->wg_interface, (unsigned)k, name);
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\"",
					k ? ", " : "", name);
	}
	if (len < cap)
		snprintf(out + len, cap - len, " }");
}

static void wg_ports(char *out, size_t cap, const struct green_conf *c)
{
	if (c->wg_shards > 1)
		snprintf(out, cap, "%u-%u", c->wg_port, c->wg_port + c->wg_shards - 1);
	else
		snprintf(out, cap, "%u", c->wg_port);
}

#define WG_IFS_LEN (GREEN_WG_SHARDS_MAX * 20 + 8)

/* Roaming (session.c): every WireGuard packet from an open source
 * refreshes its element, timeout one lease; green frees a full session's
 * source slot only for a source absent here. Sized for every source of
 * max_clients sessions, so the update (which fails on a full set and
 * would then not accept) cannot run out.
 * Liveness (sessions_run.c): every packet a live peer sends through the
 * tunnel refreshes its tunnel address in tun_seen4/6 (timeout one lease:
 * the element's time left says when it was last seen), so green asks the
 * kernel about one session when that session's own timer fires instead
 * of reading every peer on a tick. WireGuard has checked the inner source
 * against the peer's allowed-ips: the element is the peer's own word. */
static void wg_seen_sets(FILE *f, const struct green_conf *c)
{
	unsigned lease = c->gate ? c->gate->sess.lim.handshake_timeout : 180;
	size_t clients = c->gate ? c->gate->sess.max_clients : 256;
	size_t srcs = clients * KG_SESS_MAX_SRC;

	if (srcs < 65535)
		srcs = 65535;
	if (clients < 1024)
		clients = 1024;
	fprintf(f,
		"\tset wg_seen4 { type ipv4_addr; size %zu; flags dynamic,timeout; timeout %us; }\n"
		"\tset wg_seen6 { type ipv6_addr; size %zu; flags dynamic,timeout; timeout %us; }\n"
		"\tset tun_seen4 { type ipv4_addr; size %zu; flags dynamic,timeout; timeout %us; }\n"
		"\tset tun_seen6 { type ipv6_addr; size %zu; flags dynamic,timeout; timeout %us; }\n",
		srcs, lease, srcs, lease, clients, lease, clients, lease);
}
/* The first knock's key id: 8 bytes after the UDP header, the version and
 * the green hint (lib/knock.h), as a raw payload match. */
#define KID_BITS ((8 + 1 + KG_KNOCK_HINT_LEN) * 8)
/* knock_id_meter holds only ids of knock_ids (4 per user): room for
 * 262144 users; the cap is a bound, not an allocation. */
#define KID_METER_SIZE (1u << 20)

static void sets(FILE *f, const struct green_conf *c)
{
	fprintf(f,
		"\tset banned4 { type ipv4_addr; flags timeout; size %zu; }\n"
		"\tset banned6 { type ipv6_addr; flags timeout; size %zu; }\n"
		"\tset wg_open4 { type ipv4_addr . inet_service; flags timeout; }\n"
		"\tset wg_open6 { type ipv6_addr . inet_service; flags timeout; }\n"
		"\tset peers_pending { type ipv4_addr; flags timeout; }\n"
		"\tset peers_live { type ipv4_addr; flags timeout; }\n"
		"\tset fwd_grants { type ipv4_addr . ipv4_addr . inet_service; flags timeout; }\n"
		"\tset fwd_grants6 { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }\n"
		"\tset fwd_held { type ipv4_addr . ipv4_addr . inet_service; flags timeout; }\n"
		"\tset fwd_held6 { type ipv6_addr . ipv6_addr . inet_service; flags timeout; }\n"
		"\tset knock_meter4 { type ipv4_addr; size %u; flags dynamic,timeout; timeout 60s; }\n"
		"\tset knock_meter6 { type ipv6_addr; size %u; flags dynamic,timeout; timeout 60s; }\n"
		"\tset knock_seen4 { type ipv4_addr; size %u; flags dynamic,timeout; timeout 60s; }\n"
		"\tset knock_seen6 { type ipv6_addr; size %u; flags dynamic,timeout; timeout 60s; }\n"
		"\tcounter wg_closed { }\n",
		c->ips.max_bans, c->ips.max_bans, c->knock_meter_size,
		c->knock_meter_size, c->knock_meter_size, c->knock_meter_size);
	/* knock_ids is filled by green (knock_ids.c). */
	if (green_prefilter(c))
		fprintf(f, "\tset knock_ids { typeof @th,%u,64; flags timeout; }\n"
			"\tset knock_id_meter { typeof @th,%u,64; size %u; flags dynamic,timeout; timeout 60s; }\n"
			"\tcounter knock_prefilter_drop { }\n"
			"\tcounter knock_id_limited { }\n",
			KID_BITS, KID_BITS, KID_METER_SIZE);
	if (c->gate && c->gate->sequence)
		fprintf(f, "\tset seq_ports { type inet_proto . inet_service; }\n");
	wg_seen_sets(f, c);
}

/* Management prefixes of one family, as an interval set; none: no set. */
static bool mgmt_set(FILE *f, const struct green_conf *c, int family)
{
	char buf[KG_ADDR_STRLEN];
	bool any = false;

	for (size_t i = 0; i < c->n_mgmt; i++) {
		if (c->mgmt[i].a.family != family)
			continue;
		fprintf(f, "%s%s/%u", any ? ", " : family == AF_INET ?
			"\tset mgmt4 { type ipv4_addr; flags interval; auto-merge; elements = { " :
			"\tset mgmt6 { type ipv6_addr; flags interval; auto-merge; elements = { ",
			kg_addr_str(&c->mgmt[i].a, buf), c->mgmt[i].len);
		any = true;
	}
	if (any)
		fprintf(f, " }; }\n");
	return any;
}

static void port_match(FILE *f, const struct green_conf *c)
{
	if (!c->n_mgmt_ports)
		return;
	fprintf(f, " tcp dport { ");
	for (size_t i = 0; i < c->n_mgmt_ports; i++)
		fprintf(f, "%s%u", i ? ", " : "", c->mgmt_ports[i]);
	fprintf(f, " }");
}

static void management(FILE *f, const struct green_conf *c, bool m4, bool m6)
{
	if (c->n_mgmt_ifaces) {
		fprintf(f, "\t\tiifname { ");
		for (size_t i = 0; i < c->n_mgmt_ifaces; i++)
			fprintf(f, "%s\"%s\"", i ? ", " : "", c->mgmt_ifaces[i]);
		fprintf(f, " } accept\n");
	}
	if (m4) {
		fprintf(f, "\t\tip saddr @mgmt4");
		port_match(f, c);
		fprintf(f, " accept\n");
	}
	if (m6) {
		fprintf(f, "\t\tip6 saddr @mgmt6");
		port_match(f, c);
		fprintf(f, " accept\n");
	}
}

/* Reverse path before anything counts a packet: a source the routing
 * table would not answer through the interface it came in on is forged
 * (fib ... oif missing), and so is a tunnel or site-link source arriving
 * anywhere but its own interface, whatever the routes say. Exempt: what
 * the host needs before it has routes (loopback, ND/DAD from ::, DHCP). */
static void prerouting_chain(FILE *f, const struct green_conf *c)
{
	struct kg_prefix tun;
	char a[KG_ADDR_STRLEN], wg[WG_IFS_LEN];

	wg_ifs(wg, sizeof(wg), c);
	green_tunnel_prefix(c, &tun);
	/* With shards, which block may come in on which shard is the fib
	 * check's below (each shard k >= 1 has the route of its block). */
	fprintf(f, "\tchain prerouting {\n"
		"\t\ttype filter hook prerouting priority raw; policy accept;\n"
		"\t\tiif \"lo\" accept\n"
		"\t\tiifname != %s ip saddr %s/%u counter drop\n",
		wg, kg_addr_str(&tun.a, a), tun.len);
	/* IPv6 tunnel addresses likewise come only from the tunnel */
	if (c->tunnel_prefix6.a.family == AF_INET6)
		fprintf(f, "\t\tiifname != %s ip6 saddr %s/%u counter drop\n",
			wg, kg_addr_str(&c->tunnel_prefix6.a, a),
			c->tunnel_prefix6.len);
	if (c->site.enabled && c->site.interface) {
		struct kg_prefix site = c->site.address;

		/* The config keeps green's own end (10.89.0.1/30): the
		 * network part only. IPv4 (checked at load). */
		for (unsigned i = 0; i < 4; i++)
			site.a.b[i] &= (uint8_t)(site.len >= 8 * (i + 1) ? 0xff :
				 site.len <= 8 * i ? 0 : 0xff << (8 - site.len % 8));
		fprintf(f, "\t\tiifname != \"%s\" ip saddr %s/%u counter drop\n",
			c->site.interface, kg_addr_str(&site.a, a), site.len);
	}
	fprintf(f, "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit, nd-router-advert } ip6 hoplimit 255 accept\n");
	if (c->dhcp_client)
		fprintf(f, "\t\tudp sport 67 udp dport 68 accept\n"
			"\t\tudp sport 547 udp dport 546 accept\n");
	fprintf(f, "\t\tfib saddr . iif oif missing counter drop\n");
	/* After the checks above: only a source WireGuard let in. A full
	 * set only makes the update fail; the packet goes on either way. */
	fprintf(f, "\t\tiifname %s ip saddr @peers_live update @tun_seen4 { ip saddr }\n"
		"\t\tiifname %s meta nfproto ipv6 update @tun_seen6 { ip6 saddr }\n"
		"\t}\n", wg, wg);
}

static void input_chain(FILE *f, const struct green_conf *c, bool m4, bool m6)
{
	char ta[KG_ADDR_STRLEN], wg[WG_IFS_LEN], wp[16];

	wg_ifs(wg, sizeof(wg), c);
	wg_ports(wp, sizeof(wp), c);
	kg_addr_str(&c->tunnel_address, ta);
	fprintf(f, "\tchain input {\n"
		"\t\ttype filter hook input priority filter; policy drop;\n"
		"\t\tiif \"lo\" accept\n");
	management(f, c, m4, m6);
	fprintf(f, "\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept\n");
	if (c->dhcp_client)
		fprintf(f, "\t\tudp sport 67 udp dport 68 accept\n"
			"\t\tudp sport 547 udp dport 546 accept\n");
	fprintf(f, "\t\tudp dport %u jump %s\n", c->knock_port,
		green_prefilter(c) ? "knock_port" : "knock");
	/* Sessions and the site link first: only then the bans, so that no
	 * ban, however it came about, cuts them. */
	/* Keyed on source . port: a knock opens its session's shard's port
	 * only, not the other shards' (least exposure). */
	fprintf(f, "\t\tudp dport %s ip saddr . udp dport @wg_open4 update @wg_seen4 { ip saddr } accept\n"
		"\t\tudp dport %s ip6 saddr . udp dport @wg_open6 update @wg_seen6 { ip6 saddr } accept\n",
		wp, wp);
	fprintf(f, "\t\tiifname %s ip daddr %s tcp dport %u ip saddr @peers_pending accept\n"
		"\t\tiifname %s ip daddr %s tcp dport %u ip saddr @peers_live accept\n",
		wg, ta, c->control_port, wg, ta, c->control_port);
	green_ruleset_site(f, &c->site);
	/* The pair's VRRP, before the bans: a banned peer would make both
	 * greens master. Only from the configured peer, by the reverse-path
	 * check only on the interface that leads to it. */
	for (size_t i = 0; i < c->n_vrrp_peers; i++) {
		char va[KG_ADDR_STRLEN];

		fprintf(f, "\t\tip saddr %s ip protocol vrrp accept\n",
			kg_addr_str(&c->vrrp_peers[i].a, va));
	}
	fprintf(f, "\t\tip saddr @banned4 drop\n"
		"\t\tip6 saddr & ffff:ffff:ffff:ffff:: @banned6 drop\n");
	/* Sequence mode: static sequences' ports (seq_ports, filled from the
	 * user records) and the one-time range go to the knock group, so the
	 * IPS does not count them; after the bans, so that a banned source
	 * gets no sequence through. */
	if (c->gate && c->gate->sequence)
		fprintf(f, "\t\tmeta l4proto . th dport @seq_ports jump knock\n"
			"\t\tmeta l4proto { tcp, udp } th dport %u-%u jump knock\n",
			KG_SEQ_ONETIME_BASE, KG_SEQ_ONETIME_BASE + KG_SEQ_ONETIME_RANGE - 1);
	/* Counted: what reaches a WireGuard port without an opening for it
	 * (another shard's port included). */
	fprintf(f, "\t\tudp dport %s counter name \"wg_closed\" jump scan\n", wp);
	fprintf(f, "\t\tiifname %s jump scan\n"
		"\t\ttcp dport %u jump scan\n",
		wg, c->control_port);
	fprintf(f, "\t\tct state established,related accept\n"
		"\t\tjump scan\n"
		"\t}\n");
}

/* The knock port with the pre-filter: only a first knock's length with
 * a current key id goes on to the meter and NFLOG; the rest is dropped in
 * the kernel, counted, and sampled (1/s) to the knock group under its own
 * prefix, which green logs and never counts toward a ban. */
static void knock_port_chain(FILE *f, const struct green_conf *c)
{
	if (!green_prefilter(c))
		return;
	fprintf(f, "\tchain knock_port {\n"
		"\t\tudp length %u @th,%u,64 @knock_ids goto knock_id\n"
		"\t\tlimit rate 1/second burst 1 packets log prefix \"%s\" group %u\n"
		"\t\tcounter name \"knock_prefilter_drop\" drop\n"
		"\t}\n",
		8 + KG_KNOCK_LEN, KID_BITS, GREEN_KNOCK_MISS_PREFIX, c->nflog_knock);
	/* A current id is one user's: knocks carrying the same id (a captured
	 * knock replayed, or sent with its tag changed, from any number of
	 * forged sources) pass at knock_id_rate, so such a flood neither
	 * fills the per-source meter nor costs green more than that, and
	 * touches only the user whose knock was captured, for the few slots
	 * the id lives. The set only ever holds ids of knock_ids. */
	fprintf(f, "\tchain knock_id {\n"
		"\t\tupdate @knock_id_meter { @th,%u,64 limit rate %u/second burst %u packets } goto knock\n"
		"\t\tcounter name \"knock_id_limited\" drop\n"
		"\t}\n",
		KID_BITS, c->knock_id_rate, 2 * c->knock_id_rate);
}

/* Per source (IPv6: per /64, as bans are) within the meter; over its
 * limit, dropped. A source the meter has no room for still reaches green,
 * under one global limit: a full meter degrades knocking, it does not stop
 * it. Telling "over its limit" from "no room" needs a lookup, and a lookup
 * in a set whose elements carry a limit never matches (checked on this
 * kernel), so knock_seen4/6, plain dynamic sets of the meter's size
 * updated just before it, stand in for the meter's keys: a source in
 * knock_seen that the meter did not let through was over its limit. */
static void knock_chain(FILE *f, const struct green_conf *c)
{
	fprintf(f, "\tchain knock {\n"
		"\t\tmeta nfproto ipv4 update @knock_seen4 { ip saddr }\n"
		"\t\tmeta nfproto ipv4 update @knock_meter4 { ip saddr limit rate %u/second burst %u packets } log prefix \"kg-knock\" group %u drop\n"
		"\t\tmeta nfproto ipv6 update @knock_seen6 { ip6 saddr & ffff:ffff:ffff:ffff:: }\n"
		"\t\tmeta nfproto ipv6 update @knock_meter6 { ip6 saddr & ffff:ffff:ffff:ffff:: limit rate %u/second burst %u packets } log prefix \"kg-knock\" group %u drop\n"
		"\t\tip saddr @knock_seen4 drop\n"
		"\t\tip6 saddr & ffff:ffff:ffff:ffff:: @knock_seen6 drop\n"
		"\t\tlimit rate %u/second burst %u packets log prefix \"kg-knock\" group %u\n"
		"\t\tdrop\n"
		"\t}\n",
		c->knock_rate, c->knock_burst, c->nflog_knock,
		c->knock_rate, c->knock_burst, c->nflog_knock,
		c->knock_overflow_rate, c->knock_overflow_rate, c->nflog_knock);
}

static void other_chains(FILE *f, const struct green_conf *c)
{
	char wg[WG_IFS_LEN];

	wg_ifs(wg, sizeof(wg), c);
	knock_port_chain(f, c);
	knock_chain(f, c);
	fprintf(f, "\tchain scan {\n"
		"\t\tlimit rate %u/second burst %u packets log prefix \"kg-scan\" group %u\n"
		"\t\tdrop\n"
		"\t}\n",
		c->scan_log_rate, c->scan_log_rate, c->nflog_scan);
	fprintf(f, "\tchain forward {\n"
		"\t\ttype filter hook forward priority filter; policy accept;\n"
		"\t\tiifname %s ct state new ip saddr . ip daddr . tcp dport @fwd_grants accept\n"
		"\t\tiifname %s ct state established,related ip saddr . ip daddr . tcp dport @fwd_held accept\n"
		"\t\tiifname %s ct state new ip6 saddr . ip6 daddr . tcp dport @fwd_grants6 accept\n"
		"\t\tiifname %s ct state established,related ip6 saddr . ip6 daddr . tcp dport @fwd_held6 accept\n"
		"\t\tiifname %s drop\n"
		"\t}\n",
		wg, wg, wg, wg, wg);
}

bool green_prefilter(const struct green_conf *c)
{
	return !c->gate || c->gate->prefilter;
}

int green_ruleset_render(const struct green_conf *c, char **out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	bool m4, m6;

	*out = NULL;
	if (!c->wg_interface || c->tunnel_address.family != AF_INET)
		return -EINVAL;
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "table inet %s {\n", GREEN_TABLE);
	sets(f, c);
	m4 = mgmt_set(f, c, AF_INET);
	m6 = mgmt_set(f, c, AF_INET6);
	prerouting_chain(f, c);
	input_chain(f, c, m4, m6);
	other_chains(f, c);
	fprintf(f, "}\n");
	if (fclose(f) || !buf) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}
