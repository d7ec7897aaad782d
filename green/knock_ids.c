/* SPDX-License-Identifier: MIT */
/*
 * The kernel pre-filter's key ids: green keeps nft set knock_ids holding
 * every user's ids for the previous, current, next and the slot after
 * (lib/keyid.h, kg_keyid_set_want), so that only a first knock carrying a
 * current id reaches the knock meter and NFLOG; junk and forged ids are
 * dropped in the kernel (ruleset.c, chain knock_port).
 *
 * When: at start and every users reload (force), and from the gate's tick
 * when the wall clock's slot changes (a step of the clock included). The
 * set already holds the next slot's ids one slot ahead, so a late tick
 * never leaves a gap at a slot boundary. Each sync deletes what is no
 * longer wanted (the slot that stopped being "previous", a removed user
 * or changed key, a clock stepped back); elements also carry kernel
 * timeouts (until their slot may no longer be "previous", plus 5 s), so
 * the set empties by itself if green is late or gone.
 *
 * Adds go first, in chunks (a batch per KIDS_CHUNK elements: one netlink
 * message each), then deletes: an id that stays is never missing.
 */
#include "gate.h"
#include "log.h"
#include "nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIDS_SET "knock_ids"
#define KIDS_CHUNK 1024
#define KIDS_MARGIN_MS 5000   /* an old slot's ids outlive it by this */

struct gate_kids {
	struct kg_keyid_elem *have;   /* what the set holds (sorted by id) */
	size_t n_have;
	uint64_t center;              /* slot of the last sync */
	uint64_t retry_ms;            /* after an error: not before then */
	bool synced;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void key_bytes(uint64_t id, uint8_t k[8])
{
	/* As on the wire (big-endian), which is how the payload is matched. */
	for (int i = 7; i >= 0; i--, id >>= 8)
		k[i] = (uint8_t)id;
}

static bool enabled(const struct green_gate *gt)
{
	return green_prefilter(&gt->g->conf);
}

/* Sends the queued batch if it holds chunk elements (or force). */
static int flush(struct kg_nft_batch *b, size_t *queued, bool force)
{
	struct kg_err e = { "" };
	int r;

	if (!*queued || (!force && *queued < KIDS_CHUNK))
		return 0;
	*queued = 0;
	r = kg_nft_batch_send(b, &e);
	if (r)
		kg_log(KG_LOG_ERR, "knock ids: %s", e.msg);
	return r;
}

static int add_all(struct green_gate *gt, struct kg_keyid_elem *want,
		   const size_t *add, size_t n_add, uint64_t wall,
		   uint64_t mono)
{
	struct kg_nft_batch *b = kg_nft_batch_new(gt->g->nft);
	uint32_t slot_s = gt->users.slot_s;
	size_t queued = 0;
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < n_add; i++) {
		struct kg_keyid_elem *el = &want[add[i]];
		uint64_t t = kg_keyid_elem_timeout_ms(el->slot, slot_s, wall,
						      KIDS_MARGIN_MS);
		uint8_t k[8];

		key_bytes(el->id, k);
		r = el->lapsing ?
			kg_nft_batch_refresh(b, KIDS_SET, k, 8, NULL, 0, t) :
			kg_nft_batch_elem(b, true, KIDS_SET, k, 8, NULL, 0, t);
		el->expires_ms = mono + t;
		queued += el->lapsing ? 3 : 1;
		if (!r)
			r = flush(b, &queued, false);
	}
	if (!r)
		r = flush(b, &queued, true);
	kg_nft_batch_free(b);
	return r;
}

/* Deletes n (at most KIDS_CHUNK) in one batch; if that fails (an
 * element gone meanwhile aborts the whole batch), one by one, a missing
 * one being fine. */
