/* SPDX-License-Identifier: MIT */
#include "buf.h"

#include <errno.h>
#include <string.h>

void kg_reader_init(struct kg_reader *r, const void *buf, size_t len)
{
	r->p = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
}

size_t kg_reader_left(const struct kg_reader *r)
{
	return r->len - r->pos;
}

bool kg_reader_done(const struct kg_reader *r)
{
	return r->pos == r->len;
}

int kg_get_view(struct kg_reader *r, const uint8_t **out, size_t n)
{
	if (n > kg_reader_left(r))
		return -EMSGSIZE;
	*out = r->p + r->pos;
	r->pos += n;
	return 0;
}

int kg_get_bytes(struct kg_reader *r, void *out, size_t n)
{
	const uint8_t *v;
	int rc = kg_get_view(r, &v, n);

	if (rc == 0 && n)
		memcpy(out, v, n);
	return rc;
}

int kg_skip(struct kg_reader *r, size_t n)
{
	const uint8_t *v;

	return kg_get_view(r, &v, n);
}

static int get_be(struct kg_reader *r, size_t n, uint64_t *v)
{
	const uint8_t *b;
	uint64_t x = 0;

	if (kg_get_view(r, &b, n))
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | b[i];
	*v = x;
	return 0;
}

int kg_get_u8(struct kg_reader *r, uint8_t *v)
{
	uint64_t x;
	int rc = get_be(r, 1, &x);

	if (!rc)
		*v = (uint8_t)x;
	return rc;
}

int kg_get_u16(struct kg_reader *r, uint16_t *v)
{
	uint64_t x;
	int rc = get_be(r, 2, &x);

	if (!rc)
		*v = (uint16_t)x;
	return rc;
}

int kg_get_u32(struct kg_reader *r, uint32_t *v)
{
	uint64_t x;
	int rc = get_be(r, 4, &x);

	if (!rc)
		*v = (uint32_t)x;
	return rc;
}

int kg_get_u64(struct kg_reader *r, uint64_t *v)
{
	return get_be(r, 8, v);
}

int kg_get_lv16(struct kg_reader *r, const uint8_t **out, size_t *n, size_t max)
{
	size_t start = r->pos;
	uint16_t l;

	if (kg_get_u16(r, &l))
		return -EMSGSIZE;
	if (l > max || kg_get_view(r, out, l)) {
		r->pos = start;
		return -EMSGSIZE;
	}
	*n = l;
	return 0;
}

void kg_writer_init(struct kg_writer *w, void *buf, size_t cap)
{
	w->p = buf;
	w->cap = buf ? cap : 0;
	w->pos = 0;
}

size_t kg_writer_left(const struct kg_writer *w)
{
	return w->cap - w->pos;
}

int kg_put_bytes(struct kg_writer *w, const void *src, size_t n)
{
	if (n > kg_writer_left(w))
		return -EMSGSIZE;
	if (n)
		memcpy(w->p + w->pos, src, n);
	w->pos += n;
	return 0;
}

static int put_be(struct kg_writer *w, size_t n, uint64_t v)
{
	uint8_t b[8];

	for (size_t i = 0; i < n; i++)
		b[n - 1 - i] = (uint8_t)(v >> (8 * i));
	return kg_put_bytes(w, b, n);
}

int kg_put_u8(struct kg_writer *w, uint8_t v)
{
	return put_be(w, 1, v);
}

int kg_put_u16(struct kg_writer *w, uint16_t v)
{
	return put_be(w, 2, v);
}

int kg_put_u32(struct kg_writer *w, uint32_t v)
{
	return put_be(w, 4, v);
}

int kg_put_u64(struct kg_writer *w, uint64_t v)
{
	return put_be(w, 8, v);
}

int kg_put_lv16(struct kg_writer *w, const void *src, size_t n)
{
	if (n > 0xffff || n + 2 > kg_writer_left(w))
		return -EMSGSIZE;
	put_be(w, 2, n);
	return kg_put_bytes(w, src, n);
}
