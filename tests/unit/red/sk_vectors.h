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
	"4b47534b0103047265643106677265656e31010203040506070803776562040a5801" \
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
