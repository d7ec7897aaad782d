/* SPDX-License-Identifier: MIT */
/*
 * Red's grant table: one entry per (green, session, service), holding the
 * session's last request (sequence, action, knock hash), its port and
 * lease, and the answer red gave. This is what makes open, renew and close
 * idempotent: a request repeated with the same sequence is answered again
 * from here (same port), an older sequence is refused as stale.
 *
 * Two steps so that nothing is recorded unless nftables took the change:
 * kg_grants_plan() decides (no mutation), the caller applies the plan to
 * nftables, then kg_grants_commit() records it. Pure: time and the random
 * port choice are passed in. Every "now" and lease end here is on the
 * monotonic clock (seconds, kg_mono_s): a wall-clock step must neither
 * stretch a lease nor free a port whose kernel element still lives. The
 * answer's lease is a duration; its timestamp (wall) is the caller's.
 */
#ifndef KG_RED_GRANTS_H
#define KG_RED_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "hop.h"
#include "pool.h"
#include "sknock.h"
#include "timer_heap.h"

#define KG_GRANT_HELD_MAX 32
/* A ring of held ports past the newest two is pruned this long after it
 * grew, and again as long as flows keep it long. */
#define KG_GRANT_PRUNE_MS 1000

struct kg_grant {
	bool used;
	uint32_t next;                 /* index chain: slot + 1, 0 ends */
	uint32_t cnext;                /* client chain: slot + 1, 0 ends */
	char green_id[KG_SK_ID_MAX + 1];
	uint64_t session;
	char service[KG_SK_ID_MAX + 1];
	uint32_t seq;
	uint8_t action;
	uint8_t hash[KG_SK_HASH_LEN];  /* knock hash of the last request */
	struct kg_addr client;
	uint16_t port;                 /* 0 = no live mapping */
	uint16_t real_port;
	/* IPv6 clients: the address the grant is reached at, moved by
	 * address shuffling (family 0: red's site address6) */
	struct kg_addr daddr;
	/* Every port this grant held during its lease, the current one
	 * included (the newest KG_GRANT_HELD_MAX): established flows may go
	 * on on any of them until the lease ends, and the lease end cuts
	 * them all. */
	uint16_t held[KG_GRANT_HELD_MAX];
	size_t n_held;
	int64_t hop_due_ms;            /* monotonic ms; 0 = not hopping */
	uint32_t hops;                 /* hops so far (the push's counter) */
	uint16_t reply_port;           /* green's answer port (its knocks' source) */
	uint32_t held_live;            /* bit i: held[i] carries a flow (pruning) */
	bool pruning;                  /* in this round's prune list */
	int64_t lease_end;             /* monotonic seconds */
	int64_t keep_until;            /* entry forgotten after this */
	struct kg_skanswer answer;     /* last answer (knock_hash of seq) */
};

struct kg_grant_key {
	struct kg_addr key;            /* a ban key */
	uint32_t live;                 /* live grants under it (> 0 in use) */
	uint32_t next;                 /* chain: entry + 1, 0 ends */
};

struct kg_grants {
	struct kg_grant *g;            /* owned */
	size_t cap;
	/* (green, session, service) -> slot in O(1): chains from head[]
	 * (slot + 1, 0 ends), and a stack of the unused slots, so that a
	 * knock's lookup does not grow with the number of grants. */
	uint32_t *head;                /* owned, n_head entries */
	/* client address -> its slots, the same way: a new mapping avoids
	 * the ports its client holds without a walk of the whole table */
	uint32_t *chead;               /* owned, n_head entries */
	size_t n_head;                 /* a power of two >= cap */
	uint32_t *free;                /* owned: unused slots, n_free of cap */
	size_t n_free;
	uint32_t max_lease;            /* seconds; lifetimes are capped to it */
	uint32_t keep;                 /* seconds an entry outlives its lease */
	/* Timers, one heap a kind, so that no tick walks the table: every
	 * used slot in life (its lease end while live, else the time it is
	 * forgotten; seconds), every hopping live grant in hop (hop_due_ms,
	 * ms), every live grant holding more than two ports in prune (ms). */
	struct kg_theap life, hop, prune;
	uint32_t *pruning;             /* owned: the slots of this prune round */
	size_t n_pruning;
	size_t n_live;                 /* grants with a live mapping */
	/* ban key (kg_addr_ban_key of a live grant's client) -> how many
	 * live grants it holds, kept up to date on every change of a
	 * grant's liveness or client, so that "does this ban key hold a
	 * live grant" is one bucket's chain, not a walk of the table: an
	 * attacker's spoofed sources crossing ban thresholds ask it. At most
	 * cap keys (each holds a live grant): chains from khead (entry + 1,
	 * 0 ends) over keys, free entries on kfree. */
	struct kg_grant_key *keys;     /* owned, cap entries */
	uint32_t *khead;               /* owned, n_head entries */
	uint32_t *kfree;               /* owned: unused entries, n_kfree */
	size_t n_kfree;
};

