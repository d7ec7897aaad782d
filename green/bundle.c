/* SPDX-License-Identifier: MIT */
#include "bundle.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define LINE_MAX_LEN 128

/* The next header line (without its '\n') as a view. */
static int line(struct kg_reader *r, const uint8_t **l, size_t *n)
{
	size_t left = kg_reader_left(r);
	const uint8_t *p;

	if (kg_get_view(r, &p, 0))
		return -1;
	for (size_t i = 0; i < left && i <= LINE_MAX_LEN; i++)
		if (p[i] == '\n') {
			*l = p;
			*n = i;
			return kg_skip(r, i + 1);
		}
	return -1;
}

/* "word " at the start of l: advances past it. */
static bool word(const uint8_t **l, size_t *n, const char *w)
{
	size_t k = strlen(w);

	if (*n < k + 1 || memcmp(*l, w, k) || (*l)[k] != ' ')
		return false;
	*l += k + 1;
	*n -= k + 1;
	return true;
}

/* Decimal, no sign, no leading zero, <= max; the whole of l or up to a
 * space (then *n is what follows it). */
static bool number(const uint8_t **l, size_t *n, uint64_t max, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < *n && (*l)[i] != ' ') {
		uint8_t c = (*l)[i];

		if (c < '0' || c > '9' || (i == 1 && (*l)[0] == '0') || i >= 19)
			return false;
		*v = *v * 10 + (uint64_t)(c - '0');
		i++;
	}
	if (i == 0 || *v > max)
		return false;
	*l += i;
	*n -= i;
	return true;
}

/* [A-Za-z0-9._-]{1,63} then a space (or the end if last). */
static bool name(const uint8_t **l, size_t *n, char out[KG_BUNDLE_NAME_MAX + 1],
		 bool last)
{
	size_t i = 0;

	while (i < *n && (*l)[i] != ' ') {
		uint8_t c = (*l)[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') ||
		    i >= KG_BUNDLE_NAME_MAX)
			return false;
		out[i] = (char)c;
		i++;
	}
	if (i == 0 || (*l)[0] == '.' || (last ? i != *n : i == *n))
		return false;
	out[i] = '\0';
	*l += last ? i : i + 1;
	*n -= last ? i : i + 1;
	return true;
}

/* LEN bytes of blob, then '\n'. */
static int blob(struct kg_reader *r, uint64_t len, const uint8_t **out)
{
	uint8_t nl;

	if (kg_get_view(r, out, (size_t)len) || kg_get_u8(r, &nl) || nl != '\n')
		return -1;
	return 0;
}

#define FAIL(w) do { *why = (w); rc = -EINVAL; goto out; } while (0)

int kg_bundle_parse(const uint8_t *buf, size_t len, struct kg_bundle *b,
		    const char **why)
{
	struct kg_reader r;
	const uint8_t *l;
	size_t n, cap = 0;
	uint64_t v;
	int rc = 0;

	memset(b, 0, sizeof(*b));
	*why = "ok";
	if (len > KG_BUNDLE_MAX)
		FAIL("too_large");
	kg_reader_init(&r, buf, len);
	if (line(&r, &l, &n) || n != 10 || memcmp(l, "KGBUNDLE 1", 10))
		FAIL("not_a_bundle");
	if (line(&r, &l, &n) || !word(&l, &n, "serial") ||
	    !number(&l, &n, INT64_MAX, &v) || n || v == 0)
		FAIL("bad_serial");
	b->serial = v;
	if (line(&r, &l, &n) || !word(&l, &n, "green") ||
	    !name(&l, &n, b->green, true))
		FAIL("bad_green");
	if (line(&r, &l, &n) || !word(&l, &n, "crl") ||
	    !number(&l, &n, KG_BUNDLE_CRL_MAX, &v) || n || v == 0 ||
	    blob(&r, v, &b->crl))
		FAIL("bad_crl");
	b->crl_len = (size_t)v;
	for (;;) {
		struct kg_bundle_user *u;
		size_t start = len - kg_reader_left(&r);

		if (line(&r, &l, &n))
			FAIL("bad_line");
		if (word(&l, &n, "sig")) {
			if (!number(&l, &n, KG_BUNDLE_SIG_MAX, &v) || n || v == 0 ||
			    kg_get_view(&r, &b->sig, (size_t)v))
				FAIL("bad_sig");
			b->sig_len = (size_t)v;
			b->signed_len = start;
			break;
		}
		if (!word(&l, &n, "user"))
			FAIL("bad_line");
		if (b->n_users == KG_BUNDLE_MAX_USERS)
			FAIL("too_many_users");
		if (b->n_users == cap) {
			struct kg_bundle_user *nu;

			cap = cap ? cap * 2 : 16;
			nu = realloc(b->users, cap * sizeof(*nu));
			if (!nu) {
				*why = "no_memory";
				rc = -ENOMEM;
				goto out;
			}
			b->users = nu;
		}
		u = &b->users[b->n_users];
		if (!name(&l, &n, u->name, false) ||
		    !number(&l, &n, KG_BUNDLE_USER_MAX, &v) || n || v == 0 ||
		    blob(&r, v, &u->rec))
			FAIL("bad_user");
		u->rec_len = (size_t)v;
		for (size_t i = 0; i < b->n_users; i++)
			if (!strcmp(b->users[i].name, u->name))
				FAIL("duplicate_user");
		b->n_users++;
	}
	if (!kg_reader_done(&r))
		FAIL("trailing_bytes");
out:
	if (rc)
		kg_bundle_free(b);
	return rc;
}

void kg_bundle_free(struct kg_bundle *b)
{
	free(b->users);
	memset(b, 0, sizeof(*b));
}
