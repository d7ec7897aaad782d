/* SPDX-License-Identifier: MIT */
#include "seq.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

struct prog {
	struct kg_addr src;
	uint32_t user;        /* index into users->v */
	uint8_t step;         /* ports already matched */
	uint64_t slot;        /* slot the attempt started in (one-time) */
	uint64_t deadline_ms;
	bool used;
};

struct kg_seq {
	size_t max;
	struct prog *v;
	uint32_t timeout_ms, slot_s;
	bool known_valid;
	uint64_t known_slot;
	uint8_t known[2][65536 / 8];   /* [tcp, udp] port bitmaps */
};

static const char seq_label[] = "knockgate seq v1";

int kg_seq_new(size_t max_sources, uint32_t timeout_ms, uint32_t slot_s,
	       struct kg_seq **out)
{
	struct kg_seq *s;

	if (!max_sources || !slot_s || max_sources > (1u << 24))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->v = calloc(max_sources, sizeof(*s->v));
	if (!s->v) {
		free(s);
		return -ENOMEM;
	}
	s->max = max_sources;
	s->timeout_ms = timeout_ms ? timeout_ms : KG_SEQ_TIMEOUT_DEFAULT_MS;
	s->slot_s = slot_s;
	*out = s;
	return 0;
}

void kg_seq_free(struct kg_seq *s)
{
	if (!s)
		return;
	free(s->v);
	free(s);
}

void kg_seq_reset(struct kg_seq *s)
{
	memset(s->v, 0, s->max * sizeof(*s->v));
	s->known_valid = false;
}

const char *kg_seq_result_name(enum kg_seq_result r)
{
	static const char *const n[] = {
		"none", "progress", "reset", "complete", "replayed", "table_full",
	};

	return (size_t)r < sizeof(n) / sizeof(n[0]) ? n[r] : "unknown";
}

static bool port_taken(const struct kg_seq_port *out, size_t n, uint16_t port)
{
	for (size_t i = 0; i < n; i++)
		if (out[i].port == port)
			return true;
	return false;
}

int kg_seq_onetime(const uint8_t knock_key[KG_KEY_LEN], uint64_t slot,
		   size_t len, struct kg_seq_port *out)
{
	uint8_t msg[sizeof(seq_label) - 1 + 8 + 1], mac[KG_SHA256_LEN];
	size_t n = 0;

	if (len == 0 || len > KG_SEQ_MAX)
		return -EINVAL;
	for (uint8_t ctr = 0; n < len; ctr++) {
		struct kg_writer w;
		struct kg_reader r;
		uint32_t v;
		int rc;

		if (ctr == 255)
			return -EIO;   /* cannot happen short of a broken HMAC */
		kg_writer_init(&w, msg, sizeof(msg));
		kg_put_bytes(&w, seq_label, sizeof(seq_label) - 1);
		kg_put_u64(&w, slot);
		kg_put_u8(&w, ctr);
		rc = kg_hmac_sha256(knock_key, msg, sizeof(msg), mac);
		if (rc)
			return rc;
		kg_reader_init(&r, mac, sizeof(mac));
		while (n < len && kg_get_u32(&r, &v) == 0) {
			uint16_t port = (uint16_t)(KG_SEQ_ONETIME_BASE +
						   (v >> 1) % KG_SEQ_ONETIME_RANGE);

			if (port_taken(out, n, port))
				continue;
			out[n].port = port;
			out[n].proto = (v & 1) ? IPPROTO_UDP : IPPROTO_TCP;
			n++;
		}
	}
	kg_wipe(mac, sizeof(mac));
	return 0;
}

/* The user's sequence as it stands in slot; 0 or -errno. */
static int user_seq(const struct kg_user *x, uint64_t slot,
		    struct kg_seq_port seq[KG_SEQ_MAX], size_t *len)
{
	if (!x->seq_onetime) {
		memcpy(seq, x->seq, x->seq_len * sizeof(*seq));
		*len = x->seq_len;
		return 0;
	}
	*len = x->seq_len;
	return kg_seq_onetime(x->knock_key, slot, x->seq_len, seq);
}

static void mark(struct kg_seq *s, const struct kg_seq_port *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int t = p[i].proto == IPPROTO_UDP;

		s->known[t][p[i].port / 8] |= (uint8_t)(1u << (p[i].port % 8));
	}
}

