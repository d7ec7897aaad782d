/* SPDX-License-Identifier: MIT */
/* The test vectors of docs/protocol.md, "Signed knock (green to red)":
 * the same fields and bytes as printed there. */
#ifndef KG_SK_VECTORS_H
#define KG_SK_VECTORS_H

#include <string.h>

#include "conf.h"
#include "sknock.h"

#define VEC_KNOCK_BODY \
	"4b47534b01010106677265656e310472656431010203040506070800000007" \
	"040a58010a037765620000003c000000006b025600a0a1a2a3a4a5a6a7a8a9" \
	"aaabacadaeaf"
#define VEC_KNOCK_HASH \
	"0ab827e7c066cb225e6b87239f3448ab070991c85808dd5981a21f2e70c7762a"
#define VEC_KNOCK_SIG \
	"304602210085a3054bb905545573dce5a01d02847a8a0fcccb05a70733db1bc0" \
	"3f3d11e4bd022100afcee2f640a676b9d0718fd221818fad9b69a2bfcfea2ecd" \
	"4005cc30034fc4a4"
#define VEC_ANSWER_BODY \
	"4b47534b010201047265643106677265656e310ab827e7c066cb225e6b87239f" \
	"3448ab070991c85808dd5981a21f2e70c7762a9cbb0000003c00000000006b02" \
	"5601"

/* Batched renewals: two entries (IPv4 and IPv6 clients), and red's
 * answer (granted; refused no_grant). */
#define VEC_BATCH_BODY \
	"4b47534b010306677265656e310472656431000000006b025600a0a1a2a3a4a5" \
	"a6a7a8a9aaabacadaeaf02010203040506070800000008040a58010a03776562" \
	"0000003c11121314151617180000000306fd8800000000000000000000000000" \
	"100373736800000078"
#define VEC_BATCH_HASH \
	"4c1d1b393a877b76d188cd4c08f0f67fa59fa1a920b725068592b558d06510bf"
#define VEC_BATCH_ENTRY1_HASH \
	"72badb0459cdaf52647b61b66b39b81e1d3a76ef3952f994d2fb93590345b067"
#define VEC_BATCH_SIG \
	"3046022100f1651197153e34cc70f9362395d43aa70e9416152fd7f9b6aea219" \
	"f2ffe98295022100f0c5e809b6423f666ad93bbf50b7cd3aa03071af1569033c" \
	"e7ab0636a668d589"
#define VEC_BATCH_ANSWER_BODY \
	"4b47534b0104047265643106677265656e314c1d1b393a877b76d188cd4c08f0" \
	"f67fa59fa1a920b725068592b558d06510bf000000006b02560102019cbb0000" \
	"003c000300000000000009"

static inline void vec_batch(struct kg_skrenews *b)
{
	memset(b, 0, sizeof(*b));
	strcpy(b->green_id, "green1");
	strcpy(b->red_id, "red1");
	b->timestamp = 1795315200;
	for (int i = 0; i < KG_SK_NONCE_LEN; i++)
		b->nonce[i] = (uint8_t)(0xa0 + i);
	b->n = 2;
	b->e[0].session = 0x0102030405060708ULL;
	b->e[0].seq = 8;
	kg_addr_parse("10.88.1.10", &b->e[0].client);
	strcpy(b->e[0].service, "web");
	b->e[0].lifetime = 60;
	b->e[1].session = 0x1112131415161718ULL;
	b->e[1].seq = 3;
	kg_addr_parse("fd88::10", &b->e[1].client);
	strcpy(b->e[1].service, "ssh");
	b->e[1].lifetime = 120;
}

static inline void vec_batch_answer(struct kg_skrenews_answer *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->red_id, "red1");
	strcpy(a->green_id, "green1");
	kg_hex_decode(VEC_BATCH_HASH, a->knock_hash, KG_SK_HASH_LEN);
	a->timestamp = 1795315201;
	a->n = 2;
	a->r[0].result = KG_SK_GRANTED;
	a->r[0].port = 40123;
	a->r[0].lease = 60;
	a->r[1].result = KG_SK_REFUSED;
	a->r[1].reason = KG_SK_R_NO_GRANT;
}

static inline void vec_knock(struct kg_sknock *k)
{
	memset(k, 0, sizeof(*k));
	k->action = KG_SK_OPEN;
	strcpy(k->green_id, "green1");
	strcpy(k->red_id, "red1");
	k->session = 0x0102030405060708ULL;
	k->seq = 7;
	kg_addr_parse("10.88.1.10", &k->client);
	strcpy(k->service, "web");
	k->lifetime = 60;
	k->timestamp = 1795315200;
	for (int i = 0; i < KG_SK_NONCE_LEN; i++)
		k->nonce[i] = (uint8_t)(0xa0 + i);
}

static inline void vec_answer(struct kg_skanswer *a)
{
	memset(a, 0, sizeof(*a));
	a->result = KG_SK_GRANTED;
	strcpy(a->red_id, "red1");
	strcpy(a->green_id, "green1");
	kg_hex_decode(VEC_KNOCK_HASH, a->knock_hash, KG_SK_HASH_LEN);
	a->port = 40123;
	a->lease = 60;
	a->timestamp = 1795315201;
}

/* Red's hop push (docs/protocol.md, "Hop"): web of session
 * 0x0102030405060708 for 10.88.1.10, hop 3, at 10.89.0.2 port 9042, left
 * 9017, overlap 2000 ms, timestamp 1795315203, held 9017 and 9042. */
#define VEC_HOP_BODY \
	"4b47534b0105047265643106677265656e31010203040506070803776562040a5801" \
	"0a00000003040a59000223522339000007d0000000006b0256030223392352"

static inline void vec_hop(struct kg_skhop *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->red_id, "red1");
	strcpy(h->green_id, "green1");
	h->session = 0x0102030405060708ULL;
	strcpy(h->service, "web");
	h->client.family = AF_INET;
	memcpy(h->client.b, (uint8_t[]){ 10, 88, 1, 10 }, 4);
	h->hop = 3;
	h->addr.family = AF_INET;
	memcpy(h->addr.b, (uint8_t[]){ 10, 89, 0, 2 }, 4);
	h->port = 9042;
	h->old_port = 9017;
	h->overlap_ms = 2000;
	h->timestamp = 1795315203;
	h->held[0] = 9017;
	h->held[1] = 9042;
	h->n_held = 2;
}

#endif
