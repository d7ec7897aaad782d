/* SPDX-License-Identifier: MIT */
/*
 * Where `knockgate connect -p NAME|DIR` finds a profile, and whether it is
 * safe to use. Named profiles live in the invoking user's config dir
 * (SUDO_USER's ~/.config/knockgate/profiles/NAME under sudo, else
 * $XDG_CONFIG_HOME or ~/.config) and then /etc/knockgate/profiles/NAME
 * ($KG_PROFILES_SYSDIR in tests). Without -p: the only profile there is,
 * or the one a `default` symlink in either directory points at (the
 * user's first). An argument with a '/' is always a directory.
 */
#ifndef KG_CLIENT_PROFILE_FIND_H
#define KG_CLIENT_PROFILE_FIND_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* The two profile directories into user/sys (either may be "" when there
 * is no such place). 0 or -ENAMETOOLONG. */
int kg_profile_dirs(char *user, size_t ucap, char *sys, size_t scap);

/* Resolves arg (NULL: no -p) into the profile directory dir.
 * 0; -ENOENT (no such profile, or none at all), -EEXIST (several and no
 * default): e names the places looked in and what to do. */
int kg_profile_find(const char *arg, char *dir, size_t cap, struct kg_err *e);

/* Refuses a profile others could change or read: dir writable by group
 * or others, profile.conf (it holds the knock key) readable or writable
 * by them, ca.pem writable by them, or any of them owned by someone but
 * root and the invoking user (uid). 0 or -EPERM, with the file and the
 * chmod/chown that fixes it in e. */
int kg_profile_check_perms(const char *dir, uid_t uid, struct kg_err *e);

/* The uid of the user who ran us: SUDO_UID under sudo (as root), else
 * getuid(). */
uid_t kg_invoking_uid(void);

#endif
