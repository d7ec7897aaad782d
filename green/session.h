/* SPDX-License-Identifier: MIT */
/*
 * Green's session table: pure bookkeeping, no I/O, no nftables, no
 * WireGuard, so every rule is unit-tested with an injected clock. The
 * daemon applies what the table decides (add/remove peer, open/close the
 * WireGuard port for a source) and logs it.
 *
 *   pending  a knock was accepted and the peer added; only the control
 *            port is reachable. Ends after handshake_timeout unless the
 *            card proof passes.
 *   live     the card proved; ends on close, idle, lifetime, peer
 *            silence, a missed reproof, revocation or user removal.
 *   ended    gone from the table (the caller got a copy to clean up).
 *
 * Rules (docs/architecture.md "Sessions and peers"): a tunnel address
 * belongs to one peer at a time. A knock may replace a pending peer,
 * never a live
 * session's peer unless that peer has been silent (no handshake and no
 * activity) past the idle timeout. A live session's own key knocking from
 * a new source adds that source (roaming), it does not replace anything.
 * A session has KG_SESS_MAX_SRC source slots; when they are full, a slot
 * is freed for a new source only if its source has held it for one lease
 * (handshake_timeout) and sent no WireGuard packet for one lease (asked
 * through the src_seen hook: the kernel's wg_seen sets). So a stolen knock
 * key knocking from new sources cannot push out the real user's source.
 *
 * Memory: the table owns its sessions; pointers returned by lookups are
 * valid until the next call that adds or ends a session. Ended sessions
 * are handed to the caller by value. The sessions are the dense array
 * t->s[0 .. t->n) (iterate it to list them); lookups by id, tunnel
 * address, peer key and source go through hash indexes and expiry through
 * a timer heap (session_index.h), so no call scans the table. The table
 * holds pointers to itself: do not copy or move an initialised one.
 *
 * Memory per session (max_clients slots, all allocated at init):
 * sizeof(struct kg_session) + 3 index slots at load 1/2 (24 bytes) +
 * KG_SESS_MAX_SRC source-count entries twice (about 200 bytes) + a heap
 * slot: under 700 bytes (kg_sess_bytes_per_slot()).
 */
#ifndef KG_SESSION_H
#define KG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "session_index.h"

#define KG_SESS_MAX_SRC 4
#define KG_SESS_USER_MAX 64

enum kg_sess_state { KG_SESS_PENDING = 1, KG_SESS_LIVE = 2 };

enum kg_sess_end {
	KG_END_NONE = 0,
	KG_END_CLOSE,          /* client or admin asked */
	KG_END_IDLE,           /* no activity for idle_timeout */
	KG_END_LIFETIME,       /* max_lifetime reached */
	KG_END_PEER_SILENT,    /* nothing heard from the peer (handshake,
				  control message) for handshake_timeout */
	KG_END_REPROOF_MISSED, /* periodic card proof not answered or wrong */
	KG_END_REVOKED,        /* certificate on the reloaded CRL */
	KG_END_REMOVED,        /* user record gone on reload */
	KG_END_AUTH_TIMEOUT,   /* pending: no card proof in time */
	KG_END_AUTH_FAILED,    /* pending: card proof refused */
	KG_END_REPLACED,       /* pending peer replaced by a newer knock */
};

/* Stable name for logs ("idle", "reproof_missed", ...), never NULL. */
const char *kg_sess_end_name(enum kg_sess_end r);

/* Seconds; config [session] (docs/sessions.md). */
struct kg_sess_limits {
	uint32_t idle_timeout;
	uint32_t max_lifetime;
	uint32_t reproof_interval;   /* 0 = never ask */
	uint32_t handshake_timeout;
	uint32_t reproof_grace;      /* time allowed to answer a reproof */
};