enum kg_plan_op {
	KG_PLAN_REFUSE,   /* answer refused (reason) */
	KG_PLAN_REPEAT,   /* answer the cached result again, change nothing */
	KG_PLAN_MAP,      /* add (client . port) -> real port, lease */
	KG_PLAN_EXTEND,   /* same mapping, new lease */
	KG_PLAN_UNMAP,    /* remove the mapping, cut its flows */
	KG_PLAN_NOOP,     /* close of nothing live: answer closed */
};

struct kg_plan {
	enum kg_plan_op op;
	uint8_t reason;                /* KG_PLAN_REFUSE */
	ptrdiff_t slot;                /* entry index, -1 = a new one */
	struct kg_addr client;         /* mapping concerned */
	uint16_t port;
	uint16_t real_port;
	struct kg_addr daddr;          /* EXTEND, UNMAP: as kg_grant's */
	int64_t lease_end;
	uint16_t held[KG_GRANT_HELD_MAX];  /* EXTEND, UNMAP: the grant's held
					      ports (refreshed, removed) */
	size_t n_held;
	struct kg_skanswer answer;     /* to sign and send (all ops) */
};

/* One hop of a live grant: the new port, the one left, when the next is
 * due. */
struct kg_hop_plan {
	size_t slot;
	struct kg_addr client;
	uint16_t port, old_port, real_port;
	/* IPv6 clients: the address the grant moves to and the one it
	 * leaves (the same without shuffling); kg_grants_hop_plan fills both
	 * with the grant's (family 0: red's site address6), the caller draws
	 * the new one */
	struct kg_addr addr, old_addr;
	uint32_t next_ms;              /* interval drawn for the next hop */
	uint32_t lease_ms;             /* what is left of the lease */
	uint32_t overlap_ms;
	uint32_t hop;                  /* the hop's number (1, 2, ...) */
};

/* 0 or -ENOMEM; max_lease and keep in seconds. Free with kg_grants_free. */
int kg_grants_init(struct kg_grants *t, size_t cap, uint32_t max_lease,
		   uint32_t keep);
void kg_grants_free(struct kg_grants *t);

/* Decides what the authenticated knock k (hash = its knock hash) asks,
 * for a service whose real port and pool (pool->pool ranges) are given.
 * rnd picks the port of a new mapping, among the pool's ports this client
 * does not hold already (the pool is per client: red's map is keyed on
 * client and port). Fills *p, including the answer (red_id from k).
 * Never fails: refusals are plans. */
void kg_grants_plan(const struct kg_grants *t, const struct kg_sknock *k,
		    const uint8_t hash[KG_SK_HASH_LEN], uint16_t real_port,
		    const struct kg_hop_conf *pool, uint32_t rnd,
		    int64_t now, struct kg_plan *p);

/* Marks in *used every port a live grant of client holds (current and
 * held). */
void kg_grants_client_ports(const struct kg_grants *t,
			    const struct kg_addr *client, struct kg_pool *used);
/* The grant green_id/session/service names, or NULL. */
struct kg_grant *kg_grants_find(struct kg_grants *t, const char *green_id,
				uint64_t session, const char *service);

