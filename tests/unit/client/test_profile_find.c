/* SPDX-License-Identifier: MIT */
/* Where connect -p finds a profile, and which profiles it refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile_find.h"

struct fx {
	char root[64], user[PATH_MAX], sys[PATH_MAX];
};

static void mk(const char *base, const char *name, mode_t dmode, mode_t fmode)
{
	char p[PATH_MAX], f[PATH_MAX + 16];
	FILE *fp;

	snprintf(p, sizeof(p), "%s/%s", base, name);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(f, sizeof(f), "%s/profile.conf", p);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("[profile]\n", fp);
	fclose(fp);
	assert_int_equal(chmod(f, fmode), 0);
	assert_int_equal(chmod(p, dmode), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char cmd[2 * PATH_MAX + 16];

	if (!f)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/kg-prof-test.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->user, sizeof(f->user), "%s/xdg/knockgate/profiles", f->root);
	snprintf(f->sys, sizeof(f->sys), "%s/etc", f->root);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s", f->user, f->sys);
	if (system(cmd))
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/xdg", f->root);
	setenv("XDG_CONFIG_HOME", cmd, 1);
	setenv("KG_PROFILES_SYSDIR", f->sys, 1);
	unsetenv("SUDO_USER");
	unsetenv("SUDO_UID");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
	if (system(cmd)) {}
	free(f);
	return 0;
}

static void test_none_one_several_default(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX], want[PATH_MAX + 16];
	struct kg_err e = { "" };

	assert_int_equal(kg_profile_find(NULL, dir, sizeof(dir), &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no profile"));
	mk(f->sys, "work", 0700, 0600);
	assert_int_equal(kg_profile_find(NULL, dir, sizeof(dir), &e), 0);
	snprintf(want, sizeof(want), "%s/work", f->sys);
	assert_string_equal(dir, want);
	mk(f->user, "home", 0700, 0600);
	assert_int_equal(kg_profile_find(NULL, dir, sizeof(dir), &e), -EEXIST);
	assert_non_null(strstr(e.msg, "ln -s NAME"));
	snprintf(want, sizeof(want), "%s/default", f->user);
	assert_int_equal(symlink("home", want), 0);
	assert_int_equal(kg_profile_find(NULL, dir, sizeof(dir), &e), 0);
	assert_string_equal(dir, want);
}

static void test_named_user_first_then_system(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX], want[PATH_MAX + 16];
	struct kg_err e = { "" };

	mk(f->sys, "work", 0700, 0600);
	assert_int_equal(kg_profile_find("work", dir, sizeof(dir), &e), 0);
	snprintf(want, sizeof(want), "%s/work", f->sys);
	assert_string_equal(dir, want);
	mk(f->user, "work", 0700, 0600);
	assert_int_equal(kg_profile_find("work", dir, sizeof(dir), &e), 0);
	snprintf(want, sizeof(want), "%s/work", f->user);
	assert_string_equal(dir, want);
	assert_int_equal(kg_profile_find("nosuch", dir, sizeof(dir), &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no profile 'nosuch'"));
	/* A path is a path, named or not. */
	assert_int_equal(kg_profile_find("./x/y", dir, sizeof(dir), &e), 0);
	assert_string_equal(dir, "./x/y");
}

static void test_permissions(void **state)
{
	struct fx *f = *state;
	char dir[PATH_MAX + 16];
	struct kg_err e = { "" };

	mk(f->sys, "ok", 0700, 0600);
	mk(f->sys, "readable", 0755, 0644);
	mk(f->sys, "opendir", 0777, 0600);
	snprintf(dir, sizeof(dir), "%s/ok", f->sys);
	assert_int_equal(kg_profile_check_perms(dir, getuid(), &e), 0);
	snprintf(dir, sizeof(dir), "%s/readable", f->sys);
	assert_int_equal(kg_profile_check_perms(dir, getuid(), &e), -EPERM);
	assert_non_null(strstr(e.msg, "readable/profile.conf has mode 0644"));
	assert_non_null(strstr(e.msg, "chmod 600"));
	snprintf(dir, sizeof(dir), "%s/opendir", f->sys);
	assert_int_equal(kg_profile_check_perms(dir, getuid(), &e), -EPERM);
	assert_non_null(strstr(e.msg, "chmod go-w"));
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_none_one_several_default),
		T(test_named_user_first_then_system),
		T(test_permissions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
