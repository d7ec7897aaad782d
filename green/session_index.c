/* SPDX-License-Identifier: MIT */
#include "session_index.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "crypto.h"

/* A keyed multiply-xorshift over 8-byte words (the table is private to
 * green and keyed by a secret: speed matters more than a PRF's margin). */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

uint64_t kg_sidx_hash(uint64_t seed, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);

	while (n) {
		uint64_t w = 0;
		size_t k = n < 8 ? n : 8;

		memcpy(&w, b, k);
		h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
		b += k;
		n -= k;
	}
	return mix(h);
}

uint64_t kg_sidx_seed(void)
{
	uint64_t s = 0x6b6e6f636b676174ULL;

	(void)kg_random(&s, sizeof(s));
	return s;
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int kg_sidx_init(struct kg_sidx *x, size_t cap, kg_sidx_match_fn match,
		 kg_sidx_hash_fn hash, const void *ctx)
{
	size_t n;

	memset(x, 0, sizeof(*x));
	if (!cap || cap > UINT32_MAX / 4)
		return -EINVAL;
	n = pow2_at_least(cap * 2);
	if (!(x->slot = calloc(n, sizeof(*x->slot))))
		return -ENOMEM;
	x->mask = n - 1;
	x->match = match;
	x->hash = hash;
	x->ctx = ctx;
	return 0;
}

void kg_sidx_free(struct kg_sidx *x)
{
	free(x->slot);
	memset(x, 0, sizeof(*x));
}

uint32_t kg_sidx_find(const struct kg_sidx *x, uint64_t h, const void *key)
{
	for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
		uint32_t v = x->slot[i];

		if (!v)
			return KG_SIDX_NONE;
		if (x->match(x->ctx, v - 1, key))
			return v - 1;
	}
}

void kg_sidx_add(struct kg_sidx *x, uint64_t h, uint32_t pos)
{
	size_t i = h & x->mask;

	while (x->slot[i])
		i = (i + 1) & x->mask;
	x->slot[i] = pos + 1;
}

static size_t slot_of(const struct kg_sidx *x, uint64_t h, uint32_t pos)
{
	for (size_t i = h & x->mask;; i = (i + 1) & x->mask) {
		if (!x->slot[i])
			return SIZE_MAX;
		if (x->slot[i] == pos + 1)
			return i;
	}
}

/* Backward shift: every later entry of the run that may move up does,
 * so a find never crosses a hole it should not. */
bool kg_sidx_del(struct kg_sidx *x, uint64_t h, uint32_t pos)
{
	size_t i = slot_of(x, h, pos), j;

	if (i == SIZE_MAX)
		return false;
	j = i;
	for (;;) {
		size_t home;

		x->slot[i] = 0;
		for (;;) {
			j = (j + 1) & x->mask;
			if (!x->slot[j])
				return true;
			home = x->hash(x->ctx, x->slot[j] - 1) & x->mask;
			/* j's entry may fill i unless its home lies in (i, j]. */
			if (i <= j ? (i < home && home <= j)
				   : (i < home || home <= j))
				continue;
			break;
		}
		x->slot[i] = x->slot[j];
		i = j;
	}
}

void kg_sidx_move(struct kg_sidx *x, uint64_t h, uint32_t from, uint32_t to)
{
	size_t i = slot_of(x, h, from);

	if (i != SIZE_MAX)
		x->slot[i] = to + 1;
}

int kg_srcidx_init(struct kg_srcidx *x, size_t cap, uint64_t seed)
{
	size_t n;

	memset(x, 0, sizeof(*x));
	if (!cap || cap > UINT32_MAX / 4)
		return -EINVAL;
	n = pow2_at_least(cap + cap / 3 + 1);
	if (!(x->e = calloc(n, sizeof(*x->e))))
		return -ENOMEM;
	x->mask = n - 1;
	x->seed = seed;
	return 0;
}

void kg_srcidx_free(struct kg_srcidx *x)
{
	free(x->e);
	memset(x, 0, sizeof(*x));
}

static uint64_t src_hash(const struct kg_srcidx *x, const struct kg_addr *a,
			 uint16_t tag)
{
	uint8_t k[19];

	k[0] = a->family;
	memcpy(k + 1, a->b, 16);
	k[17] = (uint8_t)(tag >> 8);
	k[18] = (uint8_t)tag;
	return kg_sidx_hash(x->seed, k, sizeof(k));
}

