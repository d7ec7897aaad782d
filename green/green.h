/* SPDX-License-Identifier: MIT */
/*
 * knockgate-green: the gateway daemon. One struct green holds its state;
 * each concern has its own file:
 *
 *   main.c          options, then green_run()
 *   conf.c          loads green.conf, dispatches sections to conf-*.c
 *   conf-green.c    [green]: ports, interfaces, NFLOG groups, management
 *   conf-ips.c      [ips]: scan/knock thresholds, ban time, caps, never-ban
 *   ruleset.c       renders the nftables table from the config (text)
 *   daemon.c        start (table, NFLOG, IPS), reload, stop, event loop;
 *                   the knock group to knock_rx.c, the scan group to the IPS
 *   apply.c         every nftables and WireGuard change (apply.h)
 *   monitor.c       -P: the privileged half (privsep.h, docs/privsep.md)
 *   ctrl_monitor.c  -P: the control port's checks and decisions (monitor)
 *   worker.c        -P: the unprivileged half that reads NFLOG
 *   ctrl_worker.c   -P: the control port's connections and frames (worker)
 *   admin*.c        knockgate-ctl's socket, metrics file, expiry (admin.h)
 */
#ifndef KG_GREEN_H
#define KG_GREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "ips.h"
#include "site.h"
#include "admin.h"

#define GREEN_DEFAULT_CONFIG "/etc/knockgate/green.conf"
#define GREEN_TABLE "knockgate"

struct green_gate_conf;
struct green_gate;

struct green_conf {
	/* [green] */
	char *wg_interface;
	uint16_t knock_port, wg_port, control_port;
	struct kg_addr tunnel_address;
	unsigned tunnel_prefix_len;         /* of tunnel_address: users' IPv4
					       tunnel addresses (8..24) */
	unsigned wg_shards;                 /* WireGuard devices (1..16) */
	struct kg_prefix tunnel_prefix6;    /* users' IPv6 tunnel addresses;
					       family 0: none */
	uint16_t nflog_knock, nflog_scan;
	unsigned knock_rate, knock_burst;   /* per source, packets/second */
	unsigned scan_log_rate;             /* all sources, packets/second */
	unsigned knock_meter_size;          /* sources knock_meter4/6 hold */
	unsigned knock_overflow_rate;       /* all sources the meter has no room for */
	unsigned knock_id_rate;             /* per key id (pre-filter), packets/second */
	struct kg_prefix *mgmt;             /* management_addresses */
	size_t n_mgmt;
	/* vrrp_peers: the other green of an active/standby pair (its inside
	 * address); its VRRP adverts (keepalived, unicast) are let in */
	struct kg_prefix *vrrp_peers;
	size_t n_vrrp_peers;
	char **mgmt_ifaces;                 /* management_interfaces */
	size_t n_mgmt_ifaces;
	uint16_t *mgmt_ports;               /* management_ports; none = all */
	size_t n_mgmt_ports;
	bool dhcp_client;
	int log_level;
	/* [ips] */
	struct kg_ips_config ips;           /* ips.never_ban points to never_ban */
	struct kg_prefix *never_ban;
	size_t n_never_ban;
	/* [site], [red NAME]: site.h */
	struct green_site_conf site;
	struct green_gate_conf *gate;       /* gate.h: [wireguard] [knock] [pki] [session] [service *] */
	struct green_admin_conf admin;      /* admin.h: [admin] */
};

/* Section parsers: fill their part of c from conf. 0 or -errno, e set. */
int green_conf_green(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e);
int green_conf_ips(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e);
/* Loads and checks the whole file into *c (owned by the caller, free with
 * green_conf_free even on error). 0 or -errno with e set. */
int green_conf_load(struct green_conf *c, const char *path, struct kg_err *e);
void green_conf_free(struct green_conf *c);
/* Parses a "a, b c" list of prefixes (helper for section parsers). */
int green_conf_prefixes(const struct kg_conf *conf, const char *section,
			const char *key, struct kg_prefix **out, size_t *n,
			struct kg_err *e);

