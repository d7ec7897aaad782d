/* SPDX-License-Identifier: MIT */
#include "keyid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define SLOTS 3          /* previous, current, next */

struct entry {
	uint64_t id;
	uint64_t slot;
	uint32_t index;
	bool used;
};

struct kg_keyid_table {
	uint32_t slot_s;
	uint64_t center;      /* slot the table was built for */
	size_t n_keys;        /* users it was built from */
	bool built;
	uint64_t seed;        /* secret: attackers pick ids, not buckets */
	struct entry *v;
	size_t cap;           /* power of two, > 2 * entries */
};

static const char label[] = "knockgate keyid v1";

int kg_keyid_derive(const uint8_t knock_key[KG_KEY_LEN], uint64_t slot,
		    uint64_t *id)
{
	uint8_t msg[sizeof(label) - 1 + 8], mac[KG_SHA256_LEN];
	struct kg_writer w;
	struct kg_reader r;
	int rc;

	kg_writer_init(&w, msg, sizeof(msg));
	if (kg_put_bytes(&w, label, sizeof(label) - 1) || kg_put_u64(&w, slot))
		return -EINVAL;
	rc = kg_hmac_sha256(knock_key, msg, sizeof(msg), mac);
	if (rc)
		return rc;
	kg_reader_init(&r, mac, sizeof(mac));
	rc = kg_get_u64(&r, id);
	kg_wipe(mac, sizeof(mac));
	return rc;
}

