/* SPDX-License-Identifier: MIT */
/*
 * An error message buffer passed down by callers, so that a low-level
 * failure can say exactly what was wrong (file, line, the offending value)
 * while the function itself still returns a plain 0 / -errno.
 */
#ifndef KG_ERR_H
#define KG_ERR_H

struct kg_err {
	char msg[512];
};

/* Formats into e->msg (truncating); e may be NULL. Returns nothing: the
 * caller returns its own -errno. */
void kg_err_set(struct kg_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