struct kg_session {
	uint64_t id;
	enum kg_sess_state state;
	enum kg_sess_end end;              /* set on ended copies */
	char user[KG_SESS_USER_MAX];
	struct kg_addr tunnel;
	uint16_t shard;                    /* its WireGuard device (the shard
					      hook's answer for tunnel, fixed
					      at the knock): its sources'
					      openings are for that port */
	uint8_t peer_key[32];
	struct kg_addr src[KG_SESS_MAX_SRC];     /* oldest first */
	int64_t src_added[KG_SESS_MAX_SRC];     /* when each got its slot */
	size_t n_src;
	/* Times below: the table's clock (monotonic seconds), except
	 * last_handshake, which is WireGuard's wall-clock stamp, only
	 * compared with its last value to see a new handshake. */
	int64_t created;          /* knock accepted */
	int64_t start;            /* card proved (live) */
	int64_t last_activity;    /* traffic or control message (traffic as
				     of the last liveness check: with a
				     peer_seen hook it may lag by up to a
				     lease; the table asks before it acts
				     on it) */
	int64_t last_handshake;   /* WireGuard's stamp (wall clock, opaque) */
	int64_t last_heard;       /* any sign of the peer: handshake, control
				     message, reproof (peer silence) */
	uint64_t rx_bytes;        /* last observed WireGuard counter */
	int64_t reproof_due;      /* live: next periodic proof */
	int64_t wake;             /* when the timer heap looks at it next
				     (never later than its first deadline) */
	uint32_t heap_i;          /* its place in the timer heap */
	/* The user's other sessions (positions + 1, 0 ends): the user index
	 * holds one of them, the chain the rest, so ending all of a user's
	 * sessions never walks the table. */
	uint32_t u_prev, u_next;
};

typedef int64_t (*kg_clock_fn)(void *ctx);
/* True if src sent a WireGuard packet within the last lease (or if that
 * cannot be known: the slot is then kept). */
typedef bool (*kg_src_seen_fn)(void *ctx, const struct kg_addr *src);
/* The WireGuard shard (device, and so port) of a session with tunnel
 * address tunnel. */
typedef unsigned (*kg_shard_fn)(void *ctx, const struct kg_addr *tunnel);
/* Asked by kg_sess_expire before a live session ends as peer_silent or
 * idle: when (table clock) the peer last sent traffic through the tunnel,
 * or -1 if nothing read says so. It may also feed a peer dump it read to
 * kg_sess_observe_peer (any session). It must not add or end sessions. */
typedef int64_t (*kg_peer_seen_fn)(void *ctx, struct kg_session *s);

struct kg_sess_table {
	struct kg_session *s;
	size_t n, cap;
	uint64_t next_id;
	struct kg_sess_limits lim;
	kg_clock_fn clock;
	void *clock_ctx;
	kg_src_seen_fn src_seen;   /* NULL: every source counts as silent */
	void *src_seen_ctx;
	kg_peer_seen_fn peer_seen; /* NULL: only observe_peer/touch count */
	void *peer_seen_ctx;
	kg_shard_fn shard;         /* NULL: every session on shard 0 */
	void *shard_ctx;
	size_t n_live;
	uint64_t seed;             /* hash secret */
	struct kg_sidx by_id, by_tunnel, by_key;
	struct kg_sidx by_user;    /* the head of each user's chain */
	struct kg_srcidx srcs;     /* (source, shard) -> sessions using it */
	struct kg_srcidx ban_keys; /* sources' ban keys (an IPv6 /64) */
	struct kg_sheap timers;
};

/* cap = most sessions at once (pending + live); id_base seeds session ids
 * (random at start, so ids differ across restarts). clock NULL = the
 * monotonic clock in seconds (kg_mono_s: every timeout here is a duration,
 * a wall-clock step must not move it). 0 or -ENOMEM/-EINVAL. */
int kg_sess_init(struct kg_sess_table *t, size_t cap,
		 const struct kg_sess_limits *lim, uint64_t id_base,
		 kg_clock_fn clock, void *clock_ctx);
void kg_sess_free(struct kg_sess_table *t);
/* The hook asked before a live session ends for silence or idleness. */
void kg_sess_set_peer_seen(struct kg_sess_table *t, kg_peer_seen_fn fn,
			   void *ctx);
/* Bytes allocated at init per max_clients slot (for docs and the bench). */
size_t kg_sess_bytes_per_slot(void);
/* The hook asked before a full session's source slot is freed. */
void kg_sess_set_src_seen(struct kg_sess_table *t, kg_src_seen_fn fn,
			  void *ctx);
int64_t kg_sess_now(const struct kg_sess_table *t);
/* The hook that names a new session's shard (set before the first
 * knock: a session keeps the shard it was given). */
void kg_sess_set_shard(struct kg_sess_table *t, kg_shard_fn fn, void *ctx);

enum kg_knock_action {
	KG_KNOCK_NEW,          /* new pending session: add peer, open src */
	KG_KNOCK_REPLACED,     /* *old ended (pending or silent live): remove
				  its peer, then as NEW */
	KG_KNOCK_ADD_SOURCE,   /* live session's own key from a new source:
				  open that source too, keep the peer */
	KG_KNOCK_MOVE_SOURCE,  /* as ADD_SOURCE, into the slot of a silent
				  source: old->src[0] lost its slot (close
				  its opening unless another session uses
				  it) */
	KG_KNOCK_SAME,         /* same key, known source: nothing to do */
	KG_KNOCK_REFUSED,      /* tunnel address held by a live session */
};

