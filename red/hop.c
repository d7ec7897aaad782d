/* SPDX-License-Identifier: MIT */
#include "hop.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int kg_hop_getrandom(void *ctx, void *buf, size_t n)
{
	uint8_t *p = buf;

	(void)ctx;
	while (n) {
		ssize_t r = getrandom(p, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int kg_hop_uniform(kg_hop_rand_fn rnd, void *ctx, uint32_t n, uint32_t *out)
{
	/* the largest multiple of n that fits: values above it are redrawn */
	uint64_t lim = ((uint64_t)1 << 32) - (((uint64_t)1 << 32) % n);
	uint32_t v;
	int r;

	if (n == 0)
		return -EINVAL;
	do {
		if ((r = rnd(ctx, &v, sizeof(v))))
			return r;
	} while ((uint64_t)v >= lim);
	*out = v % n;
	return 0;
}

int kg_hop_interval(const struct kg_hop_conf *h, kg_hop_rand_fn rnd,
		    void *ctx, uint32_t *ms)
{
	uint32_t i;
	int r;

	if (h->n_intervals) {
		if ((r = kg_hop_uniform(rnd, ctx, (uint32_t)h->n_intervals, &i)))
			return r;
		*ms = h->intervals[i];
		return 0;
	}
	if (h->interval_min == 0 || h->interval_max < h->interval_min)
		return -EINVAL;
	if ((r = kg_hop_uniform(rnd, ctx, h->interval_max - h->interval_min + 1, &i)))
		return r;
	*ms = h->interval_min + i;
	return 0;
}

uint32_t kg_hop_pool_size(const struct kg_hop_conf *h)
{
	uint32_t n = 0;

	for (size_t i = 0; i < h->n_pool; i++)
		n += (uint32_t)h->pool[i].hi - h->pool[i].lo + 1;
	return n;
}

static bool taken(const struct kg_pool *used, uint16_t avoid, uint16_t p)
{
	return p == avoid || (used && kg_pool_in_use(used, p));
}

/* The k-th free port of the pool, in range order. */
static uint16_t nth_free(const struct kg_hop_conf *h, const struct kg_pool *used,
			 uint16_t avoid, uint32_t k)
{
	for (size_t i = 0; i < h->n_pool; i++)
		for (uint32_t p = h->pool[i].lo; p <= h->pool[i].hi; p++) {
			if (taken(used, avoid, (uint16_t)p))
				continue;
			if (k-- == 0)
				return (uint16_t)p;
		}
	return 0;
}

int kg_hop_port(const struct kg_hop_conf *h, const struct kg_pool *used,
		uint16_t avoid, kg_hop_rand_fn rnd, void *ctx, uint16_t *port)
{
	uint32_t free_n = 0, k;
	int r;

	/* Counting the free ports first makes the draw uniform over them
	 * (probing upwards from a random start would favour the port after
	 * a run of taken ones). */
	for (size_t i = 0; i < h->n_pool; i++)
		for (uint32_t p = h->pool[i].lo; p <= h->pool[i].hi; p++)
			free_n += !taken(used, avoid, (uint16_t)p);
	if (free_n == 0)
		return -ENOSPC;
	if ((r = kg_hop_uniform(rnd, ctx, free_n, &k)))
		return r;
	*port = nth_free(h, used, avoid, k);
	return *port ? 0 : -ENOSPC;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* An unsigned decimal number; *end after it. */
static int number(const char *s, const char **end, unsigned long max,
		  unsigned long *v)
{
	char *e;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &e, 10);
	if (errno || *v > max)
		return -EINVAL;
	*end = e;
	return 0;
}

/* "N" seconds or "Nms"; 1 ms .. 1 day. */
static int duration(const char *s, const char **end, uint32_t *ms)
{
	unsigned long v;

	if (number(s, &s, 86400000UL, &v))
		return -EINVAL;
	if (s[0] == 'm' && s[1] == 's') {
		s += 2;
	} else {
		if (s[0] == 's')
			s++;
		if (v > 86400)
			return -EINVAL;
		v *= 1000;
	}
	if (v == 0)
		return -EINVAL;
	*ms = (uint32_t)v;
	*end = s;
	return 0;
}

int kg_hop_parse_duration(const char *s, uint32_t *ms)
{
	const char *e;

	if (duration(skip_ws(s), &e, ms) || *skip_ws(e))
		return -EINVAL;
	return 0;
}

int kg_hop_parse_pool(const char *s, struct kg_hop_conf *h)
{
	unsigned long lo, hi;

	h->n_pool = 0;
	for (;;) {
		s = skip_ws(s);
		if (number(s, &s, 65535, &lo))
			return -EINVAL;
		hi = lo;
		s = skip_ws(s);
		if (*s == '-' && number(skip_ws(s + 1), &s, 65535, &hi))
			return -EINVAL;
		if (lo == 0 || hi < lo || h->n_pool == KG_HOP_MAX_RANGES)
			return -EINVAL;
		for (size_t i = 0; i < h->n_pool; i++)
			if (lo <= h->pool[i].hi && h->pool[i].lo <= hi)
				return -EINVAL;
		h->pool[h->n_pool].lo = (uint16_t)lo;
		h->pool[h->n_pool++].hi = (uint16_t)hi;
		s = skip_ws(s);
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return -EINVAL;
	}
}

int kg_hop_parse_intervals(const char *s, struct kg_hop_conf *h)
{
	uint32_t a, b;
	const char *e;

	h->n_intervals = 0;
	h->interval_min = h->interval_max = 0;
	s = skip_ws(s);
	if (duration(s, &e, &a))
		return -EINVAL;
	e = skip_ws(e);
	if (*e == '-') {
		if (duration(skip_ws(e + 1), &e, &b) || *skip_ws(e) || b < a)
			return -EINVAL;
		h->interval_min = a;
		h->interval_max = b;
		return 0;
	}
	for (;;) {
		if (h->n_intervals == KG_HOP_MAX_INTERVALS)
			return -EINVAL;
		h->intervals[h->n_intervals++] = a;
		if (*e == '\0')
			return 0;
		if (*e++ != ',' || duration(skip_ws(e), &e, &a))
			return -EINVAL;
		e = skip_ws(e);
	}
}