/* The slot holding (a, tag), or the empty slot where it would go. */
static size_t src_slot(const struct kg_srcidx *x, const struct kg_addr *a,
		       uint16_t tag)
{
	for (size_t i = src_hash(x, a, tag) & x->mask;; i = (i + 1) & x->mask)
		if (!x->e[i].count ||
		    (x->e[i].tag == tag && kg_addr_eq(&x->e[i].a, a)))
			return i;
}

void kg_srcidx_inc(struct kg_srcidx *x, const struct kg_addr *a, uint16_t tag)
{
	size_t i = src_slot(x, a, tag);

	if (!x->e[i].count) {
		x->e[i].a = *a;
		x->e[i].tag = tag;
	}
	x->e[i].count++;
}

uint32_t kg_srcidx_count(const struct kg_srcidx *x, const struct kg_addr *a,
			 uint16_t tag)
{
	return x->e[src_slot(x, a, tag)].count;
}

void kg_srcidx_dec(struct kg_srcidx *x, const struct kg_addr *a, uint16_t tag)
{
	size_t i = src_slot(x, a, tag), j;

	if (!x->e[i].count || --x->e[i].count)
		return;
	/* Emptied: backward shift as in kg_sidx_del. */
	j = i;
	for (;;) {
		size_t home;

		memset(&x->e[i], 0, sizeof(x->e[i]));
		for (;;) {
			j = (j + 1) & x->mask;
			if (!x->e[j].count)
				return;
			home = src_hash(x, &x->e[j].a, x->e[j].tag) & x->mask;
			if (i <= j ? (i < home && home <= j)
				   : (i < home || home <= j))
				continue;
			break;
		}
		x->e[i] = x->e[j];
		i = j;
	}
}

int kg_sheap_init(struct kg_sheap *q, size_t cap, kg_sheap_key_fn key,
		  kg_sheap_at_fn at, void *ctx)
{
	memset(q, 0, sizeof(*q));
	if (!cap)
		return -EINVAL;
	if (!(q->h = calloc(cap, sizeof(*q->h))))
		return -ENOMEM;
	q->cap = cap;
	q->key = key;
	q->at = at;
	q->ctx = ctx;
	return 0;
}

void kg_sheap_free(struct kg_sheap *q)
{
	free(q->h);
	memset(q, 0, sizeof(*q));
}

static void place(struct kg_sheap *q, size_t i, uint32_t pos)
{
	q->h[i] = pos;
	*q->at(q->ctx, pos) = (uint32_t)i;
}

static void sift_up(struct kg_sheap *q, size_t i)
{
	uint32_t pos = q->h[i];
	int64_t k = q->key(q->ctx, pos);

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (q->key(q->ctx, q->h[p]) <= k)
			break;
		place(q, i, q->h[p]);
		i = p;
	}
	place(q, i, pos);
}

static void sift_down(struct kg_sheap *q, size_t i)
{
	uint32_t pos = q->h[i];
	int64_t k = q->key(q->ctx, pos);

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n &&
		    q->key(q->ctx, q->h[c + 1]) < q->key(q->ctx, q->h[c]))
			c++;
		if (k <= q->key(q->ctx, q->h[c]))
			break;
		place(q, i, q->h[c]);
		i = c;
	}
	place(q, i, pos);
}

void kg_sheap_push(struct kg_sheap *q, uint32_t pos)
{
	if (q->n == q->cap)
		return;   /* cannot happen: one entry a session, cap sessions */
	q->h[q->n] = pos;
	*q->at(q->ctx, pos) = (uint32_t)q->n;
	sift_up(q, q->n++);
}

void kg_sheap_fix(struct kg_sheap *q, uint32_t pos)
{
	size_t i = *q->at(q->ctx, pos);

	if (i >= q->n || q->h[i] != pos)
		return;
	sift_up(q, i);
	sift_down(q, *q->at(q->ctx, pos));
}

void kg_sheap_del(struct kg_sheap *q, uint32_t pos)
{
	size_t i = *q->at(q->ctx, pos);

	if (i >= q->n || q->h[i] != pos)
		return;
	q->n--;
	if (i == q->n)
		return;
	place(q, i, q->h[q->n]);
	kg_sheap_fix(q, q->h[i]);
}

void kg_sheap_move(struct kg_sheap *q, uint32_t from, uint32_t to)
{
	size_t i = *q->at(q->ctx, to);

	(void)from;
	if (i < q->n && q->h[i] == from)
		q->h[i] = to;
}

uint32_t kg_sheap_top(const struct kg_sheap *q)
{
	return q->n ? q->h[0] : KG_SIDX_NONE;
}
