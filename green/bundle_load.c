/* SPDX-License-Identifier: MIT */
#include "bundle_load.h"
#include "bundle.h"
#include "gate.h"
#include "green.h"
#include "revoke.h"
#include "users.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "log.h"
#include "pki.h"

static void refused(const char *reason, const char *why, uint64_t serial,
		    const char *detail)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRIu64, serial);
	kg_log_event(KG_LOG_WARNING, "bundle", "result", "refused",
		     "reason", reason, "trigger", why,
		     "serial", serial ? s : NULL, "error", detail);
}

/* The whole file, at most KG_BUNDLE_MAX bytes; -ENOENT if none. */
static int read_all(const char *path, uint8_t **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint8_t *b = NULL;
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -errno;
	b = malloc(KG_BUNDLE_MAX + 1);
	if (!b) {
		close(fd);
		return -ENOMEM;
	}
	while (n <= KG_BUNDLE_MAX &&
	       (r = read(fd, b + n, KG_BUNDLE_MAX + 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	*out = b;
	*len = n;
	return 0;
}

/* The last applied serial (0: none yet). */
static uint64_t last_serial(const char *bundle)
{
	char path[4096], line[32] = "";
	unsigned long long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.serial", bundle);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(line, sizeof(line), f))
		v = strtoull(line, NULL, 10);
	fclose(f);
	return (uint64_t)v;
}

/* Writes len bytes to path through path.new and a rename (readers see
 * the old or the new file, never half of one). */
static int write_file(const char *path, const void *buf, size_t len,
		      mode_t mode)
{
	char tmp[4096];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static bool in_bundle(const struct kg_bundle *b, const char *file)
{
	size_t n = strlen(file);

	if (n < 6 || strcmp(file + n - 5, ".conf"))
		return false;
	for (size_t i = 0; i < b->n_users; i++)
		if (strlen(b->users[i].name) == n - 5 &&
		    !strncmp(b->users[i].name, file, n - 5))
			return true;
	return false;
}

/* The records: every user of b written, every other NAME.conf removed. */
static int write_users(const char *dir, const struct kg_bundle *b)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int rc;

	for (size_t i = 0; i < b->n_users; i++) {
		snprintf(path, sizeof(path), "%s/%s.conf", dir, b->users[i].name);
		if ((rc = write_file(path, b->users[i].rec, b->users[i].rec_len, 0600)))
			return rc;
	}
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 5 && !strcmp(de->d_name + n - 5, ".conf") &&
		    !in_bundle(b, de->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
	return 0;
}

static int apply(struct green_gate *gt, const struct kg_bundle *b,
		 const char *why)
{
	const struct green_gate_conf *gc = gt->g->conf.gate;
	char path[4096], s[24], n[24];
	int rc;

	snprintf(s, sizeof(s), "%" PRIu64 "\n", b->serial);
	snprintf(path, sizeof(path), "%s.serial", gc->bundle);
	/* the serial first: a crash halfway never lets this bundle (or an
	 * older one) be applied again over a newer set */
	if ((rc = write_file(path, s, strlen(s), 0600)) ||
	    (rc = write_file(gc->crl, b->crl, b->crl_len, 0644)) ||
	    (rc = write_users(gc->users_dir, b))) {
		kg_log_event(KG_LOG_ERR, "bundle", "result", "error",
			     "reason", "write", "trigger", why, "error", strerror(-rc));
		return rc;
	}
	s[strlen(s) - 1] = '\0';
	snprintf(n, sizeof(n), "%zu", b->n_users);
	kg_log_event(KG_LOG_NOTICE, "bundle", "result", "applied", "trigger", why,
		     "serial", s, "users", n);
	gate_revoke_reload(gt, "bundle");
	return 0;
}

/* Each record parses as green's users.d would and names its own user:
 * a bundle with a bad one is refused whole (nothing half applied). */
static int check_records(const struct kg_bundle *b, const char **bad,
			 struct kg_err *e)
{
	for (size_t i = 0; i < b->n_users; i++) {
		struct kg_conf c;
		struct kg_users u;
		int rc;

		*bad = b->users[i].name;
		kg_users_init(&u, KG_KNOCK_SLOT_DEFAULT);
		rc = kg_conf_parse(&c, b->users[i].name,
				   (const char *)b->users[i].rec,
				   b->users[i].rec_len, e);
		if (!rc)
			rc = kg_users_add_conf(&u, &c, e);
		if (!rc && (u.n != 1 || strcmp(u.v[0].name, b->users[i].name))) {
			kg_err_set(e, "%s: one [user %s] section expected",
				   b->users[i].name, b->users[i].name);
			rc = -EINVAL;
		}
		kg_conf_free(&c);
		kg_users_free(&u);
		if (rc)
			return rc;
	}
	return 0;
}

int gate_bundle_check(struct green_gate *gt, const char *why)
{
	struct kg_err e = { "" };
	const char *bad = "";
	const struct green_gate_conf *gc = gt->g->conf.gate;
	const char *me = gt->g->conf.site.id, *reason;
	struct kg_bundle b;
	uint8_t *buf = NULL, h[32];
	size_t len = 0;
	uint64_t last;
	enum kg_pki_status st;
	int rc;

	if (!gc->bundle || !gc->bundle[0])
		return 0;
	rc = read_all(gc->bundle, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc) {
		refused("unreadable", why, 0, strerror(-rc));
		return rc;
	}
	rc = kg_bundle_parse(buf, len, &b, &reason);
	if (rc) {
		refused(reason, why, 0, "malformed bundle");
		goto out;
	}
	kg_sha256(buf, b.signed_len, h);
	st = kg_pki_verify_sig(kg_pki_ca(gt->pki), h, b.sig, b.sig_len);
	if (st != KG_PKI_OK) {
		refused("bad_signature", why, b.serial, kg_pki_status_name(st));
		rc = -EPERM;
		goto out_b;
	}
	if (me[0] && strcmp(b.green, me)) {
		refused("wrong_green", why, b.serial, b.green);
		rc = -EPERM;
		goto out_b;
	}
	if ((rc = check_records(&b, &bad, &e))) {
		refused("bad_record", why, b.serial, e.msg[0] ? e.msg : bad);
		goto out_b;
	}
	last = last_serial(gc->bundle);
	if (b.serial <= last) {
		char l[24];

		snprintf(l, sizeof(l), "%" PRIu64, last);
		/* the same bundle again (a repeated push) is no news */
		if (b.serial == last)
			kg_log_event(KG_LOG_INFO, "bundle", "result", "unchanged",
				     "trigger", why, "serial", l);
		else
			refused("rollback", why, b.serial, l);
		rc = b.serial == last ? 0 : -ESTALE;
		goto out_b;
	}
	rc = apply(gt, &b, why);
out_b:
	kg_bundle_free(&b);
out:
	free(buf);
	return rc;
}
