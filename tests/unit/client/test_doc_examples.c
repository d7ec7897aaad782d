/* SPDX-License-Identifier: MIT */
/*
 * Every config example the project shows must load with the parser that
 * reads it for real: etc/green.conf.example and etc/red.conf.example,
 * and each fenced block in the docs' markdown files whose info string is
 * "ini KIND" (KIND: green.conf, red.conf, profile.conf, user, card).
 * A green.conf or red.conf block may be a fragment: its sections replace
 * the example's same sections (or are added), and the whole file loads.
 * Built twice (green side, red side: their cores are linked apart), with
 * KG_DOCS_RED for the red side; each checks only its own kinds, but both
 * count every block so that a block of an unknown kind fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"

#ifdef KG_DOCS_RED
#include "config.h"
#else
#include "green.h"
#include "profile.h"
#include "users.h"
#include "vcard.h"
#endif

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

#ifndef KG_DOCS_RED
static char *tmp_write(const char *text)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/kg-doc-example.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}
#endif

/* Whether the section header line h (with its brackets) is in text. */
static int has_header(const char *text, const char *h, size_t hl)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, h, hl) && (p[hl] == '\n' || p[hl] == '\0'))
			return 1;
	return 0;
}

/* base with each of frag's sections replaced by frag's, frag appended. */
static char *merge(const char *base, const char *frag)
{
	size_t cap = strlen(base) + strlen(frag) + 2, n = 0;
	char *out = malloc(cap);
	int skip = 0;

	assert_non_null(out);
	for (const char *p = base; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);

		if (p[0] == '[') {
			size_t hl = strcspn(p, "\n");

			skip = has_header(frag, p, hl);
		}
		if (!skip) {
			memcpy(out + n, p, len);
			n += len;
		}
		p += len;
	}
	n += (size_t)snprintf(out + n, cap - n, "\n%s", frag);
	out[n] = '\0';
	return out;
}

static int checked;

#ifndef KG_DOCS_RED
static void check_green(const char *where, const char *text)
{
	char *base = slurp(KG_SRC "/etc/green.conf.example");
	char *all = text ? merge(base, text) : base;
	char *path = tmp_write(all);
	struct green_conf c;
	struct kg_err e = { "" };
	int rc;

	memset(&c, 0, sizeof(c));
	rc = green_conf_load(&c, path, &e);
	if (rc)
		fail_msg("%s: green.conf: %s", where, e.msg);
	green_conf_free(&c);
	unlink(path);
	if (all != base)
		free(all);
	free(base);
}

static void check_profile(const char *where, const char *text)
{
	struct kg_conf c;
	struct kg_profile p;
	struct kg_err e = { "" };

	if (kg_conf_parse(&c, where, text, strlen(text), &e) ||
	    kg_profile_parse(&p, &c, "/tmp", &e))
		fail_msg("%s: profile.conf: %s", where, e.msg);
	kg_profile_wipe(&p);
	kg_conf_free(&c);
}

static void check_user(const char *where, const char *text)
{
	struct kg_conf c;
	struct kg_users u;
	struct kg_err e = { "" };

	kg_users_init(&u, 60);
	if (kg_conf_parse(&c, where, text, strlen(text), &e) ||
	    kg_users_add_conf(&u, &c, &e))
		fail_msg("%s: users.d record: %s", where, e.msg);
	kg_users_free(&u);
	kg_conf_free(&c);
}

static void check_card(const char *where, const char *text)
{
	char *path = tmp_write(text);
	struct vcard v;
	struct kg_err e = { "" };

	vcard_init(&v);
	if (vcard_load(&v, path, &e))
		fail_msg("%s: card file: %s", where, e.msg);
	vcard_free(&v);
	unlink(path);
}
#else
static void check_red(const char *where, const char *text)
{
	char *base = slurp(KG_SRC "/etc/red.conf.example");
	char *all = text ? merge(base, text) : base;
	static struct kg_red_config rc;
	struct kg_conf c;
	struct kg_err e = { "" };

	memset(&rc, 0, sizeof(rc));
	if (kg_conf_parse(&c, where, all, strlen(all), &e) ||
	    kg_red_config_from(&rc, &c, NULL, &e))
		fail_msg("%s: red.conf: %s", where, e.msg);
	kg_conf_free(&c);
	if (all != base)
		free(all);
	free(base);
}
#endif

