/* SPDX-License-Identifier: MIT */
/*
 * Audit and diagnostic logging. Every decision a daemon takes (knock
 * accepted or rejected, auth, grant, close, ban) is one structured record:
 *
 *   kg_log_event(KG_LOG_NOTICE, "ban", "src", "198.51.100.66",
 *                "reason", "scan", "ports", "12");
 *
 * Under systemd (stderr connected to the journal, see JOURNAL_STREAM) the
 * record goes to journald with fields KG_EVENT, KG_SRC, KG_REASON, ... plus
 * source location; otherwise it is one line on stderr:
 *
 *   2026-11-22T02:30:01.123Z knockgate-green[42]: notice event=ban src=198.51.100.66 reason=scan ports=12
 *
 * Values with spaces, quotes or '=' are double-quoted with '"' and '\'
 * escaped; control bytes are written as \xNN, so a record is always one
 * line whatever an attacker put in it. Keys are [a-z0-9_] literals.
 * A NULL value skips its pair. Logging never fails the caller.
 */
#ifndef KG_LOG_H
#define KG_LOG_H

#include <stdarg.h>

enum kg_log_level {
	KG_LOG_ERR = 3,
	KG_LOG_WARNING = 4,
	KG_LOG_NOTICE = 5,
	KG_LOG_INFO = 6,
	KG_LOG_DEBUG = 7,
};

/* ident is kept (not copied): pass a literal. max_level drops less urgent
 * records. Call once at start; before it, records go to stderr as "knockgate". */
void kg_log_init(const char *ident, int max_level);
void kg_log_set_level(int max_level);
/* Parses "err", "warning", "notice", "info", "debug"; -1 if unknown. */
int kg_log_level_parse(const char *s);

void kg_log_at(const char *file, int line, const char *func, int level,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Pairs of (const char *key, const char *value), terminated by NULL. */
void kg_log_event_at(const char *file, int line, const char *func, int level,
		     const char *event, ...) __attribute__((sentinel));
void kg_log_event_va(const char *file, int line, const char *func, int level,
		     const char *event, va_list ap);

#define kg_log(level, ...) \
	kg_log_at(__FILE__, __LINE__, __func__, level, __VA_ARGS__)
#define kg_log_event(level, event, ...) \
	kg_log_event_at(__FILE__, __LINE__, __func__, level, event, ##__VA_ARGS__, (const char *)NULL)

#endif
