/* SPDX-License-Identifier: MIT */
/*
 * Green's side of batched renewals (docs/protocol.md, "Batched
 * renewals"): up to KG_SK_BATCH_MAX renewals for one red signed once,
 * kept pending and resent as the same bytes like a single knock
 * (red_client.h), and red's batch answer accepted only if it carries the
 * hash of a batch still pending (looked up before the signature check)
 * and red signed it. Pure: time is passed in, packets handed out.
 */
#ifndef KG_GREEN_RED_BATCH_H
#define KG_GREEN_RED_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "red_client.h"
#include "sknock.h"

struct green_rb_pending {
	bool used;
	uint8_t hash[KG_SK_HASH_LEN];            /* the batch's identity */
	uint8_t pkt[KG_SK_BATCH_PACKET_MAX];     /* resent as is */
	size_t len;
	struct kg_skrenews b;
	void *cookies[KG_SK_BATCH_MAX];          /* the callers', per entry */
	uint64_t next_ms;
	unsigned sent;
};

struct green_rb {
	struct green_rb_pending *p;   /* owned, cap entries */
	size_t cap;
};

/* cap batches in flight at once. 0 or -ENOMEM; free with green_rb_free. */
int green_rb_init(struct green_rb *rb, size_t cap);
void green_rb_free(struct green_rb *rb);

/* Builds a batch of e[0..n-1] (1..KG_SK_BATCH_MAX) with the ids of rc,
 * stamped ts (wall clock, s), a fresh nonce, signed with rc's key; keeps
 * it pending (resent from now_ms + rc->retry_ms) and points *pkt, *len at
 * its bytes. 0, -EINVAL, -ENOSPC (cap batches pending), -EIO (signing). */
int green_rb_request(struct green_rb *rb, const struct kg_red_client *rc,
		     const struct kg_sk_renew *e, void *const *cookies,
		     size_t n, uint64_t ts, uint64_t now_ms,
		     const uint8_t **pkt, size_t *len);

/* Resends due batches through send(ctx, ...); one sent rc->max_sends
 * times is dropped and each entry's cookie reported via gave_up. */
void green_rb_tick(struct green_rb *rb, const struct kg_red_client *rc,
		   uint64_t now_ms,
		   void (*send)(void *ctx, const uint8_t *pkt, size_t len),
		   void (*gave_up)(void *ctx, const struct kg_sknock *req,
				   void *cookie),
		   void *ctx);

/* A batch answer received: parse, ids, pending lookup, then red's
 * signature (rc->red_cert). On KG_RC_OK fills *a and *done (a copy of
 * the batch answered, with its cookies) and forgets the batch. */
enum kg_rc_result green_rb_answer(struct green_rb *rb,
				  struct kg_red_client *rc, const uint8_t *pkt,
				  size_t len, struct kg_skrenews_answer *a,
				  struct green_rb_pending *done,
				  enum kg_sk_err *why);

/* Entry i of a batch as the single renew knock it stands for (for the
 * callers of single answers). */
void green_rb_entry_knock(const struct kg_skrenews *b, size_t i,
			  struct kg_sknock *k);

#endif
