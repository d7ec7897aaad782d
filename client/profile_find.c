/* SPDX-License-Identifier: MIT */
#include "profile_find.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYS_PROFILES "/etc/knockgate/profiles"

uid_t kg_invoking_uid(void)
{
	const char *s = getenv("SUDO_UID");
	char *end;
	unsigned long v;

	if (geteuid() == 0 && s && s[0]) {
		v = strtoul(s, &end, 10);
		if (!*end && v < (unsigned long)(uid_t)-1)
			return (uid_t)v;
	}
	return getuid();
}

static int put(char *buf, size_t cap, const char *a, const char *b)
{
	int n = snprintf(buf, cap, "%s%s", a, b);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kg_profile_dirs(char *user, size_t ucap, char *sys, size_t scap)
{
	const char *s = getenv("KG_PROFILES_SYSDIR"), *sudo = getenv("SUDO_USER");
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int rc = put(sys, scap, s && s[0] ? s : SYS_PROFILES, "");

	user[0] = '\0';
	if (rc)
		return rc;
	/* Under sudo HOME may be root's: the profile is the user's. */
	if (geteuid() == 0 && sudo && sudo[0] && (pw = getpwnam(sudo)) && pw->pw_dir)
		return put(user, ucap, pw->pw_dir, "/.config/knockgate/profiles");
	if (xdg && xdg[0] == '/')
		return put(user, ucap, xdg, "/knockgate/profiles");
	if ((!home || !home[0]) && (pw = getpwuid(getuid())))
		home = pw->pw_dir;
	if (home && home[0])
		return put(user, ucap, home, "/.config/knockgate/profiles");
	return 0;
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Counts the profiles (subdirectories with a profile.conf, not "default")
 * in dir; the first one found goes to first. */
static int count_profiles(const char *dir, char *first, size_t cap)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (!dir[0] || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "default"))
			continue;
		if (join(p, sizeof(p), dir, de->d_name) || !is_dir(p))
			continue;
		if (n++ == 0 && !first[0])
			snprintf(first, cap, "%s", p);
	}
	closedir(d);
	return n;
}

static int find_named(const char *name, const char *user, const char *sys,
		      char *dir, size_t cap, struct kg_err *e)
{
	const char *places[2] = { user, sys };

	if (!name[0] || !strcmp(name, ".") || !strcmp(name, "..")) {
		kg_err_set(e, "'%s' is not a profile name", name);
		return -ENOENT;
	}
	for (int i = 0; i < 2; i++) {
		if (places[i][0] && !join(dir, cap, places[i], name) && is_dir(dir))
			return 0;
	}
	/* A bare directory name relative to here, as --profile took it. */
	if (is_dir(name))
		return put(dir, cap, name, "");
	kg_err_set(e, "no profile '%s' in %s%s%s (a directory needs a '/', e.g. ./%s)",
		   name, user[0] ? user : "", user[0] ? " or " : "", sys, name);
	return -ENOENT;
}

int kg_profile_find(const char *arg, char *dir, size_t cap, struct kg_err *e)
{
	char user[PATH_MAX], sys[PATH_MAX], p[PATH_MAX];
	int n, rc = kg_profile_dirs(user, sizeof(user), sys, sizeof(sys));

	if (rc)
		return rc;
	dir[0] = '\0';
	if (arg && strchr(arg, '/'))
		return put(dir, cap, arg, "");
	if (arg)
		return find_named(arg, user, sys, dir, cap, e);
	/* The user's default wins over the machine's. */
	if ((user[0] && !join(p, sizeof(p), user, "default") && is_dir(p)) ||
	    (!join(p, sizeof(p), sys, "default") && is_dir(p)))
		return put(dir, cap, p, "");
	n = count_profiles(user, dir, cap) + count_profiles(sys, dir, cap);
	if (n == 1)
		return 0;
	dir[0] = '\0';
	if (n == 0)
		kg_err_set(e, "no profile: give -p NAME|DIR, or install one in %s%s%s",
			   user[0] ? user : "", user[0] ? " or " : "", sys);
	else
		kg_err_set(e, "%d profiles and none is the default: give -p NAME, or "
			   "mark one: ln -s NAME %s/default", n, user[0] ? user : sys);
	return n == 0 ? -ENOENT : -EEXIST;
}

static int check_one(const char *path, mode_t forbidden, const char *fix,
		     uid_t uid, bool must_exist, struct kg_err *e)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT && !must_exist)
			return 0;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_uid != 0 && st.st_uid != uid) {
		kg_err_set(e, "%s belongs to uid %u, neither root nor you: refusing "
			   "it (fix: chown %u %s)", path, (unsigned)st.st_uid,
			   (unsigned)uid, path);
		return -EPERM;
	}
	if (st.st_mode & forbidden) {
		kg_err_set(e, "%s has mode %04o: others could %s it; refusing it "
			   "(fix: chmod %s %s)", path, (unsigned)(st.st_mode & 07777),
			   forbidden & 044 ? "read or change" : "change", fix, path);
		return -EPERM;
	}
	return 0;
}

int kg_profile_check_perms(const char *dir, uid_t uid, struct kg_err *e)
{
	char conf[PATH_MAX], ca[PATH_MAX];
	int rc;

	if (join(conf, sizeof(conf), dir, "profile.conf") ||
	    join(ca, sizeof(ca), dir, "ca.pem"))
		return -ENAMETOOLONG;
	rc = check_one(dir, S_IWGRP | S_IWOTH, "go-w", uid, true, e);
	if (!rc)
		rc = check_one(conf, S_IRWXG | S_IRWXO, "600", uid, true, e);
	if (!rc)
		rc = check_one(ca, S_IWGRP | S_IWOTH, "go-w", uid, false, e);
	return rc;
}