/* Plans the hop of live grant slot (its hop is due): a new port from h's
 * pool (never the current one, never one this client holds), the next
 * interval. 0, -ENOSPC (no free port: the grant stays where it is), or
 * the random source's error. now_ms and now_s on the monotonic clock. */
int kg_grants_hop_plan(const struct kg_grants *t, size_t slot,
		       const struct kg_hop_conf *h, kg_hop_rand_fn rnd,
		       void *ctx, int64_t now_ms, int64_t now_s,
		       struct kg_hop_plan *hp);
/* Records an applied hop: the new port current and held, the next hop
 * due at now_ms + next_ms. */
void kg_grants_hop_commit(struct kg_grants *t, const struct kg_hop_plan *hp,
			  int64_t now_ms);
/* The hop timers: the slot of a live grant whose hop is due by now_ms,
 * or -1. The caller hops it (or not) and then calls kg_grants_hop_sync,
 * which files the grant under its hop_due_ms again (the caller may have
 * changed it; one still due waits for the next tick, a grant no longer
 * hopping or live leaves the heap). */
ptrdiff_t kg_grants_hop_next(const struct kg_grants *t, int64_t now_ms);
void kg_grants_hop_sync(struct kg_grants *t, size_t slot, int64_t now_ms);

/* Pruning the held ports, so that a long-lived connection is never
 * pushed out of the ring by hops. Each grant whose ring holds more than
 * two ports has a prune timer (KG_GRANT_PRUNE_MS after it grew):
 * kg_grants_held_due takes the grants whose timer is due by now_ms into
 * this round and returns their number (0: no dump needed); the daemon
 * reports each conntrack flow (original source and destination port)
 * with kg_grants_held_seen (only this round's grants note it), then
 * kg_grants_held_prune drops from each of their rings the ports that
 * carried no flow, keeping the newest two (the current port and the one
 * it left, whose overlap may still bring a flow), calling gone (may be
 * NULL) for each port dropped (its held4 element goes too); a ring still
 * longer than two gets its timer again. kg_grants_held_abandon ends a
 * round pruning nothing (the dump failed): the timers are set again. */
size_t kg_grants_held_due(struct kg_grants *t, int64_t now_ms);
void kg_grants_held_seen(struct kg_grants *t, const struct kg_addr *src,
			 uint16_t dport);
void kg_grants_held_prune(struct kg_grants *t, int64_t now_ms,
			  void (*gone)(const struct kg_grant *g, uint16_t port,
				       void *arg),
			  void *arg);
void kg_grants_held_abandon(struct kg_grants *t, int64_t now_ms);

/* Starts hopping grant g of t (first hop due at now_ms + first_ms), or
 * stops (first_ms 0). */
void kg_grants_hop_start(struct kg_grants *t, struct kg_grant *g,
			 int64_t now_ms, uint32_t first_ms);
/* Records a plan the caller has applied (REFUSE and REPEAT record
 * nothing). */
void kg_grants_commit(struct kg_grants *t, const struct kg_sknock *k,
		      const uint8_t hash[KG_SK_HASH_LEN], const struct kg_plan *p,
		      int64_t now);

/* Leases that ended by now: calls cb for each live mapping whose lease is
 * over (the caller cuts its conntrack flows; the nft elements time out by
 * themselves), frees its port, and forgets entries past keep_until.
 * Returns the number of leases ended. Costs O(log n) per grant concerned
 * (the life timers), nothing more when none is due. */
size_t kg_grants_expire(struct kg_grants *t, int64_t now,
			void (*cb)(const struct kg_grant *g, void *arg),
			void *arg);
/* The number of live mappings whose client falls under a's ban key
 * (kg_addr_ban_key: the address for IPv4, its /64 for IPv6; a may be any
 * address of it). O(1): a counter kept by commit, expiry and hops. */
size_t kg_grants_live_at(const struct kg_grants *t, const struct kg_addr *a);
/* The number of live mappings (a counter: O(1)). */
size_t kg_grants_live(const struct kg_grants *t);

#endif
