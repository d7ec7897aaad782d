/* SPDX-License-Identifier: MIT */
/*
 * A text buffer (struct kg_sb, a string builder) appended to
 * printf-style: admin answers, nft rule text, WireGuard's UAPI requests.
 * Two kinds, chosen at the start:
 *
 *  - growing (KG_SB_INIT): the buffer owns p, malloc'd and grown as
 *    needed; kg_sb_free releases it;
 *  - fixed (kg_sb_fixed): p is the caller's array of cap bytes, never
 *    reallocated nor freed; text that does not fit is an error.
 *
 * Text with secrets in it goes in a fixed buffer the caller wipes: a
 * growing one leaves old copies behind when it moves (realloc) and is
 * freed unwiped.
 *
 * Errors are sticky: after the first failure every append does nothing,
 * the text stays what it was before the failed append (NUL-terminated),
 * and kg_sb_error says why, so a builder appends without checks and
 * looks once at the end.
 */
#ifndef KG_STRBUF_H
#define KG_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct kg_sb {
	char *p;        /* the text; NULL until a growing one's first append */
	size_t len;     /* bytes of text, the NUL not counted */
	size_t cap;     /* bytes at p */
	int err;        /* 0, -ENOMEM (growing) or -ENOSPC (fixed) */
	bool fixed;     /* p is the caller's */
};

/* An empty growing buffer. */
#define KG_SB_INIT { NULL, 0, 0, 0, false }

/* b writes into buf[0..cap): buf holds "" from here on (if cap > 0); a cap
 * of 0 is an error (-ENOSPC) at once. */
void kg_sb_fixed(struct kg_sb *b, char *buf, size_t cap);

/* Appends the formatted text. Growing: -ENOMEM if the buffer cannot grow;
 * fixed: -ENOSPC if the text does not fit whole (nothing of it is kept).
 * A format vsnprintf itself refuses counts as the same error. */
void kg_sb_printf(struct kg_sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kg_sb_vprintf(struct kg_sb *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* s as a JSON string, quotes included: '"' and '\' escaped, control and
 * non-ASCII bytes as \u00XX (byte by byte: s need not be UTF-8). */
void kg_sb_json_str(struct kg_sb *b, const char *s);

/* The text so far: never NULL ("" for an empty buffer); valid until the
 * next append or kg_sb_free. */
const char *kg_sb_str(const struct kg_sb *b);

/* 0 or the first error (see above). */
int kg_sb_error(const struct kg_sb *b);

/* Growing: frees the text. Both kinds: b is an empty buffer of its kind
 * again with the error cleared (a fixed one over the same array). */
void kg_sb_free(struct kg_sb *b);

#endif
