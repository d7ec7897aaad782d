/* SPDX-License-Identifier: MIT */
/*
 * Config files: `key = value` lines inside `[section]` or `[kind name]`
 * headers; '#' or ';' start a comment line; blank lines are ignored.
 * Used for daemon configs, user records and client profiles alike.
 *
 * The parser does no I/O (kg_conf_parse takes bytes) so unit tests and the
 * fuzzer drive it directly. It refuses: a key outside a section, a
 * malformed header or key, a duplicate key in one section, NUL or control
 * bytes, lines over 4096 bytes. Every error message has the form
 * "FILE:LINE: what is wrong 'the value'", so an admin can find it.
 *
 * Memory: a struct kg_conf owns all its strings; free it with
 * kg_conf_free(). Returned const char * point into it.
 */
#ifndef KG_CONF_H
#define KG_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "err.h"

#define KG_CONF_MAX_BYTES (1u << 20)
#define KG_CONF_MAX_LINE 4096

struct kg_conf_item {
	char *section;   /* "green", or "user alice" */
	char *key;
	char *value;
	unsigned line;
};

struct kg_conf {
	char *path;
	struct kg_conf_item *items;
	size_t n;
};

/* 0, or -EINVAL with e set (the conf is then empty but still freeable),
 * or -ENOMEM. path is only used in messages. */
int kg_conf_parse(struct kg_conf *c, const char *path, const char *text,
		  size_t len, struct kg_err *e);
/* Reads the file (at most KG_CONF_MAX_BYTES) and parses it. -errno of the
 * I/O error (message names the file) or as kg_conf_parse. */
int kg_conf_load(struct kg_conf *c, const char *path, struct kg_err *e);
void kg_conf_free(struct kg_conf *c);

const struct kg_conf_item *kg_conf_find(const struct kg_conf *c,
					const char *section, const char *key);
/* True if the section header exists (possibly with no keys). */
bool kg_conf_has_section(const struct kg_conf *c, const char *section);

/* For "[kind name]" headers: returns name if section is "kind name", else
 * NULL. Iterate with the index: i starts at 0, returns the next distinct
 * section of that kind at or after *i and advances *i past it. */
const char *kg_conf_next_section(const struct kg_conf *c, const char *kind,
				 size_t *i);

/* Refuses keys not in allowed (NULL-terminated) in section: a typo in a
 * security setting must not be silently ignored. -EINVAL with e set. */
int kg_conf_check_keys(const struct kg_conf *c, const char *section,
		       const char *const *allowed, struct kg_err *e);

/* Typed getters. def is used when the key is absent; where def cannot be
 * given (NULL for strings, required=true) a missing key is -ENOENT with
 * "FILE: [section] needs 'key'". A bad value is -EINVAL with
 * "FILE:LINE: key: what is expected, got 'value'". */
int kg_conf_str(const struct kg_conf *c, const char *section, const char *key,
		const char *def, const char **out, struct kg_err *e);
int kg_conf_uint(const struct kg_conf *c, const char *section, const char *key,
		 bool required, uint64_t def, uint64_t min, uint64_t max,
		 uint64_t *out, struct kg_err *e);
int kg_conf_bool(const struct kg_conf *c, const char *section, const char *key,
		 bool def, bool *out, struct kg_err *e);
/* Exactly n bytes of hex (2n digits). */
int kg_conf_hex(const struct kg_conf *c, const char *section, const char *key,
		bool required, uint8_t *out, size_t n, struct kg_err *e);

/* A comma- and/or space-separated list. *out is a malloc'd array of
 * malloc'd strings (free with kg_conf_list_free); absent key = empty list. */
int kg_conf_list(const struct kg_conf *c, const char *section, const char *key,
		 char ***out, size_t *n, struct kg_err *e);
void kg_conf_list_free(char **v, size_t n);

/* Decodes exactly n bytes of hex from s; -EINVAL otherwise. */
int kg_hex_decode(const char *s, uint8_t *out, size_t n);
/* Writes 2n+1 bytes (NUL-terminated) into out. */
void kg_hex_encode(const uint8_t *in, size_t n, char *out);

#endif
