/* SPDX-License-Identifier: MIT */
/*
 * What red does with one knock packet from its NFLOG knock group, up to
 * the point of changing nftables: who sent it, parse, signature by that
 * green's certificate, named red, time window, idempotency, replay cache,
 * service and client checks, and the grant plan. No I/O: the daemon
 * applies the plan (nft, conntrack), commits it, then signs and sends the
 * answer. Unit tests drive it with the vector certificate.
 *
 * Red answers nothing it cannot verify: a packet from an address that is
 * not a configured green's site-link address, that does not parse, names another green, or
 * whose signature fails is dropped (KG_V_DROP) and only logged.
 */
#ifndef KG_RED_CHECK_H
#define KG_RED_CHECK_H

#include <stdint.h>

#include <openssl/x509.h>

#include "config.h"
#include "grants.h"
#include "lib/replay.h"
#include "sknock.h"

struct kg_red_state {
	const struct kg_red_config *cfg;     /* not owned */
	X509 *green_cert[KG_RED_MAX_GREENS]; /* not owned; NULL = refused */
	int64_t started;                     /* knocks stamped before: refused */
	int64_t started_mono;                /* the same moment, kg_mono_s; set:
						started follows wall-clock
						steps (check.c) */
	struct kg_rcache *replay;            /* owned; KG_SK_HASH_LEN keys */
	struct kg_grants grants;
};

enum kg_verdict {
	KG_V_DROP,     /* log only, answer nothing */
	KG_V_ANSWER,   /* apply plan (unless refused/repeat), answer */
};

struct kg_red_outcome {
	enum kg_verdict verdict;
	const char *result;         /* "accepted", "repeat", "refused", "dropped" */
	const char *reason;         /* log reason; NULL when accepted */
	const struct kg_red_green *green;   /* NULL if src is not a green */
	const struct kg_red_service *svc;   /* NULL if unknown */
	struct kg_sknock k;
	uint8_t hash[KG_SK_HASH_LEN];
	struct kg_plan plan;
};

/* 0 or -ENOMEM; free with kg_red_state_free (certificates are not freed). */
int kg_red_state_init(struct kg_red_state *s, const struct kg_red_config *cfg,
		      int64_t started);
void kg_red_state_free(struct kg_red_state *s);

/* Decides about pkt (the UDP payload) from src at now (wall clock, Unix
 * seconds: the knock's window, before_start, the answer's timestamp, the
 * replay cache) and mono (kg_mono_s: leases, kg_grants_*); rnd picks a new
 * port. On KG_V_ANSWER with an accepted plan the replay cache already
 * holds the knock; the caller commits the plan with kg_grants_commit once
 * nftables took it (or answers KG_SK_R_INTERNAL if not). */
void kg_red_check(struct kg_red_state *s, const struct kg_addr *src,
		  const uint8_t *pkt, size_t len, int64_t now, int64_t mono,
		  uint32_t rnd, struct kg_red_outcome *o);

/* Batched renewals (docs/protocol.md, "Batched renewals"): one signature
 * for up to KG_SK_BATCH_MAX renewals, each then checked like a single
 * renew knock whose identity is kg_sk_entry_hash(batch hash, i). */
struct kg_red_batch {
	const struct kg_red_green *green;   /* NULL if src is not a green */
	const char *reason;                 /* why it was dropped */
	struct kg_skrenews r;
	uint8_t hash[KG_SK_HASH_LEN];       /* SHA-256 of the batch's body */
};

/* Sender, parse, green named, that green's signature: 0, or -1 with
 * b->reason set (drop, log only, answer nothing). */
int kg_red_batch_open(struct kg_red_state *s, const struct kg_addr *src,
		      const uint8_t *pkt, size_t len, struct kg_red_batch *b);
/* Entry i of an opened batch, decided as kg_red_check decides a knock
 * (always KG_V_ANSWER); the replay cache is asked about the batch's hash
 * but not yet given it. The caller applies and commits each accepted
 * plan before deciding the next entry (two entries may touch one grant). */
void kg_red_batch_entry(struct kg_red_state *s, const struct kg_red_batch *b,
			unsigned i, int64_t now, int64_t mono, uint32_t rnd,
			struct kg_red_outcome *o);
/* After the last entry: records the batch's hash in the replay cache if
 * any entry was accepted. 0, or kg_rcache_add's error (a full cache: the
 * batch is then not remembered, but a copy of it only repeats, since each
 * grant's sequence already moved on). */
int kg_red_batch_close(struct kg_red_state *s, const struct kg_red_batch *b,
		       unsigned n_accepted, int64_t now);

#endif
