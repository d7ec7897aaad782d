/* SPDX-License-Identifier: MIT */
#include "strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void kg_sb_fixed(struct kg_sb *b, char *buf, size_t cap)
{
	*b = (struct kg_sb){ .p = buf, .cap = cap, .fixed = true };
	if (cap)
		buf[0] = '\0';
	else
		b->err = -ENOSPC;
}

/* Room for need more bytes of text and the NUL; doubling keeps a long
 * answer built from many small appends linear. 0 or -ENOMEM. */
static int grow(struct kg_sb *b, size_t need)
{
	size_t cap;
	char *p;

	if (b->cap > SIZE_MAX / 4 || need > SIZE_MAX / 4)
		return -ENOMEM;
	cap = (b->cap ? b->cap * 2 : 4096) + need;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

void kg_sb_vprintf(struct kg_sb *b, const char *fmt, va_list ap)
{
	while (!b->err) {
		size_t room = b->cap - b->len;
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, aq);
		va_end(aq);
		if (n >= 0 && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		/* vsnprintf left a cut-off piece after the text: not kept */
		if (b->p)
			b->p[b->len] = '\0';
		if (b->fixed)
			b->err = -ENOSPC;
		else if (n < 0 || grow(b, (size_t)n))
			b->err = -ENOMEM;
	}
}

void kg_sb_printf(struct kg_sb *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kg_sb_vprintf(b, fmt, ap);
	va_end(ap);
}

void kg_sb_json_str(struct kg_sb *b, const char *s)
{
	kg_sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			kg_sb_printf(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			kg_sb_printf(b, "\\u%04x", c);
		else
			kg_sb_printf(b, "%c", c);
	}
	kg_sb_printf(b, "\"");
}

const char *kg_sb_str(const struct kg_sb *b)
{
	return b->p && b->cap ? b->p : "";
}

int kg_sb_error(const struct kg_sb *b)
{
	return b->err;
}

void kg_sb_free(struct kg_sb *b)
{
	if (b->fixed) {
		kg_sb_fixed(b, b->p, b->cap);
		return;
	}
	free(b->p);
	*b = (struct kg_sb)KG_SB_INIT;
}