const char *kg_knock_action_name(enum kg_knock_action a);

/* An accepted knock for user (tunnel address, ephemeral peer key, source).
 * Returns 0 with *action and *s set (s NULL if refused), and for REPLACED
 * a copy of the ended session in *old (for MOVE_SOURCE: old->src[0] is
 * the source that lost its slot); -ENOSPC if the table is full; -EBUSY if
 * the session's source slots are full of sources that are young or still
 * sending (nothing changed); -EINVAL for a bad user name. */
int kg_sess_knock(struct kg_sess_table *t, const char *user,
		  const struct kg_addr *tunnel, const uint8_t peer_key[32],
		  const struct kg_addr *src, enum kg_knock_action *action,
		  struct kg_session **s, struct kg_session *old);

/* Pending -> live after the card proof. -ENOENT no such session,
 * -EALREADY if already live. */
int kg_sess_prove(struct kg_sess_table *t, uint64_t id);
/* A reproof passed: the next one is due reproof_interval from now. It
 * shows the peer is there but is not activity (a client that only
 * answers reproofs still goes idle). */
int kg_sess_reproved(struct kg_sess_table *t, uint64_t id);
/* A control message or service use counts as activity. */
void kg_sess_touch(struct kg_sess_table *t, uint64_t id);
/* WireGuard stats for a peer (from the periodic peer dump): handshake
 * time (0 = never; a changed value is a new handshake, heard now) and
 * received bytes (a changed counter is activity). */
void kg_sess_observe_peer(struct kg_sess_table *t, const uint8_t key[32],
			  int64_t last_handshake, uint64_t rx_bytes);

struct kg_session *kg_sess_by_id(struct kg_sess_table *t, uint64_t id);
struct kg_session *kg_sess_by_tunnel(struct kg_sess_table *t,
				     const struct kg_addr *a);
struct kg_session *kg_sess_by_key(struct kg_sess_table *t,
				  const uint8_t key[32]);
/* True if any session (other than except_id) on shard uses src as a
 * source: the opening for src to that shard's WireGuard port must then
 * stay. Sessions on other shards do not count (their openings are for
 * other ports): two users behind one NAT on two shards each have their
 * own. */
bool kg_sess_src_in_use(const struct kg_sess_table *t,
			const struct kg_addr *src, unsigned shard,
			uint64_t except_id);
/* True if some session's source has ban key key (kg_addr_ban_key: the
 * address itself for IPv4, its /64 for IPv6). */
bool kg_sess_ban_key_in_use(const struct kg_sess_table *t,
			    const struct kg_addr *key);

/* Ends one session: copies it (end reason set) into *out if not NULL and
 * removes it. -ENOENT if unknown. */
int kg_sess_end(struct kg_sess_table *t, uint64_t id, enum kg_sess_end why,
		struct kg_session *out);

/* Ends every session whose time is up (handshake_timeout for pending;
 * idle, lifetime, peer silence, reproof_due + reproof_grace for live),
 * calling cb for each ended copy (after removal). Returns how many. */
typedef void (*kg_sess_end_cb)(void *ctx, const struct kg_session *ended);
size_t kg_sess_expire(struct kg_sess_table *t, kg_sess_end_cb cb, void *ctx);

/* Ends every session of user (revocation or removal on reload): the
 * user's chain, O(its sessions) whatever the table holds. */
size_t kg_sess_end_user(struct kg_sess_table *t, const char *user,
			enum kg_sess_end why, kg_sess_end_cb cb, void *ctx);

/* Seconds until the next expiry check can change anything (for the event
 * loop's timeout; it may be early, never late); -1 if the table is
 * empty. */
int64_t kg_sess_next_deadline(const struct kg_sess_table *t);

/* The [session] section of green's config (docs/sessions.md). */
struct kg_session_conf {
	struct kg_sess_limits lim;      /* reproof_grace = io_timeout */
	uint16_t control_port;
	uint32_t max_clients;
	uint32_t io_timeout;            /* seconds */
};

/* Reads [session] from c, with defaults for absent keys; refuses unknown
 * keys and values out of range ("FILE:LINE: key: ..." in e). 0 or
 * -EINVAL/-ENOENT. An absent section gives all defaults. */
int kg_session_conf_read(const struct kg_conf *c, struct kg_session_conf *out,
			 struct kg_err *e);

#endif