static void del_chunk(struct green_gate *gt, const struct kg_keyid_elem *have,
		      const size_t *del, size_t n)
{
	struct kg_nft_batch *b = kg_nft_batch_new(gt->g->nft);
	struct kg_err e = { "" };
	uint8_t k[8];
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < n; i++) {
		key_bytes(have[del[i]].id, k);
		r = kg_nft_batch_elem(b, false, KIDS_SET, k, 8, NULL, 0, 0);
	}
	if (!r && !kg_nft_batch_send(b, &e)) {
		kg_nft_batch_free(b);
		return;
	}
	kg_nft_batch_free(b);
	for (size_t i = 0; i < n; i++) {
		key_bytes(have[del[i]].id, k);
		r = kg_nft_elem(gt->g->nft, false, KIDS_SET, k, 8, 0, &e);
		if (r && r != -ENOENT)
			kg_log(KG_LOG_ERR, "knock ids: %s", e.msg);
	}
}

static void del_all(struct green_gate *gt, const struct kg_keyid_elem *have,
		    const size_t *del, size_t n_del)
{
	for (size_t i = 0; i < n_del; i += KIDS_CHUNK)
		del_chunk(gt, have, del + i,
			  n_del - i < KIDS_CHUNK ? n_del - i : KIDS_CHUNK);
}

static const uint8_t **user_keys(const struct kg_users *u)
{
	const uint8_t **keys = calloc(u->n ? u->n : 1, sizeof(*keys));

	for (size_t i = 0; keys && i < u->n; i++)
		keys[i] = u->v[i].knock_key;
	return keys;
}

void gate_knock_ids_sync(struct green_gate *gt, bool force)
{
	struct gate_kids *k = gt->kids;
	struct kg_keyid_elem *want = NULL;
	size_t n_want = 0, *add = NULL, *del = NULL, n_add = 0, n_del = 0;
	uint64_t wall = wall_ms(), mono = (uint64_t)gate_now_ms(), center;
	const uint8_t **keys = NULL;
	char ids[24], na[24], nd[24], sl[24];
	int r = -ENOMEM;

	if (!enabled(gt) || !gt->users.slot_s)
		return;
	if (!k) {
		k = gt->kids = calloc(1, sizeof(*k));
		if (!k)
			goto out;
	}
	center = wall / 1000 / gt->users.slot_s;
	if (!force && k->synced && center == k->center)
		return;
	if (!force && !k->synced && mono < k->retry_ms)
		return;
	keys = user_keys(&gt->users);
	if (!keys ||
	    (r = kg_keyid_set_want(keys, gt->users.n, center, &want, &n_want)) ||
	    (r = kg_keyid_set_diff(k->have, k->n_have, want, n_want, mono,
				   &add, &n_add, &del, &n_del)))
		goto out;
	r = add_all(gt, want, add, n_add, wall, mono);
	if (r) {
		/* Some adds may be in: forget what we know, the next tick
		 * starts over (re-adding is harmless). */
		goto out;
	}
	del_all(gt, k->have, del, n_del);
	free(k->have);
	k->have = want;
	k->n_have = n_want;
	want = NULL;
	k->center = center;
	k->synced = true;
	snprintf(ids, sizeof(ids), "%zu", k->n_have);
	snprintf(na, sizeof(na), "%zu", n_add);
	snprintf(nd, sizeof(nd), "%zu", n_del);
	snprintf(sl, sizeof(sl), "%llu", (unsigned long long)center);
	kg_log_event(KG_LOG_DEBUG, "knock_ids", "result", "synced",
		     "ids", ids, "added", na, "deleted", nd, "slot", sl);
out:
	if (r) {
		kg_log_event(KG_LOG_ERR, "knock_ids", "result", "error",
			     "error", strerror(-r));
		if (k) {
			k->synced = false;
			k->retry_ms = mono + 1000;
		}
	}
	free(keys);
	free(want);
	free(add);
	free(del);
}

void gate_knock_ids_reset(struct green_gate *gt)
{
	if (!gt->kids)
		return;
	free(gt->kids->have);
	gt->kids->have = NULL;
	gt->kids->n_have = 0;
	gt->kids->synced = false;
}

void gate_knock_ids_free(struct green_gate *gt)
{
	if (!gt->kids)
		return;
	free(gt->kids->have);
	free(gt->kids);
	gt->kids = NULL;
}
