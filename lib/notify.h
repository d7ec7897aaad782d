/* SPDX-License-Identifier: MIT */
/*
 * Service manager notifications (sd_notify). READY=1 is sent only once a
 * daemon really serves (its table is installed and it reads NFLOG). Without
 * NOTIFY_SOCKET these do nothing. Without libsystemd a small built-in
 * client writes the same datagram. Errors are ignored: a daemon must not
 * stop because its supervisor cannot be told something.
 */
#ifndef KG_NOTIFY_H
#define KG_NOTIFY_H

void kg_notify_ready(void);
void kg_notify_reloading(void);
void kg_notify_stopping(void);
void kg_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
