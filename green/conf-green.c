/* SPDX-License-Identifier: MIT */
/* The [green] section: ports, interfaces, NFLOG groups, management. */
#include "green.h"
#include "log.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const green_keys[] = {
	"wg_interface", "knock_port", "wg_port", "control_port",
	"tunnel_address", "tunnel_prefix6", "nflog_group_knock", "nflog_group_scan",
	"knock_rate", "knock_burst", "scan_log_rate",
	"knock_meter_size", "knock_overflow_rate", "knock_id_rate",
	"management_addresses", "management_interfaces", "management_ports",
	"dhcp_client", "log_level", "vrrp_peers", "tunnel_prefix_len",
	"wg_shards",
	NULL
};

static int get_port(const struct kg_conf *conf, const char *key, uint16_t def,
		    uint16_t *out, struct kg_err *e)
{
	uint64_t v;
	int r = kg_conf_uint(conf, "green", key, false, def, 1, 65535, &v, e);

	*out = (uint16_t)v;
	return r;
}

/* Interface names end up inside nft text: only what IFNAMSIZ and the
 * usual name characters allow, so a value cannot inject rules. */
static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", s[i]))
			return false;
	return true;
}

static int get_ifnames(const struct kg_conf *conf, struct green_conf *c,
		       struct kg_err *e)
{
	const char *wg;
	int r;

	r = kg_conf_str(conf, "green", "wg_interface", "kg-green0", &wg, e);
	if (r)
		return r;
	if (!ifname_ok(wg)) {
		kg_err_set(e, "%s: wg_interface: expected an interface name, got '%s'",
			   conf->path, wg);
		return -EINVAL;
	}
	c->wg_interface = strdup(wg);
	if (!c->wg_interface)
		return -ENOMEM;
	r = kg_conf_list(conf, "green", "management_interfaces",
			 &c->mgmt_ifaces, &c->n_mgmt_ifaces, e);
	for (size_t i = 0; !r && i < c->n_mgmt_ifaces; i++) {
		if (!ifname_ok(c->mgmt_ifaces[i])) {
			kg_err_set(e, "%s: management_interfaces: expected interface names, got '%s'",
				   conf->path, c->mgmt_ifaces[i]);
			r = -EINVAL;
		}
	}
	return r;
}

static int get_mgmt_ports(const struct kg_conf *conf, struct green_conf *c,
			  struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(conf, "green", "management_ports");
	char **v = NULL, *end;
	size_t n = 0;
	int r;

	if (!it) {
		/* Default: ssh only. */
		c->mgmt_ports = malloc(sizeof(uint16_t));
		if (!c->mgmt_ports)
			return -ENOMEM;
		c->mgmt_ports[0] = 22;
		c->n_mgmt_ports = 1;
		return 0;
	}
	r = kg_conf_list(conf, "green", "management_ports", &v, &n, e);
	if (r || !n || (n == 1 && !strcmp(v[0], "all")))
		goto out;
	c->mgmt_ports = calloc(n, sizeof(uint16_t));
	if (!c->mgmt_ports) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned long p = strtoul(v[i], &end, 10);

		if (*end || !p || p > 65535 || v[i][0] < '0' || v[i][0] > '9') {
			kg_err_set(e, "%s:%u: management_ports: expected port numbers or 'all', got '%s'",
				   conf->path, it->line, v[i]);
			r = -EINVAL;
			goto out;
		}
		c->mgmt_ports[c->n_mgmt_ports++] = (uint16_t)p;
	}
out:
	kg_conf_list_free(v, n);
	return r;
}

static int get_numbers(const struct kg_conf *conf, struct green_conf *c,
		       struct kg_err *e)
{
	uint64_t v;
	int r;

