/* SPDX-License-Identifier: MIT */
/*
 * Intrusion prevention: counts, per source, the distinct closed ports it
 * touched in the last window_s seconds and the invalid knocks it sent,
 * and bans it (through a callback that adds an element with a kernel
 * timeout to the banned set) when it touches more than scan_ports ports or
 * sends more than invalid_knocks invalid knocks. Sources are keyed as
 * kg_addr_ban_key says: IPv4 by address, IPv6 by /64.
 *
 * Pure logic: no I/O but the callbacks and the log records (one per
 * decision), time injectable, so unit tests drive it directly.
 *
 * Never banned: sources whose ban key holds an address of a never_ban
 * prefix (not even tracked: for IPv6 the question is "does this /64 hold a
 * protected address", not "is the source protected"), and sources for
 * which the exempt callback says banning their key would hit something
 * protected (the daemon's own infrastructure, a live session).
 * State is capped: at max_sources tracked sources new sources are not
 * tracked, at max_bans no new ban is made; either is logged once until
 * room is made again. Live bans are never evicted.
 * Bans expire in the kernel by themselves; kg_ips_expire() forgets them
 * (and stale tracking) and should run from a housekeeping timer.
 */
#ifndef KG_IPS_H
#define KG_IPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct kg_ips_config {
	unsigned scan_ports;       /* N: more than N distinct ports bans */
	unsigned window_s;         /* T */
	unsigned ban_s;            /* B */
	unsigned invalid_knocks;   /* K: more than K invalid knocks in T bans */
	size_t max_sources;
	size_t max_bans;
	const struct kg_prefix *never_ban;   /* copied by kg_ips_new/_reconfigure */
	size_t n_never_ban;
};

struct kg_ips_ops {
	/* Add key (a ban key) to the banned set for seconds. 0 or -errno;
	 * on error the ban is not recorded and the next event retries. */
	int (*ban)(void *ctx, const struct kg_addr *key, unsigned seconds);
	/* Remove key from the banned set; -ENOENT is treated as done. */
	int (*unban)(void *ctx, const struct kg_addr *key);
	/* Optional: true if banning src's ban key (kg_addr_ban_key: an IPv6
	 * /64) would hit a protected address (a live session's source, the
	 * daemon's peers): never banned then (logged result=skipped
	 * reason=protected). kg_ips_key_hits answers it per prefix. */
	bool (*exempt)(void *ctx, const struct kg_addr *src);
	/* Optional: monotonic milliseconds; CLOCK_MONOTONIC if NULL. */
	uint64_t (*now_ms)(void *ctx);
	void *ctx;
};

enum kg_ips_result {
	KG_IPS_COUNTED = 0,   /* tracked, under the threshold */
	KG_IPS_BANNED,        /* this event made a ban */
	KG_IPS_ALREADY,       /* already banned */
	KG_IPS_NEVER_BAN,     /* on the never-ban list: ignored */
	KG_IPS_EXEMPT,        /* over the threshold, but has a live session */
	KG_IPS_FULL,          /* not tracked or not banned: state at its cap */
};

struct kg_ips;

/* *out is owned by the caller (kg_ips_free). ops is copied. 0, -EINVAL
 * (a zero limit or window, scan_ports > 1024, no ban callback), -ENOMEM. */
int kg_ips_new(struct kg_ips **out, const struct kg_ips_config *cfg,
	       const struct kg_ips_ops *ops);
void kg_ips_free(struct kg_ips *ips);
/* New limits (reload). Tracking is forgotten; live bans are kept (the
 * kernel still holds them). 0, -EINVAL or -ENOMEM (old config kept). */
int kg_ips_reconfigure(struct kg_ips *ips, const struct kg_ips_config *cfg);

/* A packet from src reached a closed port (proto, port in host order). */
enum kg_ips_result kg_ips_closed_port(struct kg_ips *ips,
				      const struct kg_addr *src,
				      uint8_t proto, uint16_t port);
/* Would banning src's ban key cover an address of p? (The prefixes
 * overlap.) Different families: false. */
bool kg_ips_key_hits(const struct kg_prefix *p, const struct kg_addr *src);

/* src sent a knock that failed authentication. */
enum kg_ips_result kg_ips_invalid_knock(struct kg_ips *ips,
					const struct kg_addr *src);
/* A valid knock from src: lifts its ban (removes the element). 0 if src
 * was not banned or the ban was lifted, else the unban callback's -errno. */
int kg_ips_unban(struct kg_ips *ips, const struct kg_addr *src);
/* An admin lifts src's ban key (logged event=unban with reason). 0,
 * -ENOENT if it was not banned here, or the unban callback's -errno. */
int kg_ips_lift(struct kg_ips *ips, const struct kg_addr *src,
		const char *reason);
/* Calls cb for every live ban: its key and the milliseconds it has left.
 * cb must not change ips. */
typedef void (*kg_ips_ban_cb)(void *ctx, const struct kg_addr *key,
			      uint64_t left_ms);
void kg_ips_foreach_ban(const struct kg_ips *ips, kg_ips_ban_cb cb, void *ctx);
bool kg_ips_is_banned(struct kg_ips *ips, const struct kg_addr *src);
/* Forgets expired bans and stale tracking. */
void kg_ips_expire(struct kg_ips *ips);
size_t kg_ips_n_tracked(const struct kg_ips *ips);
size_t kg_ips_n_banned(const struct kg_ips *ips);

#endif
