/* SPDX-License-Identifier: MIT */
/*
 * The Prometheus textfile for node_exporter's textfile collector:
 * counters fed where things happen, gauges read from the daemon's state
 * when the file is written (admin.c's timer). Written to a temporary file
 * in the same directory and renamed, so the collector never reads half a
 * file.
 */
#include "admin_int.h"
#include "gate.h"
#include "grants.h"
#include "green.h"
#include "ips.h"
#include "time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_REASONS 32
/* Red's answer times (opens), milliseconds. */
static const uint64_t rtt_le[] = { 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 };
#define N_LE (sizeof(rtt_le) / sizeof(rtt_le[0]))

struct counter {
	char name[32];
	uint64_t n;
};

static struct {
	struct counter knocks[MAX_REASONS];
	struct counter grants[MAX_REASONS];
	uint64_t rtt_bucket[N_LE], rtt_count, rtt_sum_ms;
} m;

static void count(struct counter *v, const char *name)
{
	size_t i;

	for (i = 0; i < MAX_REASONS - 1 && v[i].name[0]; i++)
		if (!strcmp(v[i].name, name))
			break;
	if (!v[i].name[0])
		snprintf(v[i].name, sizeof(v[i].name), "%s",
			 i == MAX_REASONS - 1 ? "other" : name);
	v[i].n++;
}

void green_metrics_knock(const char *reason)
{
	count(m.knocks, reason);
}

void green_metrics_grant(const char *result, bool has_rtt, uint64_t rtt_ms)
{
	count(m.grants, result);
	if (!has_rtt)
		return;
	for (size_t i = 0; i < N_LE; i++)
		if (rtt_ms <= rtt_le[i])
			m.rtt_bucket[i]++;
	m.rtt_count++;
	m.rtt_sum_ms += rtt_ms;
}

static void counters(FILE *f, const char *metric, const char *help,
		     const char *label, const struct counter *v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", metric, help, metric);
	for (size_t i = 0; i < MAX_REASONS && v[i].name[0]; i++)
		fprintf(f, "%s{%s=\"%s\"} %" PRIu64 "\n", metric, label,
			v[i].name, v[i].n);
}

static void gauge(FILE *f, const char *metric, const char *help, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", metric, help,
		metric, metric, v);
}

static void body(FILE *f, const struct green *g)
{
	const struct green_admin *a = g->admin;
	size_t live = 0, n = g->gate ? g->gate->sess.n : 0;

	for (size_t i = 0; i < n; i++)
		live += g->gate->sess.s[i].state == KG_SESS_LIVE;
	fprintf(f, "# HELP knockgate_green_sessions Sessions by state.\n"
		"# TYPE knockgate_green_sessions gauge\n"
		"knockgate_green_sessions{state=\"live\"} %zu\n"
		"knockgate_green_sessions{state=\"pending\"} %zu\n",
		live, n - live);
	counters(f, "knockgate_green_knocks_total",
		 "Knocks by result (accepted or the reason of the refusal).",
		 "result", m.knocks);
	gauge(f, "knockgate_green_bans", "Sources banned now.",
	      g->ips ? (double)kg_ips_n_banned(g->ips) : 0);
	gauge(f, "knockgate_green_grants", "Service grants held now.",
	      (double)green_grants_count(g->grants));
	counters(f, "knockgate_green_grant_events_total",
		 "Grant records by result.", "result", m.grants);
	fprintf(f, "# HELP knockgate_green_red_rtt_seconds Red's answer time to an open.\n"
		"# TYPE knockgate_green_red_rtt_seconds histogram\n");
	for (size_t i = 0; i < N_LE; i++)
		fprintf(f, "knockgate_green_red_rtt_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			(double)rtt_le[i] / 1000, m.rtt_bucket[i]);
	fprintf(f, "knockgate_green_red_rtt_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
		"knockgate_green_red_rtt_seconds_sum %g\n"
		"knockgate_green_red_rtt_seconds_count %" PRIu64 "\n",
		m.rtt_count, (double)m.rtt_sum_ms / 1000, m.rtt_count);
	gauge(f, "knockgate_green_draining", "1 while new knocks are refused.",
	      a && a->draining);
	fprintf(f, "# HELP knockgate_green_expiry_timestamp_seconds When a CRL "
		"(nextUpdate) or certificate (notAfter) stops being usable.\n"
		"# TYPE knockgate_green_expiry_timestamp_seconds gauge\n");
	for (size_t i = 0; a && i < a->n_exp; i++)
		if (!a->exp[i].error[0])
			fprintf(f, "knockgate_green_expiry_timestamp_seconds{what=\"%s\",name=\"%s\"} %" PRId64 "\n",
				a->exp[i].what, a->exp[i].name, a->exp[i].at);
}

int green_metrics_write(const struct green *g, const char *path,
			struct kg_err *e)
{
	char tmp[4096];
	FILE *f;
	int r = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		kg_err_set(e, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	f = fopen(tmp, "we");
	if (!f) {
		r = -errno;
		kg_err_set(e, "%s: %s", tmp, strerror(errno));
		return r;
	}
	body(f, g);
	if (fflush(f) || ferror(f))
		r = errno ? -errno : -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		kg_err_set(e, "%s: %s", path, strerror(-r));
		unlink(tmp);
	}
	return r;
}
