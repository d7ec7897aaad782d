/* SPDX-License-Identifier: MIT */
/* Inside green's admin side (admin.h): shared by admin*.c, expiry.c and
 * metrics.c only. */
#ifndef KG_GREEN_ADMIN_INT_H
#define KG_GREEN_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin.h"
#include "pki.h"
#include "strbuf.h"

struct green;

struct green_admin {
	int fd;                   /* listening socket, -1 if none */
	char *path;               /* its path (unlinked at stop) */
	bool draining;
	int64_t next_metrics_ms, next_expiry_ms;   /* kg_mono_ms */
	bool metrics_failed;      /* logged once until a write works */
	struct kg_expiry *exp;        /* watched files (expiry.c) */
	size_t n_exp;
	char note[256];
};

/* expiry.c: the files of g's config to watch (again, after a reload),
 * then read them and log warnings (event=expiry) for what is within
 * expiry_warning_days, at most once a day per file unless its state
 * changes. */
void green_expiry_setup(struct green *g);
void green_expiry_check(struct green *g);
void green_expiry_free(struct green_admin *a);
/* "" or the worst problem, as "; WARNING: crl /x expires in 3 days". */
void green_expiry_note(const struct green *g, char *buf, size_t cap);

/* metrics.c: writes path.tmp, then renames it over path. 0 or -errno
 * with e set. */
int green_metrics_write(const struct green *g, const char *path,
			struct kg_err *e);

/* admin_report.c: the answers, text or JSON, appended to o (a growing
 * buffer, the caller's: it checks kg_sb_error and frees it). */
void admin_report_sessions(const struct green *g, bool json,
			   struct kg_sb *o);
void admin_report_expiry(const struct green *g, bool json,
			 struct kg_sb *o);
void admin_report_status(const struct green *g, bool json,
			 struct kg_sb *o);

#endif
