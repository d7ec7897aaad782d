/* SPDX-License-Identifier: MIT */
/*
 * red.conf (man knockgate-red.conf(5)): turned from a parsed kg_conf into
 * a plain struct, no I/O, every key checked (unknown keys refused, values
 * quoted in errors). Certificates and keys are only named here; loading
 * them is the daemon's job.
 */
#ifndef KG_RED_CONFIG_H
#define KG_RED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "hop.h"
#include "sknock.h"

#define KG_RED_MAX_GREENS 16
#define KG_RED_MAX_SERVICES 64
#define KG_RED_MAX_ADDRS 8
#define KG_RED_MAX_NEVER_BAN 32
#define KG_RED_PATH_MAX 256

struct kg_red_green {
	char id[KG_SK_ID_MAX + 1];
	struct kg_addr addr;              /* inside address: site WireGuard */
	struct kg_addr link;              /* site-link address: its knocks */
	char cert[KG_RED_PATH_MAX];
	/* Its clients' tunnel addresses, inside [red] tunnel_range and
	 * disjoint from every other green's: a knock for a client outside
	 * its sender's range is refused, so one green cannot open ports for
	 * another green's users. */
	struct kg_prefix tunnel_range;
	/* Its WireGuard peer on red's site interface: "" means [site]
	 * peer_public_key and peer_endpoint (one green at most). */
	char site_public_key[64];
	struct kg_addr site_endpoint;
	uint16_t site_port;               /* 0: no endpoint, green dials */
};

struct kg_red_service {
	char name[KG_SK_ID_MAX + 1];
	uint16_t port;                    /* the real server's port */
	uint16_t pool_lo, pool_hi;        /* bounds of the granted ports */
	uint8_t proto;                    /* IPPROTO_TCP or IPPROTO_UDP */
	struct kg_hop_conf hop;           /* the pool's ranges; hopping */
};

struct kg_red_site {
	char interface[16];
	char private_key[KG_RED_PATH_MAX];   /* file, base64 */
	uint16_t listen_port;
	struct kg_prefix address;            /* red's end, e.g. 10.89.0.2/30 */
	struct kg_prefix address6;           /* IPv6 end, e.g. fd89::2/64;
						family 0: none */
	char peer_public_key[64];            /* base64: green's site key */
	struct kg_addr peer_endpoint;
	uint16_t peer_port;                  /* 0: no endpoint, green dials */
	struct kg_addr peer_address;         /* green's end, e.g. 10.89.0.1 */
};

#define KG_RED_ADMIN_SOCKET "/run/knockgate/red.ctl"
#define KG_RED_METRICS "/var/lib/prometheus/node-exporter/knockgate-red.prom"

struct kg_red_config {
	char id[KG_SK_ID_MAX + 1];
	struct kg_addr addrs[KG_RED_MAX_ADDRS];
	size_t n_addrs;
	uint16_t knock_port;
	char ca[KG_RED_PATH_MAX], crl[KG_RED_PATH_MAX];
	char host_key[KG_RED_PATH_MAX], host_cert[KG_RED_PATH_MAX];
	uint32_t window;                  /* seconds either side of now */
	uint32_t max_lease;               /* cap on a knock's lifetime */
	uint32_t keep;                    /* idempotency cache after a lease */
	uint32_t replay_cache, max_grants;
	uint32_t knock_rate, knock_burst; /* per green, knocks/s and packets */
	uint16_t knock_group, scan_group; /* NFLOG groups */
	struct kg_prefix tunnel_range;       /* IPv4 tunnel addresses */
	struct kg_prefix tunnel_range6;      /* IPv6 ones; family 0: none */
	struct kg_prefix never_ban[KG_RED_MAX_NEVER_BAN];
	size_t n_never_ban;
	struct kg_prefix mgmt[KG_RED_MAX_NEVER_BAN];  /* management access */
	size_t n_mgmt;
	unsigned scan_ports, scan_window, ban_time;
	unsigned expiry_warning_days;     /* warn before CRL/cert expiry */
	char admin_socket[KG_RED_PATH_MAX];   /* knockgate-ctl; "": none */
	char metrics_file[KG_RED_PATH_MAX];   /* Prometheus textfile; "": none */
	unsigned metrics_interval;            /* seconds */
	int log_level;
	struct kg_red_site site;
	struct kg_red_green greens[KG_RED_MAX_GREENS];
	size_t n_greens;
	struct kg_red_service services[KG_RED_MAX_SERVICES];
	size_t n_services;
};

/* Fills *rc from c. 0, or -EINVAL/-ENOENT with e = "file:line: ...".
 * Paths relative to the config file's directory are made absolute
 * against base_dir (may be NULL: kept as written). */
int kg_red_config_from(struct kg_red_config *rc, const struct kg_conf *c,
		       const char *base_dir, struct kg_err *e);

/* The green whose site-link address is a (knocks come only from there),
 * or NULL. */
const struct kg_red_green *kg_red_green_by_link(const struct kg_red_config *rc,
						const struct kg_addr *a);

/* The green whose tunnel_range holds client address a, or NULL. */
const struct kg_red_green *kg_red_green_by_client(
	const struct kg_red_config *rc, const struct kg_addr *a);

/* Every prefix red must never ban: never_ban, each green's inside and
 * site-link address, the tunnel ranges. Writes at most cap into out (the
 * caller's array) and returns how many it wrote; KG_RED_NEVER_BAN_MAX
 * always suffices. */
#define KG_RED_NEVER_BAN_MAX (KG_RED_MAX_NEVER_BAN + 2 * KG_RED_MAX_GREENS + 2)
size_t kg_red_never_ban(const struct kg_red_config *rc, struct kg_prefix *out,
			size_t cap);
/* Is a in tunnel_range (IPv4) or tunnel_range6 (IPv6, if configured)? */
bool kg_red_in_tunnel_range(const struct kg_red_config *rc,
			    const struct kg_addr *a);
const struct kg_red_service *kg_red_service_by_name(
	const struct kg_red_config *rc, const char *name);

#endif