	if ((r = get_port(conf, "knock_port", 62201, &c->knock_port, e)) ||
	    (r = get_port(conf, "wg_port", 51820, &c->wg_port, e)) ||
	    (r = get_port(conf, "control_port", 4433, &c->control_port, e)))
		return r;
	if ((r = kg_conf_uint(conf, "green", "nflog_group_knock", false, 1, 0, 65535, &v, e)))
		return r;
	c->nflog_knock = (uint16_t)v;
	if ((r = kg_conf_uint(conf, "green", "nflog_group_scan", false, 2, 0, 65535, &v, e)))
		return r;
	c->nflog_scan = (uint16_t)v;
	if (c->nflog_knock == c->nflog_scan) {
		kg_err_set(e, "%s: nflog_group_knock and nflog_group_scan must differ",
			   conf->path);
		return -EINVAL;
	}
	if ((r = kg_conf_uint(conf, "green", "knock_rate", false, 20, 1, 100000, &v, e)))
		return r;
	c->knock_rate = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "knock_burst", false, 40, 1, 100000, &v, e)))
		return r;
	c->knock_burst = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "scan_log_rate", false, 1000, 1, 1000000, &v, e)))
		return r;
	c->scan_log_rate = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "knock_meter_size", false, 65535, 16, 1 << 20, &v, e)))
		return r;
	c->knock_meter_size = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "knock_overflow_rate", false, 100, 1, 100000, &v, e)))
		return r;
	c->knock_overflow_rate = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "knock_id_rate", false, 10, 1, 100000, &v, e)))
		return r;
	c->knock_id_rate = (unsigned)v;
	return kg_conf_bool(conf, "green", "dhcp_client", true, &c->dhcp_client, e);
}

void green_tunnel_prefix(const struct green_conf *c, struct kg_prefix *out)
{
	unsigned len = c->tunnel_prefix_len ? c->tunnel_prefix_len : 16;

	out->a = c->tunnel_address;
	out->len = len;
	/* IPv4 only (checked at load): clear the host part. */
	for (unsigned i = 0; i < 4; i++)
		out->a.b[i] &= (uint8_t)(len >= 8 * (i + 1) ? 0xff :
			 len <= 8 * i ? 0 : 0xff << (8 - len % 8));
}

unsigned green_shard_bits(unsigned n_shards)
{
	unsigned b = 0;

	while (n_shards > 1u << b)
		b++;
	return b;
}

unsigned green_shard_of(const struct kg_prefix *p, unsigned n_shards,
			const struct kg_addr *a)
{
	unsigned bits = green_shard_bits(n_shards), k = 0;

	for (unsigned i = 0; i < bits; i++) {
		unsigned bit = p->len + i;

		if (bit >= (a->family == AF_INET6 ? 128u : 32u))
			return 0;
		k = k << 1 | ((a->b[bit / 8] >> (7 - bit % 8)) & 1);
	}
	return k;
}

void green_shard_block(const struct kg_prefix *p, unsigned n_shards,
		       unsigned k, struct kg_prefix *out)
{
	unsigned bits = green_shard_bits(n_shards);

	*out = *p;
	for (unsigned i = 0; i < bits; i++) {
		unsigned bit = p->len + i;
		uint8_t m = (uint8_t)(0x80 >> (bit % 8));

		if (k >> (bits - 1 - i) & 1)
			out->a.b[bit / 8] |= m;
		else
			out->a.b[bit / 8] &= (uint8_t)~m;
	}
	out->len = p->len + bits;
}

void green_shard_ifname(const char *base, unsigned k, char out[16])
{
	if (k)
		snprintf(out, 16, "%ss%u", base, k);
	else
		snprintf(out, 16, "%s", base);
}

void green_tunnel_address6(const struct green_conf *c, struct kg_addr *out)
{
	*out = c->tunnel_prefix6.a;
	out->b[15] |= 1;
}

/* tunnel_prefix6: an IPv6 prefix of at least a /64 (a ULA /64 is the
 * usual), so that any user's address fits and green's is ::1. */
static int get_prefix6(struct green_conf *c, const struct kg_conf *conf,
		       struct kg_err *e)
{
	const char *s;
	int r = kg_conf_str(conf, "green", "tunnel_prefix6", "", &s, e);

	if (r || !*s)
		return r;
	if (kg_prefix_parse(s, &c->tunnel_prefix6) ||
	    c->tunnel_prefix6.a.family != AF_INET6 ||
	    c->tunnel_prefix6.len < 8 || c->tunnel_prefix6.len > 64) {
		kg_err_set(e, "%s: tunnel_prefix6: expected an IPv6 prefix of length 8..64 (e.g. fd88::/64), got '%s'",
			   conf->path, s);
		memset(&c->tunnel_prefix6, 0, sizeof(c->tunnel_prefix6));
		return -EINVAL;
	}
	return 0;
}

/* tunnel_prefix_len and wg_shards: the IPv4 tunnel prefix (green's
 * address/len) and its split into wg_shards equal blocks, one WireGuard
 * device each (wg_peers.c). Green's own address must lie in block 0 (the
 * device that holds the address), and every shard's name must fit. */
static int get_shards(struct green_conf *c, const struct kg_conf *conf,
		      struct kg_err *e)
{
	struct kg_prefix tun, b0;
	char name[16], last[40];
	uint64_t v;
	unsigned bits;
	int r;

