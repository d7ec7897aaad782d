/* SPDX-License-Identifier: MIT */
/*
 * Time-based port hopping (red.conf [service NAME] hop = yes): when the
 * next hop is due (an interval drawn from the service's list, or
 * uniformly from its min-max range) and to which port (uniformly from
 * the service's pool ranges, never the port just left, never a port this
 * client already holds). Pure: the randomness is a callback, so a unit
 * test can pin or count the draws; the daemon passes kg_hop_getrandom,
 * the kernel's getrandom(2).
 *
 * The hop state is the grant's place (an address and a port); the address
 * is carried so that a hop could move it too where red has a prefix to
 * move in (only the port moves today).
 */
#ifndef KG_RED_HOP_H
#define KG_RED_HOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define KG_HOP_MAX_RANGES 8
#define KG_HOP_MAX_INTERVALS 16

struct kg_port_range {
	uint16_t lo, hi;
};

/* A service's hopping, from red.conf. */
struct kg_hop_conf {
	bool on;
	struct kg_port_range pool[KG_HOP_MAX_RANGES];
	size_t n_pool;
	/* intervals in ms: a list to draw from (n_intervals > 0), or the
	 * range [interval_min, interval_max] */
	uint32_t intervals[KG_HOP_MAX_INTERVALS];
	size_t n_intervals;
	uint32_t interval_min, interval_max;
	uint32_t overlap_ms;   /* the old port takes new connections so long */
};

/* Fills buf with n random bytes; 0 or -errno. */
typedef int (*kg_hop_rand_fn)(void *ctx, void *buf, size_t n);

/* getrandom(2), the kernel's randomness (ctx unused). */
int kg_hop_getrandom(void *ctx, void *buf, size_t n);

/* A uniform value in [0, n) (n >= 1), by rejection (no modulo bias).
 * 0 or the source's error. */
int kg_hop_uniform(kg_hop_rand_fn rnd, void *ctx, uint32_t n, uint32_t *out);

/* The next interval in ms: one of the list, or uniform in the range. */
int kg_hop_interval(const struct kg_hop_conf *h, kg_hop_rand_fn rnd,
		    void *ctx, uint32_t *ms);

/* Number of ports in the pool (all ranges). */
uint32_t kg_hop_pool_size(const struct kg_hop_conf *h);

/* The next port: uniform over the pool's ports that are neither avoid
 * (the port just left) nor marked in used (ports this client holds).
 * 0, -ENOSPC if none is left, or the source's error. */
int kg_hop_port(const struct kg_hop_conf *h, const struct kg_pool *used,
		uint16_t avoid, kg_hop_rand_fn rnd, void *ctx, uint16_t *port);

/* Parsers for red.conf values (config.c); 0 or -EINVAL.
 * "9001-9099, 9200-9210" (a lone port is a range of one);
 * "30" or "10, 20, 30" (a list) or "2-5" (a range); seconds, with an
 * optional "ms" suffix on every value ("500ms-2s" is not accepted: one
 * unit per value, "500ms-2000ms"). */
int kg_hop_parse_pool(const char *s, struct kg_hop_conf *h);
int kg_hop_parse_intervals(const char *s, struct kg_hop_conf *h);
/* "2" (seconds) or "500ms". */
int kg_hop_parse_duration(const char *s, uint32_t *ms);

#endif
