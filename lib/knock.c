/* SPDX-License-Identifier: MIT */
#include "knock.h"

#include <errno.h>
#include <string.h>

#include "buf.h"

static const char ad_label[] = "knockgate knock v1";

#define AD_LEN (sizeof(ad_label) - 1 + KG_KEY_LEN + KG_KNOCK_HDR_LEN)

void kg_knock_green_hint(const uint8_t green_pub[KG_KEY_LEN],
			 uint8_t hint[KG_KNOCK_HINT_LEN])
{
	uint8_t h[KG_SHA256_LEN];

	kg_sha256(green_pub, KG_KEY_LEN, h);
	memcpy(hint, h, KG_KNOCK_HINT_LEN);
}

static void build_ad(const uint8_t green_pub[KG_KEY_LEN],
		     const uint8_t hdr[KG_KNOCK_HDR_LEN], uint8_t ad[AD_LEN])
{
	memcpy(ad, ad_label, sizeof(ad_label) - 1);
	memcpy(ad + sizeof(ad_label) - 1, green_pub, KG_KEY_LEN);
	memcpy(ad + sizeof(ad_label) - 1 + KG_KEY_LEN, hdr, KG_KNOCK_HDR_LEN);
}

int kg_knock_encode(const uint8_t knock_key[KG_KEY_LEN], uint64_t key_id,
		    uint64_t ts_ms, const uint8_t nonce[KG_AEAD_NONCE_LEN],
		    const uint8_t green_pub[KG_KEY_LEN],
		    const uint8_t client_pub[KG_KEY_LEN],
		    uint8_t out[KG_KNOCK_LEN])
{
	uint8_t hint[KG_KNOCK_HINT_LEN], ad[AD_LEN];
	struct kg_writer w;
	int rc;

	kg_knock_green_hint(green_pub, hint);
	kg_writer_init(&w, out, KG_KNOCK_LEN);
	if (kg_put_u8(&w, KG_KNOCK_VERSION) || kg_put_bytes(&w, hint, sizeof(hint)) ||
	    kg_put_u64(&w, key_id) || kg_put_u64(&w, ts_ms) ||
	    kg_put_bytes(&w, nonce, KG_AEAD_NONCE_LEN))
		return -EMSGSIZE;
	build_ad(green_pub, out, ad);
	rc = kg_aead_seal(knock_key, nonce, ad, sizeof(ad), client_pub,
			  KG_KEY_LEN, out + KG_KNOCK_HDR_LEN,
			  out + KG_KNOCK_HDR_LEN + KG_KEY_LEN);
	return rc;
}

int kg_knock_parse(const uint8_t *buf, size_t len, struct kg_knock *k)
{
	struct kg_reader r;

	memset(k, 0, sizeof(*k));
	if (len != KG_KNOCK_LEN)
		return -EMSGSIZE;
	kg_reader_init(&r, buf, len);
	if (kg_get_bytes(&r, k->hdr, KG_KNOCK_HDR_LEN))
		return -EMSGSIZE;
	kg_reader_init(&r, buf, len);
	if (kg_get_u8(&r, &k->version))
		return -EMSGSIZE;
	if (k->version != KG_KNOCK_VERSION)
		return -EPROTONOSUPPORT;
	if (kg_get_bytes(&r, k->green_hint, KG_KNOCK_HINT_LEN) ||
	    kg_get_u64(&r, &k->key_id) || kg_get_u64(&r, &k->ts_ms) ||
	    kg_get_bytes(&r, k->nonce, KG_AEAD_NONCE_LEN) ||
	    kg_get_bytes(&r, k->sealed, KG_KEY_LEN) ||
	    kg_get_bytes(&r, k->tag, KG_AEAD_TAG_LEN) || !kg_reader_done(&r))
		return -EMSGSIZE;
	return 0;
}

int kg_knock_open(const struct kg_knock *k,
		  const uint8_t knock_key[KG_KEY_LEN],
		  const uint8_t green_pub[KG_KEY_LEN],
		  uint8_t client_pub[KG_KEY_LEN])
{
	uint8_t ad[AD_LEN];

	build_ad(green_pub, k->hdr, ad);
	return kg_aead_open(knock_key, k->nonce, ad, sizeof(ad), k->sealed,
			    KG_KEY_LEN, k->tag, client_pub);
}
