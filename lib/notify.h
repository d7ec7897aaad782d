/* SPDX-License-Identifier: MIT */
/*
 * Service manager notifications (sd_notify). READY=1 is sent only once a
 * daemon really serves (its table is installed and it reads NFLOG). Without
 * NOTIFY_SOCKET these do nothing. Without libsystemd a small built-in
 * client writes the same datagram. Errors are ignored: a daemon must not
 * stop because its supervisor cannot be told something.
 *
 * The watchdog keepalive is sent from the daemon's timer tick, so a stuck
 * event loop (not just a dead process) gets the service restarted.
 */
#ifndef KG_NOTIFY_H
#define KG_NOTIFY_H

void kg_notify_ready(void);
void kg_notify_reloading(void);
void kg_notify_stopping(void);
/* STATUS=...; a text equal to the last one sent is not sent again, so a
 * daemon may call this on every tick. */
void kg_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* WATCHDOG=1, only when the service manager asked for it (WATCHDOG_USEC
 * set, and WATCHDOG_PID unset or ours): call it at least twice per
 * WatchdogSec. */
void kg_notify_watchdog(void);

#endif
