/* SPDX-License-Identifier: MIT */
/*
 * What `knockgate connect` leaves for close/status: one file per tunnel,
 * $KG_RUN_DIR (default /run/knockgate, mode 0755)/IFNAME.session, mode
 * 0640, group SUDO_GID under sudo so the user who connected can run
 * `knockgate status` (it holds no secret: public key and addresses):
 *
 *   [session]
 *   ifname = kg-alice
 *   profile = /path/to/profile
 *   user = alice
 *   green_address = 198.51.100.1
 *   tunnel_address = 10.88.1.10
 *   client_wg_public_key = <base64>
 *   started = <unix seconds>
 */
#ifndef KG_CLIENT_SESSION_STATE_H
#define KG_CLIENT_SESSION_STATE_H

#include <limits.h>
#include <stddef.h>

#include "profile.h"
#include "tunnel.h"

/* The run directory (KG_RUN_DIR or /run/knockgate); a static string. */
const char *kg_state_dir(void);
/* Path of ifname's state file into buf. -ENAMETOOLONG. */
int kg_state_path(const char *ifname, char *buf, size_t cap);
/* Makes the run directory (0755: status as the user). 0 or -errno. */
int kg_state_mkdir(void);
/* Creates/truncates path for writing, mode 0640, group SUDO_GID when run
 * by root under sudo. The fd (caller closes) or -errno. */
int kg_state_open(const char *path);
/* Writes the state file (creating the directory). 0 or -errno. */
int kg_state_write(const struct kg_tunnel *t, const struct kg_profile *p);
/* Finds the only session's ifname when none is named: 0, -ENOENT (none),
 * -EEXIST (several: the caller must name one). */
int kg_state_find_only(char ifname[KG_WG_IFNAMSIZ]);
int kg_state_remove(const char *ifname);

#endif
