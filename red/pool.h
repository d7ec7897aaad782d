/* SPDX-License-Identifier: MIT */
/*
 * Red's granted ports: one bitmap of ports in use over all services, and a
 * random pick from a service's range. Pure (the caller supplies the random
 * value) so tests can pin the choice.
 */
#ifndef KG_RED_POOL_H
#define KG_RED_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct kg_pool {
	uint8_t used[65536 / 8];
};

void kg_pool_init(struct kg_pool *p);
bool kg_pool_in_use(const struct kg_pool *p, uint16_t port);
void kg_pool_mark(struct kg_pool *p, uint16_t port, bool used);
/* Picks a free port in [lo, hi] starting at lo + rnd % (hi - lo + 1) and
 * probing upwards (wrapping), marks it used and returns it in *port.
 * 0, -EINVAL if lo > hi or lo == 0, -ENOSPC if every port is used. */
int kg_pool_pick(struct kg_pool *p, uint16_t lo, uint16_t hi, uint32_t rnd,
		 uint16_t *port);
/* The same choice without marking it (for planning). */
int kg_pool_find(const struct kg_pool *p, uint16_t lo, uint16_t hi,
		 uint32_t rnd, uint16_t *port);

#endif
