/* SPDX-License-Identifier: MIT */
/*
 * What a running `knockgate connect` tells `status` and `close` about its
 * authenticated session, next to the tunnel's state file
 * (session_state.h): $KG_RUN_DIR/IFNAME.auth, mode 0640 (as IFNAME.session), written once the
 * card proof succeeded and removed when the session ends:
 *
 *   [auth]
 *   pid = 4242                  (the process serving the session)
 *   session = 0123456789abcdef  (green's session id, hex)
 *   user = alice
 *   green_id = green1
 *   tunnel_address = 10.88.1.10
 *   services = web, ssh
 *   since = <unix seconds of the card proof>
 *   reproof_interval = 300      (seconds, from green)
 *
 * `close` sends SIGTERM to pid: connect then closes the session on green,
 * takes the tunnel down and removes both files.
 */
#ifndef KG_CLIENT_SESSION_INFO_H
#define KG_CLIENT_SESSION_INFO_H

#include <stdint.h>
#include <sys/types.h>

#include "ctrl_client.h"
#include "profile.h"

int kg_info_path(const char *ifname, char *buf, size_t cap);
/* Writes (atomically: temp file + rename) the file for ifname. 0/-errno. */
int kg_info_write(const char *ifname, const struct kg_profile *p,
		  const struct kg_ctrl_session_info *s, pid_t pid, time_t since);
/* The pid of ifname's running connect: 0, -ENOENT (no file), -EINVAL. */
int kg_info_pid(const char *ifname, pid_t *pid);
int kg_info_remove(const char *ifname);

#endif
