/* SPDX-License-Identifier: MIT */
#include "knock_check.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "time.h"

static const char *const reason_names[] = {
	[KG_KNOCK_ACCEPTED] = "accepted",
	[KG_KNOCK_MALFORMED] = "malformed",
	[KG_KNOCK_BAD_VERSION] = "bad_version",
	[KG_KNOCK_WRONG_GREEN] = "wrong_green",
	[KG_KNOCK_UNKNOWN_ID] = "unknown_id",
	[KG_KNOCK_BAD_TAG] = "bad_tag",
	[KG_KNOCK_WRONG_SLOT] = "wrong_slot",
	[KG_KNOCK_STALE] = "stale",
	[KG_KNOCK_BEFORE_START] = "before_start",
	[KG_KNOCK_DUPLICATE] = "duplicate",
	[KG_KNOCK_SUPERSEDED] = "superseded",
	[KG_KNOCK_REPLAY_CACHE_FULL] = "replay_cache_full",
	[KG_KNOCK_WRONG_MODE] = "wrong_mode",
	[KG_KNOCK_REPLAY_SHARE_FULL] = "replay_share_full",
	[KG_KNOCK_INTERNAL] = "internal",
};

const char *kg_knock_reason_name(enum kg_knock_reason r)
{
	if ((size_t)r >= sizeof(reason_names) / sizeof(reason_names[0]))
		return "internal";
	return reason_names[r];
}

/* A knock for another green (wrong_green) is a real user's: after an
 * active/standby pair's address moved, or a client trying its profile's
 * greens in turn, it arrives at the green it was not for. Counting it
 * would ban the users the pair is there to serve. */
bool kg_knock_reason_counts_for_ban(enum kg_knock_reason r)
{
	switch (r) {
	case KG_KNOCK_MALFORMED:
	case KG_KNOCK_BAD_VERSION:
	case KG_KNOCK_UNKNOWN_ID:
	case KG_KNOCK_BAD_TAG:
		return true;
	default:
		return false;
	}
}

int kg_knock_checker_init(struct kg_knock_checker *k,
			  const uint8_t green_pub[KG_KEY_LEN], uint32_t window_s,
			  uint64_t start_ms, struct kg_users *users,
			  struct kg_rcache *replay)
{
	memset(k, 0, sizeof(*k));
	if (window_s == 0)
		window_s = KG_KNOCK_WINDOW_DEFAULT;
	if (!users || !replay || users->slot_s < window_s)
		return -EINVAL;
	memcpy(k->green_pub, green_pub, KG_KEY_LEN);
	kg_knock_green_hint(green_pub, k->green_hint);
	k->window_s = window_s;
	k->start_ms = start_ms;
	k->users = users;
	k->replay = replay;
	return 0;
}

static enum kg_knock_reason done(struct kg_knock_decision *d,
				 enum kg_knock_reason r)
{
	d->reason = r;
	if (r != KG_KNOCK_ACCEPTED)
		kg_wipe(d->client_pub, sizeof(d->client_pub));
	return r;
}

/* Replay key: the nonce and the first tag bytes (a replay repeats both). */
static void replay_key(const struct kg_knock *kn, uint8_t key[KG_RCACHE_KEY_LEN])
{
	memcpy(key, kn->nonce, KG_AEAD_NONCE_LEN);
	memcpy(key + KG_AEAD_NONCE_LEN, kn->tag, KG_RCACHE_KEY_LEN - KG_AEAD_NONCE_LEN);
}

/* The start as the wall clock reads it now: now minus the monotonic time
 * since the start. Without a clock step that is start_ms; after one it
 * moves with the clock, so a step back does not make every knock look
 * "before start" (a lockout for as long as the step), and a step forward
 * does not let in knocks from before the start. The one clock read here. */
static uint64_t start_in_frame(const struct kg_knock_checker *k,
				 uint64_t now_ms)
{
	int64_t up;

	if (!k->start_mono_ms)
		return k->start_ms;
	up = kg_mono_ms() - k->start_mono_ms;
	return up > 0 && (uint64_t)up < now_ms ? now_ms - (uint64_t)up : 0;
}

