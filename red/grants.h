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
#include "pool.h"
#include "sknock.h"

struct kg_grant {
	bool used;
	uint32_t next;                 /* index chain: slot + 1, 0 ends */
	char green_id[KG_SK_ID_MAX + 1];
	uint64_t session;
	char service[KG_SK_ID_MAX + 1];
	uint32_t seq;
	uint8_t action;
	uint8_t hash[KG_SK_HASH_LEN];  /* knock hash of the last request */
	struct kg_addr client;
	uint16_t port;                 /* 0 = no live mapping */
	uint16_t real_port;
	int64_t lease_end;             /* monotonic seconds */
	int64_t keep_until;            /* entry forgotten after this */
	struct kg_skanswer answer;     /* last answer (knock_hash of seq) */
};

struct kg_grants {
	struct kg_grant *g;            /* owned */
	size_t cap;
	/* (green, session, service) -> slot in O(1): chains from head[]
	 * (slot + 1, 0 ends), and a stack of the unused slots, so that a
	 * knock's lookup does not grow with the number of grants. */
	uint32_t *head;                /* owned, n_head entries */
	size_t n_head;                 /* a power of two >= cap */
	uint32_t *free;                /* owned: unused slots, n_free of cap */
	size_t n_free;
	struct kg_pool pool;
	uint32_t max_lease;            /* seconds; lifetimes are capped to it */
	uint32_t keep;                 /* seconds an entry outlives its lease */
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
	int64_t lease_end;
	struct kg_skanswer answer;     /* to sign and send (all ops) */
};

/* 0 or -ENOMEM; max_lease and keep in seconds. Free with kg_grants_free. */
int kg_grants_init(struct kg_grants *t, size_t cap, uint32_t max_lease,
		   uint32_t keep);
void kg_grants_free(struct kg_grants *t);

/* Decides what the authenticated knock k (hash = its knock hash) asks,
 * for a service whose real port and pool are given. rnd picks the port
 * of a new mapping. Fills *p, including the answer (red_id from k). Never
 * fails: refusals are plans. */
void kg_grants_plan(const struct kg_grants *t, const struct kg_sknock *k,
		    const uint8_t hash[KG_SK_HASH_LEN], uint16_t real_port,
		    uint16_t pool_lo, uint16_t pool_hi, uint32_t rnd,
		    int64_t now, struct kg_plan *p);
/* Records a plan the caller has applied (REFUSE and REPEAT record
 * nothing). */
void kg_grants_commit(struct kg_grants *t, const struct kg_sknock *k,
		      const uint8_t hash[KG_SK_HASH_LEN], const struct kg_plan *p,
		      int64_t now);

/* Leases that ended by now: calls cb for each live mapping whose lease is
 * over (the caller cuts its conntrack flows; the nft elements time out by
 * themselves), frees its port, and forgets entries past keep_until.
 * Returns the number of leases ended. */
size_t kg_grants_expire(struct kg_grants *t, int64_t now,
			void (*cb)(const struct kg_grant *g, void *arg),
			void *arg);
/* Every live mapping (for shutdown and tests). */
size_t kg_grants_live(const struct kg_grants *t);

#endif
