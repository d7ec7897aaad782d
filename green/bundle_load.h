/* SPDX-License-Identifier: MIT */
/*
 * The revocation bundle's arrival (bundle.h has the format): with [pki]
 * bundle = PATH, a bundle written to PATH (by provisioning/kg-bundle-push
 * or any copy) is checked at start and whenever inotify sees PATH change:
 * the CA's signature, this green's id, a serial above the last applied
 * one (kept in PATH.serial). A good one replaces [pki] crl and the
 * records of [knock] users_dir (users not in it are removed) and is
 * applied as a reload is: sessions of revoked or removed users end.
 * Anything else is refused with a logged reason and changes nothing.
 */
#ifndef KG_GREEN_BUNDLE_LOAD_H
#define KG_GREEN_BUNDLE_LOAD_H

struct green_gate;

/* Checks PATH now (nothing if there is none, or no bundle configured).
 * 0 applied or nothing to do, else -errno (logged). */
int gate_bundle_check(struct green_gate *gt, const char *why);

#endif
