/* SPDX-License-Identifier: MIT */
#include "conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_key_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
}

static bool is_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' ||
	       ch == '.' || ch == '@';
}

static const char *trim(char *s, size_t *len)
{
	size_t n = *len;

	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	s[n] = 0;
	*len = n;
	return s;
}

/* Quotes at most 60 bytes of outside input in a message, with non-printing
 * bytes shown as '?', so an error line stays one readable line. */
static void quote_into(char *dst, size_t cap, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 4 < cap && i < 60; i++)
		dst[j++] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (n > 60 && j + 4 < cap) {
		memcpy(dst + j, "...", 3);
		j += 3;
	}
	dst[j] = 0;
}

static int add_item(struct kg_conf *c, const char *sec, const char *key,
		    const char *val, unsigned line)
{
	struct kg_conf_item *v = realloc(c->items, (c->n + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	c->items = v;
	v[c->n].section = strdup(sec);
	v[c->n].key = strdup(key);
	v[c->n].value = strdup(val);
	v[c->n].line = line;
	c->n++;
	if (!v[c->n - 1].section || !v[c->n - 1].key || !v[c->n - 1].value)
		return -ENOMEM;
	return 0;
}

/* "[name]" or "[kind name]"; writes the canonical "kind name" into out. */
static int parse_header(const char *s, size_t n, char *out, size_t cap)
{
	size_t i = 1, o = 0;
	int spaces = 0;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']' || n - 2 >= cap)
		return -EINVAL;
	for (; i < n - 1; i++) {
		if (s[i] == ' ') {
			if (spaces++ || o == 0)
				return -EINVAL;
			out[o++] = ' ';
		} else if ((spaces ? is_name_char(s[i]) : is_key_char(s[i]))) {
			out[o++] = s[i];
		} else {
			return -EINVAL;
		}
	}
	if (o == 0 || out[o - 1] == ' ')
		return -EINVAL;
	out[o] = 0;
	return 0;
}

static int parse_line(struct kg_conf *c, char *s, size_t n, unsigned lineno,
		      char *section, struct kg_err *e)
{
	char q[80];
	const char *t;
	char *eq, *key, *val;
	size_t kl, vl;

	t = trim(s, &n);
	if (n == 0 || t[0] == '#' || t[0] == ';')
		return 0;
	quote_into(q, sizeof(q), t, n);
	if (t[0] == '[') {
		if (parse_header(t, n, section, 256)) {
			kg_err_set(e, "%s:%u: malformed section header '%s'",
				   c->path, lineno, q);
			return -EINVAL;
		}
		/* An empty section still counts as present. */
		return add_item(c, section, "", "", lineno);
	}
	if (!section[0]) {
		kg_err_set(e, "%s:%u: setting outside any [section] '%s'",
			   c->path, lineno, q);
		return -EINVAL;
	}
	eq = memchr(t, '=', n);
	if (!eq) {
		kg_err_set(e, "%s:%u: expected 'key = value', got '%s'",
			   c->path, lineno, q);
		return -EINVAL;
	}
	key = (char *)t;
	kl = (size_t)(eq - t);
	val = eq + 1;
	vl = n - kl - 1;
	key = (char *)trim(key, &kl);
	val = (char *)trim(val, &vl);
	for (size_t i = 0; i < kl; i++)
		if (!is_key_char(key[i]))
			kl = 0;
	if (kl == 0) {
		kg_err_set(e, "%s:%u: bad key (use a-z, 0-9, _) in '%s'",
			   c->path, lineno, q);
		return -EINVAL;
	}
	if (kg_conf_find(c, section, key)) {
		kg_err_set(e, "%s:%u: '%s' set twice in [%s]", c->path, lineno,
			   key, section);
		return -EINVAL;
	}
	return add_item(c, section, key, val, lineno);
}

int kg_conf_parse(struct kg_conf *c, const char *path, const char *text,
		  size_t len, struct kg_err *e)
{
	char section[256] = "";
	char line[KG_CONF_MAX_LINE + 1];
	unsigned lineno = 0;
	size_t pos = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	c->path = strdup(path ? path : "(config)");
	if (!c->path)
		return -ENOMEM;
	if (len > KG_CONF_MAX_BYTES) {
		kg_err_set(e, "%s: file larger than %u bytes", c->path,
			   KG_CONF_MAX_BYTES);
		return -EINVAL;
	}
	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		lineno++;
		if (n > KG_CONF_MAX_LINE) {
			kg_err_set(e, "%s:%u: line longer than %d bytes",
				   c->path, lineno, KG_CONF_MAX_LINE);
			rc = -EINVAL;
			break;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)line[i];

			if ((ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f) {
				kg_err_set(e, "%s:%u: control byte 0x%02x in line",
					   c->path, lineno, ch);
				rc = -EINVAL;
				break;
			}
		}
		if (rc == 0)
			rc = parse_line(c, line, n, lineno, section, e);
		pos += n + (nl ? 1 : 0);
	}
	explicit_bzero(line, sizeof(line));
	if (rc) {
		char *p = c->path;

		c->path = NULL;
		kg_conf_free(c);
		c->path = p;
		if (rc == -ENOMEM)
			kg_err_set(e, "%s: out of memory", p);
	}
	return rc;
}