static void refresh_known(struct kg_seq *s, const struct kg_users *u,
			  uint64_t slot)
{
	struct kg_seq_port seq[KG_SEQ_MAX];
	size_t len;

	if (s->known_valid && s->known_slot == slot)
		return;
	memset(s->known, 0, sizeof(s->known));
	for (size_t i = 0; i < u->n; i++) {
		const struct kg_user *x = &u->v[i];

		if (x->mode != KG_MODE_SEQUENCE)
			continue;
		for (uint64_t sl = slot ? slot - 1 : 0; sl <= slot + 1; sl++)
			if (user_seq(x, sl, seq, &len) == 0)
				mark(s, seq, len);
	}
	s->known_slot = slot;
	s->known_valid = true;
}

bool kg_seq_port_known(struct kg_seq *s, const struct kg_users *u,
		       uint8_t proto, uint16_t port, uint64_t now_ms)
{
	int t = proto == IPPROTO_UDP;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	refresh_known(s, u, now_ms / 1000 / s->slot_s);
	return s->known[t][port / 8] & (1u << (port % 8));
}

static struct prog *find(struct kg_seq *s, const struct kg_addr *src,
			 uint32_t user, uint64_t mono_ms)
{
	for (size_t i = 0; i < s->max; i++) {
		struct prog *p = &s->v[i];

		if (p->used && p->deadline_ms < mono_ms)
			p->used = false;   /* timed out: forget it */
		if (p->used && p->user == user && kg_addr_eq(&p->src, src))
			return p;
	}
	return NULL;
}

static struct prog *slot_for_new(struct kg_seq *s)
{
	for (size_t i = 0; i < s->max; i++)
		if (!s->v[i].used)
			return &s->v[i];
	return NULL;
}

/* Advances (src, user x) by one packet; returns the result for x. */
static enum kg_seq_result step(struct kg_seq *s, struct kg_user *x,
			       uint32_t idx, const struct kg_addr *src,
			       uint8_t proto, uint16_t port, uint64_t wall_ms,
			       uint64_t mono_ms)
{
	struct kg_seq_port seq[KG_SEQ_MAX];
	struct prog *p = find(s, src, idx, mono_ms);
	uint64_t slot = p ? p->slot : wall_ms / 1000 / s->slot_s;
	size_t len;

	if (user_seq(x, slot, seq, &len) || len == 0)
		return KG_SEQ_NONE;
	if (p && seq[p->step].port == port && seq[p->step].proto == proto) {
		if (++p->step < len)
			return KG_SEQ_PROGRESS;
		p->used = false;
		if (x->seq_onetime && x->seq_used_slot == slot + 1)
			return KG_SEQ_REPLAYED;
		if (x->seq_onetime)
			x->seq_used_slot = slot + 1;
		return KG_SEQ_COMPLETE;
	}
	if (p)
		p->used = false;   /* out of order: start over */
	if (seq[0].port == port && seq[0].proto == proto) {
		p = slot_for_new(s);
		if (!p)
			return KG_SEQ_TABLE_FULL;
		*p = (struct prog){ .src = *src, .user = idx, .step = 1, .used = true,
				    .slot = wall_ms / 1000 / s->slot_s,
				    .deadline_ms = mono_ms + s->timeout_ms };
		return KG_SEQ_PROGRESS;
	}
	return p ? KG_SEQ_RESET : KG_SEQ_NONE;
}

enum kg_seq_result kg_seq_feed(struct kg_seq *s, struct kg_users *u,
			       const struct kg_addr *src, uint8_t proto,
			       uint16_t port, uint64_t wall_ms,
			       uint64_t mono_ms, struct kg_user **user)
{
	bool progress = false, replayed = false, full = false;

	*user = NULL;
	if (!kg_seq_port_known(s, u, proto, port, wall_ms))
		return KG_SEQ_NONE;
	for (size_t i = 0; i < u->n && i < UINT32_MAX; i++) {
		struct kg_user *x = &u->v[i];
		enum kg_seq_result r;

		if (x->mode != KG_MODE_SEQUENCE)
			continue;
		r = step(s, x, (uint32_t)i, src, proto, port, wall_ms, mono_ms);
		if (r == KG_SEQ_COMPLETE) {
			*user = x;
			return r;
		}
		progress |= r == KG_SEQ_PROGRESS;
		replayed |= r == KG_SEQ_REPLAYED;
		full |= r == KG_SEQ_TABLE_FULL;
	}
	/* A known port never reports NONE, so the caller never counts it
	 * toward a scan ban. */
	return progress ? KG_SEQ_PROGRESS : replayed ? KG_SEQ_REPLAYED :
	       full ? KG_SEQ_TABLE_FULL : KG_SEQ_RESET;
}
