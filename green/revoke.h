/* SPDX-License-Identifier: MIT */
/*
 * Revocation (revoke.c): the CRL and user records, reloaded on SIGHUP and
 * on inotify, and the cache of the certificates clients proved with, so a
 * new CRL ends the sessions it revokes. Errors: 0 or -errno, e set.
 */
#ifndef KG_GREEN_REVOKE_H
#define KG_GREEN_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct green_gate;

int gate_users_load(struct green_gate *gt, struct kg_err *e);
int gate_pki_load(struct green_gate *gt, struct kg_err *e);
/* Reloads CRL + users, ends sessions of revoked certs / removed users;
 * a failed reload keeps the old ones (logged). */
void gate_revoke_reload(struct green_gate *gt, const char *why);
/* gate_revoke_reload's two halves around reading the files (apart for
 * bench/bench_revoke.c): gate_reload_begin notes each session's user pin
 * as it is before the reload (NULL if out of memory: pins unknown, only
 * the record and the CRL then decide); gate_reload_judge ends every
 * session the reloaded users and CRL no longer cover, frees x (may be
 * NULL) and returns how many it ended. O(S log S) for S sessions, plus
 * one verification per cached certificate a session's user holds. */
struct gate_reload_idx;
struct gate_reload_idx *gate_reload_begin(struct green_gate *gt);
size_t gate_reload_judge(struct green_gate *gt, struct gate_reload_idx *x);
int gate_watch_start(struct green_gate *gt);
void gate_watch_stop(struct green_gate *gt);
void gate_watch_tick(struct green_gate *gt);

/* Remembers a verified certificate (an X509 *) by SPKI, replacing the
 * one remembered for that SPKI; takes its own reference, the caller
 * keeps its own. O(1) amortised: found through a hash index, and the
 * cache is bounded: when it has doubled since it was last swept, the
 * certificates whose SPKI no session's user record pins (a reload would
 * never ask for them) are dropped first. Out of memory: not remembered
 * (that session then escapes only a CRL re-check, not the user-record
 * one). */
void gate_cert_remember(struct green_gate *gt, void *x509,
			const uint8_t spki[32]);
/* The certificate remembered for spki (an X509 *, the cache's), or
 * NULL. */
void *gate_cert_find(const struct green_gate *gt, const uint8_t spki[32]);
/* Drops every cached certificate. */
void gate_certs_free(struct green_gate *gt);

#endif
