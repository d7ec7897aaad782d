/* SPDX-License-Identifier: MIT */
#include "timer_heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int kg_theap_init(struct kg_theap *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->h = calloc(cap ? cap : 1, sizeof(*q->h));
	q->pos = calloc(cap ? cap : 1, sizeof(*q->pos));
	if (!q->h || !q->pos) {
		kg_theap_free(q);
		return -ENOMEM;
	}
	q->cap = cap;
	return 0;
}

void kg_theap_free(struct kg_theap *q)
{
	free(q->h);
	free(q->pos);
	memset(q, 0, sizeof(*q));
}

static void place(struct kg_theap *q, size_t i, struct kg_theap_ent e)
{
	q->h[i] = e;
	q->pos[e.slot] = (uint32_t)(i + 1);
}

static void sift_up(struct kg_theap *q, size_t i)
{
	struct kg_theap_ent e = q->h[i];

	while (i > 0) {
		size_t up = (i - 1) / 2;

		if (q->h[up].at <= e.at)
			break;
		place(q, i, q->h[up]);
		i = up;
	}
	place(q, i, e);
}

static void sift_down(struct kg_theap *q, size_t i)
{
	struct kg_theap_ent e = q->h[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n && q->h[c + 1].at < q->h[c].at)
			c++;
		if (e.at <= q->h[c].at)
			break;
		place(q, i, q->h[c]);
		i = c;
	}
	place(q, i, e);
}

void kg_theap_set(struct kg_theap *q, uint32_t slot, int64_t at)
{
	size_t i;

	if (slot >= q->cap)
		return;
	if (!q->pos[slot]) {
		i = q->n++;
		place(q, i, (struct kg_theap_ent){ at, slot });
		sift_up(q, i);
		return;
	}
	i = q->pos[slot] - 1;
	q->h[i].at = at;
	sift_up(q, i);
	sift_down(q, q->pos[slot] - 1);
}

void kg_theap_del(struct kg_theap *q, uint32_t slot)
{
	uint32_t moved;
	size_t i;

	if (slot >= q->cap || !q->pos[slot])
		return;
	i = q->pos[slot] - 1;
	q->pos[slot] = 0;
	if (i == --q->n)
		return;
	/* the last entry fills the hole, then goes up or down */
	moved = q->h[q->n].slot;
	place(q, i, q->h[q->n]);
	sift_up(q, i);
	sift_down(q, q->pos[moved] - 1);
}

bool kg_theap_armed(const struct kg_theap *q, uint32_t slot)
{
	return slot < q->cap && q->pos[slot];
}

bool kg_theap_at(const struct kg_theap *q, uint32_t slot, int64_t *at)
{
	if (!kg_theap_armed(q, slot))
		return false;
	*at = q->h[q->pos[slot] - 1].at;
	return true;
}

bool kg_theap_top(const struct kg_theap *q, uint32_t *slot, int64_t *at)
{
	if (!q->n)
		return false;
	*slot = q->h[0].slot;
	*at = q->h[0].at;
	return true;
}
