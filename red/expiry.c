/* SPDX-License-Identifier: MIT */
/*
 * Expiry warnings on red (red.h): an expired CRL makes red refuse every
 * green's knock, an expired certificate (red's own, a green's, the CA)
 * breaks the site's signatures. Checked from the housekeeping tick at
 * most once a minute with kg_expiry_* (pki/expiry.c, shared with green);
 * the files are read again each time, so a renewed CRL clears the
 * warning without a reload. One red per process: the watch list is this
 * file's, rebuilt when the config's paths change (reload).
 */
#include "red.h"

#include <stdio.h>
#include <string.h>

#include "pki.h"
#include "time.h"

#define EVERY_MS 60000
#define MAX_WATCH (3 + KG_RED_MAX_GREENS)

static struct kg_expiry watch[MAX_WATCH];
static size_t n_watch;
static int64_t next_ms;
static char note[256];

/* Is the watch list still the config's? */
static bool same(const struct kg_red_config *c)
{
	size_t n = 3 + c->n_greens;

	if (n != n_watch || strcmp(watch[0].path, c->crl) ||
	    strcmp(watch[1].path, c->ca) || strcmp(watch[2].path, c->host_cert))
		return false;
	for (size_t i = 0; i < c->n_greens; i++)
		if (strcmp(watch[3 + i].path, c->greens[i].cert))
			return false;
	return true;
}

static void rebuild(const struct kg_red_config *c)
{
	for (size_t i = 0; i < n_watch; i++)
		kg_expiry_clear(&watch[i]);
	n_watch = 0;
	if (kg_expiry_set(&watch[0], "crl", c->id, c->crl, true) ||
	    kg_expiry_set(&watch[1], "ca", c->id, c->ca, false) ||
	    kg_expiry_set(&watch[2], "host_cert", c->id, c->host_cert, false))
		return;
	n_watch = 3;
	for (size_t i = 0; i < c->n_greens && n_watch < MAX_WATCH; i++) {
		if (kg_expiry_set(&watch[n_watch], "green_cert", c->greens[i].id,
				  c->greens[i].cert, false))
			return;
		n_watch++;
	}
}

const char *red_expiry_tick(const struct red *r)
{
	int64_t now = kg_mono_ms();

	if (now < next_ms && same(&r->cfg))
		return note;
	next_ms = now + EVERY_MS;
	if (!same(&r->cfg))
		rebuild(&r->cfg);
	for (size_t i = 0; i < n_watch; i++)
		kg_expiry_check(&watch[i], kg_wall_s(),
				(int64_t)r->cfg.expiry_warning_days * 86400);
	kg_expiry_note(watch, n_watch, kg_wall_s(), note, sizeof(note));
	return note;
}

size_t red_expiry_list(const struct kg_expiry **out)
{
	*out = watch;
	return n_watch;
}
