/* SPDX-License-Identifier: MIT */
#include "pool.h"

#include <errno.h>
#include <string.h>

void kg_pool_init(struct kg_pool *p)
{
	memset(p, 0, sizeof(*p));
}

bool kg_pool_in_use(const struct kg_pool *p, uint16_t port)
{
	return p->used[port / 8] & (1u << (port % 8));
}

void kg_pool_mark(struct kg_pool *p, uint16_t port, bool used)
{
	if (used)
		p->used[port / 8] |= (uint8_t)(1u << (port % 8));
	else
		p->used[port / 8] &= (uint8_t)~(1u << (port % 8));
}

int kg_pool_find(const struct kg_pool *p, uint16_t lo, uint16_t hi,
		 uint32_t rnd, uint16_t *port)
{
	uint32_t span;

	if (lo == 0 || lo > hi)
		return -EINVAL;
	span = (uint32_t)hi - lo + 1;
	for (uint32_t i = 0; i < span; i++) {
		uint16_t c = (uint16_t)(lo + (rnd + i) % span);

		if (!kg_pool_in_use(p, c)) {
			*port = c;
			return 0;
		}
	}
	return -ENOSPC;
}

int kg_pool_pick(struct kg_pool *p, uint16_t lo, uint16_t hi, uint32_t rnd,
		 uint16_t *port)
{
	int rc = kg_pool_find(p, lo, hi, rnd, port);

	if (rc == 0)
		kg_pool_mark(p, *port, true);
	return rc;
}
