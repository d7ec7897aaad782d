/* SPDX-License-Identifier: MIT */
/*
 * The daemons' two clocks, in one place so no file picks the wrong one.
 *
 *   monotonic  every timeout, lease, renewal and expiry: it never steps,
 *              so a wall-clock step (NTP, an admin, a dying RTC battery)
 *              neither extends nor cuts a session or a grant.
 *   wall       only what must agree with another host's clock: knock
 *              timestamps and their acceptance window, certificate and
 *              CRL times, and times shown to people.
 *
 * A lease never travels as a wall-clock end: it travels as seconds left
 * (docs/protocol.md) and becomes a monotonic deadline on receipt.
 * No state, no errors: the clocks Linux always has.
 */
/* lib/ is on every target's include path, so this file shadows the C
 * library's <time.h> for anything including it: pass that one through
 * first (outside the guard, it has its own). */
#include_next <time.h>

#ifndef KG_LIB_TIME_H
#define KG_LIB_TIME_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds / seconds (arbitrary origin, never
 * steps; 0 never returned on a running system). */
int64_t kg_mono_ms(void);
int64_t kg_mono_s(void);
/* CLOCK_MONOTONIC in nanoseconds: latencies (the us fields of records). */
uint64_t kg_mono_ns(void);
/* CLOCK_REALTIME in Unix milliseconds / seconds. */
int64_t kg_wall_ms(void);
int64_t kg_wall_s(void);

#endif