/* Users' tunnel addresses: tunnel_address/tunnel_prefix_len (the
 * WireGuard interface's prefix, wg_peers.c), host part cleared. */
void green_tunnel_prefix(const struct green_conf *c, struct kg_prefix *out);
/* WireGuard shards ([green] wg_shards): the tunnel prefixes (IPv4 and
 * tunnel_prefix6) are split into n equal blocks; a session's shard is the
 * block of its address, i.e. the log2(n) bits after the prefix. Shard k's
 * device is wg_interface (k = 0) or wg_interface + "s" + k, on wg_port +
 * k. Pure functions of their arguments. */
#define GREEN_WG_SHARDS_MAX 16
unsigned green_shard_bits(unsigned n_shards);
unsigned green_shard_of(const struct kg_prefix *p, unsigned n_shards,
			const struct kg_addr *a);
/* Block k of p split n ways, into *out. */
void green_shard_block(const struct kg_prefix *p, unsigned n_shards,
		       unsigned k, struct kg_prefix *out);
/* out: at most 15 characters (truncated; the config check refuses a
 * base that does not fit). */
void green_shard_ifname(const char *base, unsigned k, char out[16]);
/* Green's own IPv6 tunnel address: tunnel_prefix6 with host part ::1
 * (only meaningful when tunnel_prefix6 is set). */
void green_tunnel_address6(const struct green_conf *c, struct kg_addr *out);
/* The NFLOG prefix of the pre-filter's sampled misses (knock group). */
#define GREEN_KNOCK_MISS_PREFIX "kg-knock-miss"
/* Is the knock key-id pre-filter on ([knock] prefilter, default yes)? */
bool green_prefilter(const struct green_conf *c);

/* The nftables table for c, as nft text ("table inet knockgate {...}").
 * *out is malloc'd (caller frees). 0 or -ENOMEM/-EINVAL. */
int green_ruleset_render(const struct green_conf *c, char **out);

struct kg_nft;
struct kg_nflog;
struct kg_evloop;

struct green {
	const char *config_path;
	struct green_conf conf;
	struct kg_nft *nft;
	struct kg_nflog *nflog;
	struct kg_ips *ips;
	struct kg_evloop *loop;
	char *ruleset;              /* the text of the installed table */
	struct green_grants *grants;   /* service grants via red (site.h) */
	bool owns_table;            /* holds the NFLOG groups: dark table at exit */
	int log_level_override;     /* -l, kept across reloads; -1 if none */
	struct green_gate *gate;    /* gate.h: knocks, WireGuard, sessions, control */
	struct green_admin *admin;  /* admin.h: knockgate-ctl socket, metrics, expiry */
	uint64_t n_packets;
	int exit_code;
	/* -P (monitor.c, worker.c, docs/privsep.md) */
	bool privsep;
	const char *user;           /* the worker's system user */
	const char *test_worker;    /* test builds: a program as the worker */
	int worker_fd;              /* the monitor's end of the socketpair */
	int worker_pid;
	bool worker_lost;           /* the worker ended: green exits 1 */
	struct green_ctrl_auth *ctrl_auth;  /* ctrl_monitor.c: per connection */
};

/* IPS callbacks onto the table (daemon.c): ban/unban elements. */
int green_ban(void *ctx, const struct kg_addr *key, unsigned seconds);
int green_unban(void *ctx, const struct kg_addr *key);

/* Runs the daemon until SIGTERM/SIGINT. Startup errors: -errno with e set
 * (main prints and exits 1). */
int green_run(struct green *g, struct kg_err *e);
/* --check-config / --print-ruleset: renders the table, prints it if print,
 * else has the kernel check it (dry run, nothing changes). Frees g's conf. */
int green_check(struct green *g, bool print, struct kg_err *e);

#endif
