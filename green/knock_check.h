/* SPDX-License-Identifier: MIT */
/*
 * Green's acceptance of a first knock, as pure logic (no I/O, no clock:
 * the caller passes now): parse -> green hint -> one key-id lookup -> at
 * most one AEAD open -> id slot matches the timestamp -> timestamp inside
 * the window -> not before the daemon started -> not a replay -> after the
 * user's last accepted timestamp -> room in the user's share of the replay
 * cache -> room in the replay cache. Only then is
 * the user's last timestamp advanced and the nonce remembered.
 *
 * Invalid knocks cost the same whatever the number of users: unknown ids
 * cost one hash lookup and no AEAD; a known id costs exactly one AEAD open.
 */
#ifndef KG_GREEN_KNOCK_CHECK_H
#define KG_GREEN_KNOCK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keyid.h"
#include "knock.h"
#include "lib/replay.h"
#include "users.h"

#define KG_KNOCK_WINDOW_DEFAULT 30   /* seconds either side of now */
#define KG_KNOCK_SLOT_DEFAULT KG_KEYID_SLOT_DEFAULT   /* must be >= window */
/* Accepted knocks one user may have in the replay cache at once (each
 * stays about two windows): far above any client's knocking (connect,
 * roam, stall), far below the cache (docs/protocol.md). */
#define KG_KNOCK_REPLAY_SHARE KG_RCACHE_SHARE_MAX

enum kg_knock_reason {
	KG_KNOCK_ACCEPTED = 0,
	KG_KNOCK_MALFORMED,          /* wrong length */
	KG_KNOCK_BAD_VERSION,
	KG_KNOCK_WRONG_GREEN,        /* green hint names another green */
	KG_KNOCK_UNKNOWN_ID,
	KG_KNOCK_BAD_TAG,            /* AEAD open failed */
	KG_KNOCK_WRONG_SLOT,         /* authentic, id slot != timestamp slot */
	KG_KNOCK_STALE,              /* authentic, outside the window */
	KG_KNOCK_BEFORE_START,       /* authentic, stamped before green started */
	KG_KNOCK_DUPLICATE,          /* authentic, nonce already seen */
	KG_KNOCK_SUPERSEDED,         /* authentic, not after last accepted */
	KG_KNOCK_REPLAY_CACHE_FULL,
	KG_KNOCK_WRONG_MODE,         /* user is enrolled for sequence mode */
	KG_KNOCK_REPLAY_SHARE_FULL,  /* this user holds KG_KNOCK_REPLAY_SHARE
					entries in the cache already (a stolen
					key knocking fast): only this user is
					refused, the cache stays open to others */
	KG_KNOCK_INTERNAL,           /* allocation or OpenSSL failure */
};

struct kg_knock_checker {
	uint8_t green_pub[KG_KEY_LEN];   /* green's WireGuard public key */
	uint8_t green_hint[KG_KNOCK_HINT_LEN];
	uint32_t window_s;
	uint64_t start_ms;               /* daemon start, wall clock */
	int64_t start_mono_ms;           /* the same moment, kg_mono_ms; 0:
					    start_ms is taken as is (tests) */
	struct kg_users *users;          /* borrowed */
	struct kg_rcache *replay;        /* borrowed */
	uint64_t aead_opens;             /* statistics; tests count them */
};

struct kg_knock_decision {
	enum kg_knock_reason reason;
	struct kg_user *user;            /* set once the id was found */
	uint64_t ts_ms;
	uint8_t client_pub[KG_KEY_LEN];  /* valid only when accepted */
};

/* window_s 0 means the default; users->slot_s must be >= window_s, else
 * -EINVAL. users and replay stay owned by the caller. */
int kg_knock_checker_init(struct kg_knock_checker *k,
			  const uint8_t green_pub[KG_KEY_LEN], uint32_t window_s,
			  uint64_t start_ms, struct kg_users *users,
			  struct kg_rcache *replay);

/* Decides about one datagram at wall-clock time now_ms. Returns d->reason. */
enum kg_knock_reason kg_knock_check(struct kg_knock_checker *k,
				    const uint8_t *pkt, size_t len,
				    uint64_t now_ms,
				    struct kg_knock_decision *d);

/* "accepted", "malformed", "bad_version", "wrong_green", "unknown_id",
 * "bad_tag", "wrong_slot", "stale", "before_start", "duplicate",
 * "superseded", "replay_cache_full", "wrong_mode", "replay_share_full",
 * "internal". */
const char *kg_knock_reason_name(enum kg_knock_reason r);
/* Whether the reason may count toward an IPS ban: only knocks that nobody
 * holding the key produced. Authentic-but-refused knocks (stale,
 * duplicate, ...) never ban: their source may be forged. */
bool kg_knock_reason_counts_for_ban(enum kg_knock_reason r);

/* Logs the decision as one record: event=knock result=accepted|rejected
 * reason=... user=... src=... */
void kg_knock_log_decision(const struct kg_knock_decision *d, const char *src);

#endif