int kg_keyid_table_new(uint32_t slot_s, struct kg_keyid_table **out)
{
	struct kg_keyid_table *t;
	int rc;

	if (slot_s == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slot_s = slot_s;
	rc = kg_random(&t->seed, sizeof(t->seed));
	if (rc) {
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void kg_keyid_table_free(struct kg_keyid_table *t)
{
	if (!t)
		return;
	free(t->v);
	free(t);
}

uint32_t kg_keyid_slot_len(const struct kg_keyid_table *t)
{
	return t->slot_s;
}

static size_t bucket(const struct kg_keyid_table *t, uint64_t id)
{
	uint64_t x = id ^ t->seed;

	/* splitmix64 finalizer */
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (size_t)x & (t->cap - 1);
}

static void insert(struct kg_keyid_table *t, uint64_t id, uint64_t slot,
		   uint32_t index)
{
	size_t b = bucket(t, id);

	while (t->v[b].used)
		b = (b + 1) & (t->cap - 1);
	t->v[b] = (struct entry){ .id = id, .slot = slot, .index = index,
				  .used = true };
}

/* Fills a new table for center. When the slot just moved on by one (the
 * common case, once per slot) the ids of the two slots kept are copied
 * and only the new "next" slot is derived: a third of the HMACs. */
static int rebuild(struct kg_keyid_table *t, const uint8_t *const *keys,
		   size_t n, uint64_t center, bool shift)
{
	struct entry *old = t->v, *v;
	size_t cap = 16, old_cap = t->cap;
	uint64_t first = center ? center - 1 : 0;

	if (n > UINT32_MAX / 8)
		return -ENOMEM;
	while (cap < n * SLOTS * 2)
		cap <<= 1;
	v = calloc(cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	t->v = v;
	t->cap = cap;
	for (size_t i = 0; shift && i < old_cap; i++)
		if (old[i].used && old[i].slot >= first)
			insert(t, old[i].id, old[i].slot, old[i].index);
	free(old);
	if (shift)
		first = center + 1;
	for (size_t i = 0; i < n; i++) {
		for (uint64_t s = first; s <= center + 1; s++) {
			uint64_t id;
			int rc = kg_keyid_derive(keys[i], s, &id);

			if (rc)
				return rc;
			insert(t, id, s, (uint32_t)i);
		}
	}
	t->center = center;
	t->n_keys = n;
	t->built = true;
	return 0;
}

int kg_keyid_table_update(struct kg_keyid_table *t,
			  const uint8_t *const *keys, size_t n,
			  uint64_t now_s, bool force, bool *rebuilt)
{
	uint64_t center = now_s / t->slot_s;
	bool shift;
	int rc;

	if (rebuilt)
		*rebuilt = false;
	if (t->built && !force && center == t->center)
		return 0;
	shift = t->built && !force && n == t->n_keys && center == t->center + 1;
	t->built = false;
	rc = rebuild(t, keys, n, center, shift);
	if (rc) {
		t->built = false;
		if (t->v)
			memset(t->v, 0, t->cap * sizeof(*t->v));
		return rc;
	}
	if (rebuilt)
		*rebuilt = true;
	return 0;
}

bool kg_keyid_lookup(const struct kg_keyid_table *t, uint64_t id,
		     uint32_t *index, uint64_t *slot)
{
	size_t b;

	if (!t->built || !t->v)
		return false;
	/* Load is at most 1/2, so probe chains are short and end at a hole. */
	for (b = bucket(t, id); t->v[b].used; b = (b + 1) & (t->cap - 1)) {
		if (t->v[b].id == id) {
			*index = t->v[b].index;
			*slot = t->v[b].slot;
			return true;
		}
	}
	return false;
}

static int cmp_elem(const void *a, const void *b)
{
	uint64_t x = ((const struct kg_keyid_elem *)a)->id;
	uint64_t y = ((const struct kg_keyid_elem *)b)->id;

	return x < y ? -1 : x > y;
}

int kg_keyid_set_want(const uint8_t *const *keys, size_t n, uint64_t center,
		      struct kg_keyid_elem **out, size_t *n_out)
{
	struct kg_keyid_elem *v;
	uint64_t first = center ? center - 1 : 0;
	size_t m = 0, j = 0;

	*out = NULL;
	*n_out = 0;
	if (!n)
		return 0;
	if (n > SIZE_MAX / KG_KEYID_SET_SLOTS / sizeof(*v))
		return -ENOMEM;
	v = calloc(n * KG_KEYID_SET_SLOTS, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		for (uint64_t s = first; s <= center + 2; s++) {
			int rc = kg_keyid_derive(keys[i], s, &v[m].id);

			if (rc) {
				free(v);
				return rc;
			}
			v[m++].slot = s;
		}
	}
	qsort(v, m, sizeof(*v), cmp_elem);
	for (size_t i = 0; i < m; i++)
		if (!j || v[i].id != v[j - 1].id)
			v[j++] = v[i];
	*out = v;
	*n_out = j;
	return 0;
}

int kg_keyid_set_diff(const struct kg_keyid_elem *have, size_t n_have,
		      struct kg_keyid_elem *want, size_t n_want,
		      uint64_t now_ms, size_t **add, size_t *n_add,
		      size_t **del, size_t *n_del)
{
	size_t i = 0, j = 0;

	*n_add = *n_del = 0;
	*add = calloc(n_want ? n_want : 1, sizeof(**add));
	*del = calloc(n_have ? n_have : 1, sizeof(**del));
	if (!*add || !*del) {
		free(*add);
		free(*del);
		*add = *del = NULL;
		return -ENOMEM;
	}
	while (i < n_have || j < n_want) {
		if (j == n_want || (i < n_have && have[i].id < want[j].id)) {
			if (have[i].expires_ms > now_ms + 1000)
				(*del)[(*n_del)++] = i;
			i++;
		} else if (i == n_have || want[j].id < have[i].id) {
			(*add)[(*n_add)++] = j++;
		} else if (have[i].expires_ms <= now_ms + 1000) {
			/* Present, but about to lapse (a clock step). */
			want[j].lapsing = true;
			(*add)[(*n_add)++] = j++;
			i++;
		} else {
			want[j++].expires_ms = have[i++].expires_ms;
		}
	}
	return 0;
}

uint64_t kg_keyid_elem_timeout_ms(uint64_t slot, uint32_t slot_s,
				  uint64_t now_wall_ms, uint64_t margin_ms)
{
	uint64_t end = (slot + 2) * slot_s * 1000 + margin_ms;

	return end > now_wall_ms + 1000 ? end - now_wall_ms : 1000;
}
