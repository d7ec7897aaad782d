/* SPDX-License-Identifier: MIT */
/*
 * Bounds-checked reader and writer over caller-owned byte arrays: the one
 * way every wire format in knockgate reads or writes bytes. Getters and
 * putters return 0 or -EMSGSIZE (the reader/writer would run past its end);
 * on error nothing is consumed or written and the position is unchanged,
 * so a caller may return at the first error without cleanup.
 * Multi-byte integers are big-endian (network order).
 */
#ifndef KG_BUF_H
#define KG_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

struct kg_reader {
	const uint8_t *p;   /* not owned */
	size_t len;
	size_t pos;
};

struct kg_writer {
	uint8_t *p;         /* not owned */
	size_t cap;
	size_t pos;
};

void kg_reader_init(struct kg_reader *r, const void *buf, size_t len);
size_t kg_reader_left(const struct kg_reader *r);
bool kg_reader_done(const struct kg_reader *r);
int kg_get_u8(struct kg_reader *r, uint8_t *v);
int kg_get_u16(struct kg_reader *r, uint16_t *v);
int kg_get_u32(struct kg_reader *r, uint32_t *v);
int kg_get_u64(struct kg_reader *r, uint64_t *v);
/* Copies n bytes into out. */
int kg_get_bytes(struct kg_reader *r, void *out, size_t n);
/* Points *out into the reader's buffer (no copy; valid as long as it). */
int kg_get_view(struct kg_reader *r, const uint8_t **out, size_t n);
/* A u16 length then that many bytes, as a view; -EMSGSIZE if over max. */
int kg_get_lv16(struct kg_reader *r, const uint8_t **out, size_t *n, size_t max);
int kg_skip(struct kg_reader *r, size_t n);

void kg_writer_init(struct kg_writer *w, void *buf, size_t cap);
size_t kg_writer_left(const struct kg_writer *w);
int kg_put_u8(struct kg_writer *w, uint8_t v);
int kg_put_u16(struct kg_writer *w, uint16_t v);
int kg_put_u32(struct kg_writer *w, uint32_t v);
int kg_put_u64(struct kg_writer *w, uint64_t v);
int kg_put_bytes(struct kg_writer *w, const void *src, size_t n);
/* A u16 length then the bytes; -EMSGSIZE if n > 0xffff or no room. */
int kg_put_lv16(struct kg_writer *w, const void *src, size_t n);

#endif
