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
 * Adds go first (apply.c batches them), then deletes: an id that stays is
 * never missing.
 */
#include "gate.h"
#include "sessions_run.h"
#include "knock_ids.h"
#include "apply.h"
#include "log.h"
#include "time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIDS_MARGIN_MS 5000   /* an old slot's ids outlive it by this */

struct gate_kids {
	struct kg_keyid_elem *have;   /* what the set holds (sorted by id) */
	size_t n_have;
	uint64_t center;              /* slot of the last sync */
	uint64_t retry_ms;            /* after an error: not before then */
	bool synced;
};

static bool enabled(const struct green_gate *gt)
{
	return green_prefilter(&gt->g->conf);
}

static int add_all(struct green_gate *gt, struct kg_keyid_elem *want,
		   const size_t *add, size_t n_add, uint64_t wall,
		   uint64_t mono)
{
	uint64_t *ids = calloc(n_add ? n_add : 1, sizeof(*ids));
	uint64_t *t = calloc(n_add ? n_add : 1, sizeof(*t));
	bool *refresh = calloc(n_add ? n_add : 1, sizeof(*refresh));
	uint32_t slot_s = gt->users.slot_s;
	int r = -ENOMEM;

	if (!ids || !t || !refresh)
		goto out;
	for (size_t i = 0; i < n_add; i++) {
		struct kg_keyid_elem *el = &want[add[i]];

		ids[i] = el->id;
		t[i] = kg_keyid_elem_timeout_ms(el->slot, slot_s, wall,
						KIDS_MARGIN_MS);
		refresh[i] = el->lapsing;
		el->expires_ms = mono + t[i];
	}
	r = green_apply_keyids_add(gt->g->nft, ids, t, refresh, n_add);
out:
	free(ids);
	free(t);
	free(refresh);
	return r;
}

static void del_all(struct green_gate *gt, const struct kg_keyid_elem *have,
		    const size_t *del, size_t n_del)
{
	uint64_t *ids = calloc(n_del ? n_del : 1, sizeof(*ids));

	if (!ids) {
		kg_log(KG_LOG_ERR, "knock ids: out of memory");
		return;
	}
	for (size_t i = 0; i < n_del; i++)
		ids[i] = have[del[i]].id;
	green_apply_keyids_del(gt->g->nft, ids, n_del);
	free(ids);
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
	uint64_t wall = (uint64_t)kg_wall_ms(), mono = (uint64_t)gate_now_ms(), center;
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