/* lib/conf.c keeps a '#' after a value as part of the value: some keys
 * then fail to parse, others (a name) would silently take it. */
static void no_inline_comment(const char *where, const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		size_t len = strcspn(p, "\n");
		const char *eq = memchr(p, '=', len), *h = memchr(p, '#', len);

		if (p[0] != '#' && p[0] != ';' && eq && h && h > eq)
			fail_msg("%s: inline comment in '%.*s' (the parser takes it "
				 "as part of the value: put it on its own line)",
				 where, (int)len, p);
	}
}

static void check_block(const char *where, const char *kind, const char *text)
{
	checked++;
	no_inline_comment(where, text);
#ifndef KG_DOCS_RED
	if (!strcmp(kind, "green.conf"))
		return check_green(where, text);
	if (!strcmp(kind, "profile.conf"))
		return check_profile(where, text);
	if (!strcmp(kind, "user"))
		return check_user(where, text);
	if (!strcmp(kind, "card"))
		return check_card(where, text);
	if (!strcmp(kind, "red.conf"))
		return;
#else
	if (!strcmp(kind, "red.conf"))
		return check_red(where, text);
	if (!strcmp(kind, "green.conf") || !strcmp(kind, "profile.conf") ||
	    !strcmp(kind, "user") || !strcmp(kind, "card"))
		return;
#endif
	fail_msg("%s: unknown example kind '%s' (green.conf, red.conf, "
		 "profile.conf, user, card)", where, kind);
}

/* Walks one markdown file's fenced blocks. */
static void check_doc(const char *path)
{
	char *doc = slurp(path), *block = malloc(strlen(doc) + 1), kind[32] = "";
	char where[600];
	size_t n = 0;
	unsigned line = 0, start = 0;
	int in = 0, ini = 0;

	assert_non_null(block);
	for (char *p = doc; *p;) {
		char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);

		line++;
		if (!strncmp(p, "```", 3)) {
			if (in && ini) {
				block[n] = '\0';
				snprintf(where, sizeof(where), "%s:%u", path, start);
				check_block(where, kind, block);
			}
			if (!in) {
				ini = !strncmp(p + 3, "ini", 3);
				kind[0] = '\0';
				if (ini && sscanf(p + 6, " %31s", kind) != 1)
					fail_msg("%s:%u: ```ini without a kind", path, line);
				start = line;
				n = 0;
			}
			in = !in;
		} else if (in) {
			memcpy(block + n, p, len);
			n += len;
		}
		p += len;
	}
	free(block);
	free(doc);
}

static void test_etc_examples(void **state)
{
	char *g = slurp(KG_SRC "/etc/green.conf.example");
	char *r = slurp(KG_SRC "/etc/red.conf.example");

	(void)state;
	no_inline_comment("etc/green.conf.example", g);
	no_inline_comment("etc/red.conf.example", r);
	free(g);
	free(r);
#ifndef KG_DOCS_RED
	check_green("etc/green.conf.example", NULL);
#else
	check_red("etc/red.conf.example", NULL);
#endif
}

static void test_docs_examples(void **state)
{
	struct dirent **ents;
	char path[512];
	int n = scandir(KG_SRC "/docs", &ents, NULL, alphasort);

	(void)state;
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(ents[i]->d_name);

		if (l > 3 && !strcmp(ents[i]->d_name + l - 3, ".md")) {
			snprintf(path, sizeof(path), "%s/docs/%s", KG_SRC, ents[i]->d_name);
			check_doc(path);
		}
		free(ents[i]);
	}
	free(ents);
	/* The docs do show examples: a broken extraction must not pass. */
	assert_true(checked >= 6);
	print_message("checked %d example blocks\n", checked);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etc_examples),
		cmocka_unit_test(test_docs_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