	if ((r = kg_conf_uint(conf, "green", "tunnel_prefix_len", false, 16, 8, 24, &v, e)))
		return r;
	c->tunnel_prefix_len = (unsigned)v;
	if ((r = kg_conf_uint(conf, "green", "wg_shards", false, 1, 1, GREEN_WG_SHARDS_MAX, &v, e)))
		return r;
	if (v & (v - 1)) {
		kg_err_set(e, "%s: wg_shards: expected a power of two (1, 2, 4, 8 or 16), got %llu",
			   conf->path, (unsigned long long)v);
		return -EINVAL;
	}
	c->wg_shards = (unsigned)v;
	bits = green_shard_bits(c->wg_shards);
	green_tunnel_prefix(c, &tun);
	green_shard_block(&tun, c->wg_shards, 0, &b0);
	if (!kg_prefix_contains(&b0, &c->tunnel_address)) {
		char a[KG_ADDR_STRLEN];

		kg_err_set(e, "%s: tunnel_address %s must lie in the first of the %u blocks of its /%u (shard 0, %s/%u)",
			   conf->path, kg_addr_str(&c->tunnel_address, a),
			   c->wg_shards, c->tunnel_prefix_len,
			   kg_addr_str(&b0.a, last), b0.len);
		return -EINVAL;
	}
	if (c->tunnel_prefix6.a.family == AF_INET6 &&
	    c->tunnel_prefix6.len + bits > 120) {
		kg_err_set(e, "%s: tunnel_prefix6 /%u is too long to split into %u shards",
			   conf->path, c->tunnel_prefix6.len, c->wg_shards);
		return -EINVAL;
	}
	if ((unsigned)c->wg_port + c->wg_shards - 1 > 65535 ||
	    (c->knock_port >= c->wg_port &&
	     c->knock_port < c->wg_port + c->wg_shards)) {
		kg_err_set(e, "%s: wg_port %u..%u (one port a shard) must fit below 65536 and miss knock_port %u",
			   conf->path, c->wg_port, c->wg_port + c->wg_shards - 1,
			   c->knock_port);
		return -EINVAL;
	}
	snprintf(last, sizeof(last), "%ss%u", c->wg_interface, c->wg_shards - 1);
	green_shard_ifname(c->wg_interface, c->wg_shards - 1, name);
	if (c->wg_shards > 1 && strcmp(name, last)) {
		kg_err_set(e, "%s: wg_interface '%s' is too long for %u shards: "
			   "'%s' exceeds 15 characters",
			   conf->path, c->wg_interface, c->wg_shards, last);
		return -EINVAL;
	}
	return 0;
}

int green_conf_green(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e)
{
	const char *s;
	int r;

	if ((r = kg_conf_check_keys(conf, "green", green_keys, e)) ||
	    (r = get_numbers(conf, c, e)) || (r = get_ifnames(conf, c, e)) ||
	    (r = get_mgmt_ports(conf, c, e)))
		return r;
	r = green_conf_prefixes(conf, "green", "management_addresses",
				&c->mgmt, &c->n_mgmt, e);
	if (!r)
		r = green_conf_prefixes(conf, "green", "vrrp_peers",
					&c->vrrp_peers, &c->n_vrrp_peers, e);
	if (r)
		return r;
	for (size_t i = 0; i < c->n_vrrp_peers; i++)
		if (c->vrrp_peers[i].a.family != AF_INET ||
		    c->vrrp_peers[i].len != 32) {
			kg_err_set(e, "%s: vrrp_peers: IPv4 addresses of the other "
				   "green of the pair expected", conf->path);
			return -EINVAL;
		}
	if ((r = kg_conf_str(conf, "green", "tunnel_address", "10.88.0.1", &s, e)))
		return r;
	if (kg_addr_parse(s, &c->tunnel_address) || c->tunnel_address.family != AF_INET) {
		kg_err_set(e, "%s: tunnel_address: expected an IPv4 address, got '%s'",
			   conf->path, s);
		return -EINVAL;
	}
	if ((r = get_prefix6(c, conf, e)) || (r = get_shards(c, conf, e)))
		return r;
	if ((r = kg_conf_str(conf, "green", "log_level", "notice", &s, e)))
		return r;
	c->log_level = kg_log_level_parse(s);
	if (c->log_level < 0) {
		kg_err_set(e, "%s: log_level: expected err, warning, notice, info or debug, got '%s'",
			   conf->path, s);
		return -EINVAL;
	}
	return 0;
}
