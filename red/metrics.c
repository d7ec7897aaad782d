/* SPDX-License-Identifier: MIT */
/*
 * Red's Prometheus textfile for node_exporter's textfile collector
 * (red.h): live grants, knocks by result, bans (when red runs as one
 * process), the watched files' expiry. Written to FILE.tmp and renamed,
 * so the collector never reads half a file; a missing directory (no
 * node_exporter) is one notice, not an error. One red per process: the
 * counters are this file's.
 */
#include "red.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ips.h"
#include "log.h"
#include "time.h"

#define MAX_RESULTS 8

static struct {
	char name[16];
	uint64_t n;
} knocks[MAX_RESULTS];
static int64_t next_ms;
static bool failed;

void red_metrics_knock(const char *result)
{
	size_t i;

	for (i = 0; i < MAX_RESULTS - 1 && knocks[i].name[0]; i++)
		if (!strcmp(knocks[i].name, result))
			break;
	if (!knocks[i].name[0])
		snprintf(knocks[i].name, sizeof(knocks[i].name), "%s",
			 i == MAX_RESULTS - 1 ? "other" : result);
	knocks[i].n++;
}

static void body(FILE *f, const struct red *r)
{
	const struct kg_expiry *v;
	size_t n = red_expiry_list(&v);

	fprintf(f, "# HELP knockgate_red_grants Live grants (mapped ports).\n"
		"# TYPE knockgate_red_grants gauge\nknockgate_red_grants %zu\n",
		kg_grants_live(&r->st.grants));
	fprintf(f, "# HELP knockgate_red_knocks_total Signed knocks by result.\n"
		"# TYPE knockgate_red_knocks_total counter\n");
	for (size_t i = 0; i < MAX_RESULTS && knocks[i].name[0]; i++)
		fprintf(f, "knockgate_red_knocks_total{result=\"%s\"} %" PRIu64 "\n",
			knocks[i].name, knocks[i].n);
	if (r->ips)
		fprintf(f, "# HELP knockgate_red_bans Sources banned now.\n"
			"# TYPE knockgate_red_bans gauge\nknockgate_red_bans %zu\n",
			kg_ips_n_banned(r->ips));
	fprintf(f, "# HELP knockgate_red_expiry_timestamp_seconds When a CRL "
		"(nextUpdate) or certificate (notAfter) stops being usable.\n"
		"# TYPE knockgate_red_expiry_timestamp_seconds gauge\n");
	for (size_t i = 0; i < n; i++)
		if (!v[i].error[0])
			fprintf(f, "knockgate_red_expiry_timestamp_seconds{what=\"%s\",name=\"%s\"} %" PRId64 "\n",
				v[i].what, v[i].name, v[i].at);
}

static int write_file(const struct red *r, const char *path)
{
	char tmp[KG_RED_PATH_MAX + 8];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	body(f, r);
	if (fflush(f) || ferror(f))
		rc = errno ? -errno : -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

void red_metrics_tick(const struct red *r)
{
	const char *path = r->cfg.metrics_file;
	int64_t now = kg_mono_ms();
	int rc;

	if (!path[0] || now < next_ms)
		return;
	next_ms = now + (int64_t)r->cfg.metrics_interval * 1000;
	rc = write_file(r, path);
	if (rc && !failed)
		kg_log_event(rc == -ENOENT ? KG_LOG_NOTICE : KG_LOG_WARNING,
			     "metrics", "result", rc == -ENOENT ? "skipped" : "error",
			     "reason", rc == -ENOENT ? "no_directory" : strerror(-rc),
			     "path", path);
	else if (!rc && failed)
		kg_log_event(KG_LOG_NOTICE, "metrics", "result", "ok",
			     "path", path);
	failed = rc != 0;
}
