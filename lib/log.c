/* SPDX-License-Identifier: MIT */
#include "log.h"
#include "kg_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if HAVE_LIBSYSTEMD
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#endif

static const char *log_ident = "knockgate";
static int log_max = KG_LOG_INFO;
static int log_journal;

static const char *const level_names[] = {
	[KG_LOG_ERR] = "err",     [KG_LOG_WARNING] = "warning",
	[KG_LOG_NOTICE] = "notice", [KG_LOG_INFO] = "info",
	[KG_LOG_DEBUG] = "debug",
};

/* systemd sets JOURNAL_STREAM=dev:ino for the stderr it connected to the
 * journal; only then is native journal logging right (a redirected stderr
 * must keep getting lines). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void kg_log_init(const char *ident, int max_level)
{
	log_ident = ident;
	log_max = max_level;
	log_journal = HAVE_LIBSYSTEMD && stderr_is_journal();
}

void kg_log_set_level(int max_level)
{
	log_max = max_level;
}

int kg_log_level_parse(const char *s)
{
	for (int i = KG_LOG_ERR; i <= KG_LOG_DEBUG; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	return -1;
}

struct line {
	char b[2048];
	size_t n;
};

static void line_put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof(l->b) - 1 - l->n)
		n = sizeof(l->b) - 1 - l->n;
	memcpy(l->b + l->n, s, n);
	l->n += n;
	l->b[l->n] = 0;
}

static void line_puts(struct line *l, const char *s)
{
	line_put(l, s, strlen(s));
}

/* Attacker-chosen bytes (user names, reasons quoting input) must not be
 * able to forge a second record or field: quote and escape. */
static void line_put_value(struct line *l, const char *v)
{
	int quote = !*v;

	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' ||
		    (unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			quote = 1;
	if (!quote) {
		line_puts(l, v);
		return;
	}
	line_puts(l, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		char esc[8];

		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			line_put(l, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			line_puts(l, esc);
		} else {
			line_put(l, (const char *)p, 1);
		}
	}
	line_puts(l, "\"");
}

static void emit_stderr(int level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char stamp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s[%d]: %s %s\n", stamp, ts.tv_nsec / 1000000,
		log_ident, (int)getpid(), level_names[level], msg);
	fflush(stderr);
}

static int clamp_level(int level)
{
	if (level < KG_LOG_ERR)
		return KG_LOG_ERR;
	if (level > KG_LOG_DEBUG)
		return KG_LOG_DEBUG;
	return level;
}

void kg_log_at(const char *file, int lineno, const char *func, int level,
	       const char *fmt, ...)
{
	struct line l = { .n = 0 };
	char msg[1024];
	va_list ap;

	level = clamp_level(level);
	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Free text may quote outside input too: keep it on one line. */
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		char esc[8];

		if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			line_puts(&l, esc);
		} else {
			line_put(&l, (const char *)p, 1);
		}
	}
#if HAVE_LIBSYSTEMD
	if (log_journal) {
		sd_journal_send("MESSAGE=%s", l.b, "PRIORITY=%d", level,
				"SYSLOG_IDENTIFIER=%s", log_ident,
				"CODE_FILE=%s", file, "CODE_LINE=%d", lineno,
				"CODE_FUNC=%s", func, NULL);
		return;
	}
#else
	(void)file;
	(void)lineno;
	(void)func;
#endif
	emit_stderr(level, l.b);
}

#if HAVE_LIBSYSTEMD
#define MAX_FIELDS 24
static void emit_journal(const char *file, int lineno, const char *func,
			 int level, const char *event, const char *msg,
			 const char *const *kv, size_t nkv)
{
	char fields[MAX_FIELDS + 8][320];
	char message[sizeof(((struct line *)0)->b) + 16];
	struct iovec iov[MAX_FIELDS + 8];
	size_t n = 1;

	snprintf(message, sizeof(message), "MESSAGE=%s", msg);
	snprintf(fields[n++], sizeof(fields[0]), "PRIORITY=%d", level);
	snprintf(fields[n++], sizeof(fields[0]), "SYSLOG_IDENTIFIER=%s", log_ident);
	snprintf(fields[n++], sizeof(fields[0]), "KG_EVENT=%s", event);
	snprintf(fields[n++], sizeof(fields[0]), "CODE_FILE=%s", file);
	snprintf(fields[n++], sizeof(fields[0]), "CODE_LINE=%d", lineno);
	snprintf(fields[n++], sizeof(fields[0]), "CODE_FUNC=%s", func);
	for (size_t i = 0; i + 1 < nkv && n < MAX_FIELDS + 7; i += 2) {
		char name[64];
		size_t j;

		for (j = 0; kv[i][j] && j < sizeof(name) - 1; j++)
			name[j] = (char)toupper((unsigned char)kv[i][j]);
		name[j] = 0;
		snprintf(fields[n++], sizeof(fields[0]), "KG_%s=%s", name, kv[i + 1]);
	}
	for (size_t i = 0; i < n; i++) {
		iov[i].iov_base = i ? fields[i] : message;
		iov[i].iov_len = strlen(iov[i].iov_base);
	}
	sd_journal_sendv(iov, (int)n);
}
#endif

void kg_log_event_va(const char *file, int lineno, const char *func, int level,
		     const char *event, va_list ap)
{
	const char *kv[48];
	size_t nkv = 0;
	struct line l = { .n = 0 };
	const char *k;

	level = clamp_level(level);
	if (level > log_max)
		return;
	while ((k = va_arg(ap, const char *)) != NULL) {
		const char *v = va_arg(ap, const char *);

		if (!v || nkv + 2 > sizeof(kv) / sizeof(kv[0]))
			continue;
		kv[nkv++] = k;
		kv[nkv++] = v;
	}
	line_puts(&l, "event=");
	line_put_value(&l, event);
	for (size_t i = 0; i < nkv; i += 2) {
		line_puts(&l, " ");
		line_puts(&l, kv[i]);
		line_puts(&l, "=");
		line_put_value(&l, kv[i + 1]);
	}
#if HAVE_LIBSYSTEMD
	if (log_journal) {
		emit_journal(file, lineno, func, level, event, l.b, kv, nkv);
		return;
	}
#else
	(void)file;
	(void)lineno;
	(void)func;
#endif
	emit_stderr(level, l.b);
}

void kg_log_event_at(const char *file, int lineno, const char *func, int level,
		     const char *event, ...)
{
	va_list ap;

	va_start(ap, event);
	kg_log_event_va(file, lineno, func, level, event, ap);
	va_end(ap);
}