int kg_conf_load(struct kg_conf *c, const char *path, struct kg_err *e)
{
	char *buf;
	size_t len = 0;
	ssize_t r;
	int fd, rc;

	memset(c, 0, sizeof(*c));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return rc;
	}
	buf = malloc(KG_CONF_MAX_BYTES + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while ((r = read(fd, buf + len, KG_CONF_MAX_BYTES + 1 - len)) > 0) {
		len += (size_t)r;
		if (len > KG_CONF_MAX_BYTES)
			break;
	}
	rc = r < 0 ? -errno : 0;
	close(fd);
	if (rc) {
		kg_err_set(e, "%s: %s", path, strerror(-rc));
		free(buf);
		return rc;
	}
	rc = kg_conf_parse(c, path, buf, len, e);
	/* Card files and user records hold keys and PINs. */
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

void kg_conf_free(struct kg_conf *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->items[i].section);
		free(c->items[i].key);
		/* Values may be keys or PINs: do not leave them in freed memory. */
		explicit_bzero(c->items[i].value, strlen(c->items[i].value));
		free(c->items[i].value);
	}
	free(c->items);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

const struct kg_conf_item *kg_conf_find(const struct kg_conf *c,
					const char *section, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->items[i].section, section) &&
		    !strcmp(c->items[i].key, key) && key[0])
			return &c->items[i];
	return NULL;
}

bool kg_conf_has_section(const struct kg_conf *c, const char *section)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->items[i].section, section))
			return true;
	return false;
}

const char *kg_conf_next_section(const struct kg_conf *c, const char *kind,
				 size_t *i)
{
	size_t kl = strlen(kind);

	for (; *i < c->n; (*i)++) {
		const char *s = c->items[*i].section;

		/* Headers are recorded as an item with an empty key: one per
		 * header, so each section is returned once. */
		if (c->items[*i].key[0] || strncmp(s, kind, kl) || s[kl] != ' ')
			continue;
		(*i)++;
		return s + kl + 1;
	}
	return NULL;
}

int kg_conf_check_keys(const struct kg_conf *c, const char *section,
		       const char *const *allowed, struct kg_err *e)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct kg_conf_item *it = &c->items[i];
		bool ok = !it->key[0];

		if (strcmp(it->section, section))
			continue;
		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(*a, it->key);
		if (!ok) {
			kg_err_set(e, "%s:%u: unknown key '%s' in [%s]", c->path,
				   it->line, it->key, section);
			return -EINVAL;
		}
	}
	return 0;
}

int kg_conf_str(const struct kg_conf *c, const char *section, const char *key,
		const char *def, const char **out, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, section, key);

	if (it) {
		*out = it->value;
		return 0;
	}
	if (!def) {
		kg_err_set(e, "%s: [%s] needs '%s'", c->path, section, key);
		return -ENOENT;
	}
	*out = def;
	return 0;
}

int kg_conf_uint(const struct kg_conf *c, const char *section, const char *key,
		 bool required, uint64_t def, uint64_t min, uint64_t max,
		 uint64_t *out, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, section, key);
	unsigned long long v;
	char *end;

	if (!it) {
		if (required) {
			kg_err_set(e, "%s: [%s] needs '%s'", c->path, section, key);
			return -ENOENT;
		}
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtoull(it->value, &end, 10);
	if (!isdigit((unsigned char)it->value[0]) || *end || errno ||
	    v < min || v > max) {
		char q[80];

		quote_into(q, sizeof(q), it->value, strlen(it->value));
		kg_err_set(e, "%s:%u: %s: expected a whole number from %llu to %llu, got '%s'",
			   c->path, it->line, key, (unsigned long long)min,
			   (unsigned long long)max, q);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int kg_conf_bool(const struct kg_conf *c, const char *section, const char *key,
		 bool def, bool *out, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, section, key);
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	*out = def;
	if (!it)
		return 0;
	for (size_t i = 0; i < 4; i++) {
		if (!strcmp(it->value, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(it->value, no[i])) {
			*out = false;
			return 0;
		}
	}
	{
		char q[80];

		quote_into(q, sizeof(q), it->value, strlen(it->value));
		kg_err_set(e, "%s:%u: %s: expected yes or no, got '%s'", c->path,
			   it->line, key, q);
	}
	return -EINVAL;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int kg_hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void kg_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}

int kg_conf_hex(const struct kg_conf *c, const char *section, const char *key,
		bool required, uint8_t *out, size_t n, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, section, key);

	if (!it) {
		if (!required)
			return 0;
		kg_err_set(e, "%s: [%s] needs '%s'", c->path, section, key);
		return -ENOENT;
	}
	if (kg_hex_decode(it->value, out, n)) {
		/* Do not quote: hex values are usually keys. */
		kg_err_set(e, "%s:%u: %s: expected %zu hex digits", c->path,
			   it->line, key, 2 * n);
		return -EINVAL;
	}
	return 0;
}

void kg_conf_list_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int kg_conf_list(const struct kg_conf *c, const char *section, const char *key,
		 char ***out, size_t *n, struct kg_err *e)
{
	const struct kg_conf_item *it = kg_conf_find(c, section, key);
	char **v = NULL;
	size_t cnt = 0;
	const char *p;

	*out = NULL;
	*n = 0;
	if (!it)
		return 0;
	for (p = it->value; *p;) {
		size_t l;
		char **nv;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		l = strcspn(p, ", \t");
		if (!l)
			break;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv || !(nv[cnt] = strndup(p, l))) {
			kg_conf_list_free(nv ? nv : v, cnt);
			kg_err_set(e, "%s: out of memory", c->path);
			return -ENOMEM;
		}
		v = nv;
		cnt++;
		p += l;
	}
	*out = v;
	*n = cnt;
	return 0;
}