/* The checks after authentication: all on authentic knocks, none bans. */
static enum kg_knock_reason check_time(struct kg_knock_checker *k,
				       const struct kg_knock *kn,
				       uint64_t slot, uint64_t now_ms,
				       struct kg_knock_decision *d)
{
	uint64_t win_ms = (uint64_t)k->window_s * 1000, ts = kn->ts_ms;
	uint8_t rkey[KG_RCACHE_KEY_LEN];
	int rc;

	if (ts / 1000 / k->users->slot_s != slot)
		return done(d, KG_KNOCK_WRONG_SLOT);
	if (ts + win_ms < now_ms || ts > now_ms + win_ms)
		return done(d, KG_KNOCK_STALE);
	if (ts < start_in_frame(k, now_ms))
		return done(d, KG_KNOCK_BEFORE_START);
	if (d->user->mode != KG_MODE_SPA)
		return done(d, KG_KNOCK_WRONG_MODE);
	replay_key(kn, rkey);
	if (kg_rcache_contains(k->replay, rkey, now_ms))
		return done(d, KG_KNOCK_DUPLICATE);
	if (ts <= d->user->last_ts_ms)
		return done(d, KG_KNOCK_SUPERSEDED);
	/* Remember it until it can no longer pass the window check. */
	rc = kg_rcache_add_shared(k->replay, rkey, ts + win_ms + 1, now_ms,
				  &d->user->replay_share, KG_KNOCK_REPLAY_SHARE);
	if (rc == -EDQUOT)
		return done(d, KG_KNOCK_REPLAY_SHARE_FULL);
	if (rc == -ENOSPC)
		return done(d, KG_KNOCK_REPLAY_CACHE_FULL);
	if (rc == -EEXIST)
		return done(d, KG_KNOCK_DUPLICATE);
	if (rc)
		return done(d, KG_KNOCK_INTERNAL);
	d->user->last_ts_ms = ts;
	return done(d, KG_KNOCK_ACCEPTED);
}

enum kg_knock_reason kg_knock_check(struct kg_knock_checker *k,
				    const uint8_t *pkt, size_t len,
				    uint64_t now_ms,
				    struct kg_knock_decision *d)
{
	struct kg_knock kn;
	uint64_t slot = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = kg_knock_parse(pkt, len, &kn);
	if (rc == -EPROTONOSUPPORT)
		return done(d, KG_KNOCK_BAD_VERSION);
	if (rc)
		return done(d, KG_KNOCK_MALFORMED);
	d->ts_ms = kn.ts_ms;
	if (!kg_memeq(kn.green_hint, k->green_hint, KG_KNOCK_HINT_LEN))
		return done(d, KG_KNOCK_WRONG_GREEN);
	if (kg_users_ids_update(k->users, now_ms / 1000, false))
		return done(d, KG_KNOCK_INTERNAL);
	d->user = kg_users_by_id(k->users, kn.key_id, &slot);
	if (!d->user)
		return done(d, KG_KNOCK_UNKNOWN_ID);
	k->aead_opens++;
	rc = kg_knock_open(&kn, d->user->knock_key, k->green_pub, d->client_pub);
	if (rc == -EBADMSG)
		return done(d, KG_KNOCK_BAD_TAG);
	if (rc)
		return done(d, KG_KNOCK_INTERNAL);
	return check_time(k, &kn, slot, now_ms, d);
}

void kg_knock_log_decision(const struct kg_knock_decision *d, const char *src)
{
	bool ok = d->reason == KG_KNOCK_ACCEPTED;

	kg_log_event(ok ? KG_LOG_NOTICE : KG_LOG_WARNING, "knock",
		     "result", ok ? "accepted" : "rejected",
		     "reason", kg_knock_reason_name(d->reason),
		     "user", d->user ? d->user->name : NULL, "src", src);
}
