/* SPDX-License-Identifier: MIT */
/* The virtual card's command interpreter: see vcard.h. */
#include "vcard.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

#define SW_OK 0x9000
#define SW_WRONG_LENGTH 0x6700
#define SW_NOT_SATISFIED 0x6982
#define SW_BLOCKED 0x6983
#define SW_NO_PENDING 0x6985
#define SW_BAD_DATA 0x6a80
#define SW_NOT_FOUND 0x6a82
#define SW_BAD_P1P2 0x6a86
#define SW_REF_NOT_FOUND 0x6a88
#define SW_INS 0x6d00
#define SW_CLA 0x6e00
#define SW_MEMORY 0x6581
#define CHUNK 256

void vcard_init(struct vcard *v)
{
	memset(v, 0, sizeof(*v));
	v->pin_retries = v->puk_retries = 3;
	v->pin_left = v->puk_left = 3;
}

void vcard_free(struct vcard *v)
{
	EVP_PKEY_free(v->key);
	v->key = NULL;
	OPENSSL_cleanse(v->pin, sizeof(v->pin));
	OPENSSL_cleanse(v->puk, sizeof(v->puk));
	OPENSSL_cleanse(v->chain, sizeof(v->chain));
}

void vcard_reset(struct vcard *v)
{
	v->pin_ok = false;
	v->chain_len = 0;
	v->out_len = v->out_off = 0;
	OPENSSL_cleanse(v->chain, sizeof(v->chain));
}

size_t vcard_atr(uint8_t atr[VCARD_ATR_MAX])
{
	/* TS, T0 (TD1 present, 10 historical bytes), TD1 = T=1, history,
	 * TCK. Not 3B 8x 80 01 (contactless to OpenSC), no "Yubikey". */
	static const char hist[] = "knockgate1";
	size_t n = 0;
	uint8_t tck = 0;

	atr[n++] = 0x3b;
	atr[n++] = 0x80 | (uint8_t)(sizeof(hist) - 1);
	atr[n++] = 0x01;
	memcpy(atr + n, hist, sizeof(hist) - 1);
	n += sizeof(hist) - 1;
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	atr[n++] = tck;
	return n;
}

/* Appends TLV tag+len+value to v->out. */
static int put_tlv(struct vcard *v, uint32_t tag, const void *val, size_t n)
{
	int rc = piv_tlv_put_header(v->out, sizeof(v->out), &v->out_len, tag, n);

	if (rc || n > sizeof(v->out) - v->out_len)
		return -EMSGSIZE;
	if (n)
		memcpy(v->out + v->out_len, val, n);
	v->out_len += n;
	return 0;
}

static uint16_t tries_sw(unsigned left)
{
	return left ? (uint16_t)(0x63c0 | (left & 0x0f)) : SW_BLOCKED;
}

/* 6-8 digits then FF padding: anything else is refused before a retry
 * is spent. */
static bool pin_format_ok(const uint8_t p[PIV_PIN_LEN])
{
	size_t i = 0;

	while (i < PIV_PIN_LEN && p[i] >= '0' && p[i] <= '9')
		i++;
	if (i < 6)
		return false;
	for (; i < PIV_PIN_LEN; i++)
		if (p[i] != 0xff)
			return false;
	return true;
}

/* Checks a secret against ref, spending or restoring a retry. */
static uint16_t check_secret(struct vcard *v, const uint8_t *ref,
			     unsigned *left, unsigned max, const uint8_t *given)
{
	if (*left == 0)
		return SW_BLOCKED;
	if (CRYPTO_memcmp(ref, given, PIV_PIN_LEN) != 0) {
		(*left)--;
		v->dirty = true;
		return tries_sw(*left);
	}
	if (*left != max) {
		*left = max;
		v->dirty = true;
	}
	return SW_OK;
}

static uint16_t do_select(struct vcard *v, const uint8_t *d, size_t n,
			  uint8_t p1)
{
	static const uint8_t tmpl[] = {
		0x4f, 0x06, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
		0x79, 0x07, 0x4f, 0x05, 0xa0, 0x00, 0x00, 0x03, 0x08 };

	if (p1 != 0x04 || n < 5 || n > sizeof(piv_aid) || memcmp(d, piv_aid, n))
		return SW_NOT_FOUND;
	/* Re-selecting PIV keeps the PIN status (SP 800-73-4). */
	return put_tlv(v, 0x61, tmpl, sizeof(tmpl)) ? SW_MEMORY : SW_OK;
}

static uint16_t do_verify(struct vcard *v, const uint8_t *d, size_t n,
			  uint8_t p1, uint8_t p2)
{
	uint16_t sw;

	if (p2 != PIV_REF_PIN)
		return SW_REF_NOT_FOUND;
	if (p1 == 0xff) {
		if (n)
			return SW_WRONG_LENGTH;
		v->pin_ok = false;
		return SW_OK;
	}
	if (p1 != 0x00)
		return SW_BAD_P1P2;
	if (n == 0) {
		if (v->pin_left == 0)
			return SW_BLOCKED;
		return v->pin_ok ? SW_OK : tries_sw(v->pin_left);
	}
	if (n != PIV_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin_format_ok(d))
		return SW_BAD_DATA;
	sw = check_secret(v, v->pin, &v->pin_left, v->pin_retries, d);
	v->pin_ok = sw == SW_OK;
	return sw;
}

static uint16_t do_change(struct vcard *v, const uint8_t *d, size_t n,
			  uint8_t p1, uint8_t p2)
{
	uint8_t *ref;
	unsigned *left, max;
	uint16_t sw;

	if (p1 != 0x00)
		return SW_BAD_P1P2;
	if (p2 == PIV_REF_PIN) {
		ref = v->pin, left = &v->pin_left, max = v->pin_retries;
	} else if (p2 == PIV_REF_PUK) {
		ref = v->puk, left = &v->puk_left, max = v->puk_retries;
	} else {
		return SW_REF_NOT_FOUND;
	}
	if (n != 2 * PIV_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin_format_ok(d) || !pin_format_ok(d + PIV_PIN_LEN))
		return SW_BAD_DATA;
	sw = check_secret(v, ref, left, max, d);
	if (sw == SW_OK) {
		memcpy(ref, d + PIV_PIN_LEN, PIV_PIN_LEN);
		v->dirty = true;
	}
	return sw;
}

static uint16_t do_reset_retry(struct vcard *v, const uint8_t *d, size_t n,
			       uint8_t p1, uint8_t p2)
{
	uint16_t sw;

	if (p1 != 0x00)
		return SW_BAD_P1P2;
	if (p2 != PIV_REF_PIN)
		return SW_REF_NOT_FOUND;
	if (n != 2 * PIV_PIN_LEN)
		return SW_WRONG_LENGTH;
	if (!pin_format_ok(d) || !pin_format_ok(d + PIV_PIN_LEN))
		return SW_BAD_DATA;
	sw = check_secret(v, v->puk, &v->puk_left, v->puk_retries, d);
	if (sw != SW_OK)
		return sw;
	memcpy(v->pin, d + PIV_PIN_LEN, PIV_PIN_LEN);
	v->pin_left = v->pin_retries;
	v->pin_ok = false;
	v->dirty = true;
	return SW_OK;
}

/* FASC-N characters: 4 data bits, least significant first, then odd
 * parity; 40 of them packed most significant bit first into 25 bytes. */
#define FASCN_SS 0xb
#define FASCN_FS 0xd
#define FASCN_ES 0xf

static void fascn_put(uint8_t out[25], unsigned idx, unsigned ch)
{
	unsigned bits[5], ones = 0;

	for (int i = 0; i < 4; i++) {
		bits[i] = (ch >> i) & 1;
		ones += bits[i];
	}
	bits[4] = !(ones & 1);
	for (int i = 0; i < 5; i++)
		if (bits[i])
			out[(idx * 5 + (unsigned)i) / 8] |= (uint8_t)(0x80 >> ((idx * 5 + (unsigned)i) % 8));
}

/* This card's own FASC-N, its digits taken from the card's random GUID:
 * OpenSC makes the card's serial number from FASC-N bytes
 * (unless the agency code is 9999), so each card file shows its own
 * serial where an all-"unassigned" FASC-N gave every card d4d4d4d4... */
void vcard_fascn(const uint8_t guid[16], uint8_t out[25])
{
	/* agency 4, system 4, credential 6, CS 1, ICI 1, PI 10, OC 1, OI 4, POA 1 */
	static const uint8_t fields[] = { 4, 4, 6, 1, 1, 10 };
	unsigned digit[32], idx = 0, lrc = 0, k = 0, ch;

	for (unsigned i = 0; i < 32; i++)
		digit[i] = ((guid[i / 2] >> (4 * (i % 2))) & 0xf) % 10;
	if (digit[0] == 9 && digit[1] == 9 && digit[2] == 9 && digit[3] == 9)
		digit[3] = 8;   /* 9999 would make OpenSC use the GUID instead */
	memset(out, 0, 25);
#define PUT(c) do { ch = (c); lrc ^= ch; fascn_put(out, idx++, ch); } while (0)
	PUT(FASCN_SS);
	for (unsigned f = 0; f < sizeof(fields); f++) {
		for (unsigned i = 0; i < fields[f]; i++)
			PUT(digit[k++]);
		if (f < 5)   /* no FS between PI and OC */
			PUT(FASCN_FS);
	}
	for (unsigned i = 0; i < 6; i++)   /* OC, OI, POA */
		PUT(digit[k++]);
	PUT(FASCN_ES);
#undef PUT
	fascn_put(out, idx, lrc);
}

static int put_chuid(struct vcard *v)
{
	uint8_t b[64];
	size_t pos = 0;
	int rc = 0;

	/* FASC-N, GUID, expiry, empty signature: enough for OpenSC's serial
	 * number, which comes from the FASC-N. */
	rc |= piv_tlv_put_header(b, sizeof(b), &pos, 0x30, 25);
	vcard_fascn(v->guid, b + pos);
	pos += 25;
	rc |= piv_tlv_put_header(b, sizeof(b), &pos, 0x34, 16);
	memcpy(b + pos, v->guid, 16);
	pos += 16;
	rc |= piv_tlv_put_header(b, sizeof(b), &pos, 0x35, 8);
	memcpy(b + pos, "20301231", 8);
	pos += 8;
	rc |= piv_tlv_put_header(b, sizeof(b), &pos, 0x3e, 0);
	rc |= piv_tlv_put_header(b, sizeof(b), &pos, 0xfe, 0);
	return rc ? -EMSGSIZE : put_tlv(v, 0x53, b, pos);
}

/* YubiKey's GET VERSION (INS FD) and GET SERIAL (INS F8), which
 * yubico-piv-tool -a status / -a version ask. The version claimed is
 * 5.2.7, before the metadata (F7) and AES management key firmware, so
 * the tool asks nothing this card does not do; the serial is the GUID's
 * first four bytes (big endian, top bit clear). */
static uint16_t do_version(struct vcard *v)
{
	static const uint8_t ver[3] = { 5, 2, 7 };

	memcpy(v->out, ver, sizeof(ver));
	v->out_len = sizeof(ver);
	return SW_OK;
}

static uint16_t do_serial(struct vcard *v)
{
	memcpy(v->out, v->guid, 4);
	v->out[0] &= 0x7f;
	v->out_len = 4;
	return SW_OK;
}

static int put_ccc(struct vcard *v)
{
	static const uint8_t ccc[] = {
		0xf0, 0x15, 0xa0, 0x00, 0x00, 0x01, 0x16, 0xff, 0x02,
		0x4b, 0x47, 0x76, 0x63, 0x61, 0x72, 0x64, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xf1, 0x01, 0x21, 0xf2, 0x01, 0x21, 0xf3, 0x00, 0xf4, 0x01,
		0x00, 0xf5, 0x01, 0x10, 0xf6, 0x00, 0xf7, 0x00, 0xfa, 0x00,
		0xfb, 0x00, 0xfc, 0x00, 0xfd, 0x00, 0xfe, 0x00 };

	return put_tlv(v, 0x53, ccc, sizeof(ccc));
}

static int put_cert(struct vcard *v)
{
	static const uint8_t tail[] = { 0x71, 0x01, 0x00, 0xfe, 0x00 };
	size_t inner = v->cert_len + sizeof(tail);
	int rc;

	/* 70 header is at most 4 bytes for our size limit. */
	inner += v->cert_len < 0x80 ? 2 : v->cert_len <= 0xff ? 3 : 4;
	rc = piv_tlv_put_header(v->out, sizeof(v->out), &v->out_len, 0x53, inner);
	if (rc == 0)
		rc = put_tlv(v, 0x70, v->cert, v->cert_len);
	if (rc == 0 && sizeof(v->out) - v->out_len >= sizeof(tail)) {
		memcpy(v->out + v->out_len, tail, sizeof(tail));
		v->out_len += sizeof(tail);
	} else if (rc == 0) {
		rc = -EMSGSIZE;
	}
	return rc;
}

static uint16_t do_get_data(struct vcard *v, const uint8_t *d, size_t n,
			    uint8_t p1, uint8_t p2)
{
	static const uint8_t disc[] = { 0x4f, 0x0b, 0xa0, 0x00, 0x00, 0x03,
		0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00, 0x5f, 0x2f, 0x02,
		0x40, 0x00 };
	const uint8_t *t;
	size_t tl;
	uint32_t tag = 0;
	int rc;

	if (p1 != 0x3f || p2 != 0xff)
		return SW_BAD_P1P2;
	if (piv_tlv_find(d, n, 0x5c, &t, &tl) || tl == 0 || tl > 3)
		return SW_BAD_DATA;
	for (size_t i = 0; i < tl; i++)
		tag = tag << 8 | t[i];
	if (tag == PIV_TAG_DISCOVERY)
		rc = put_tlv(v, 0x7e, disc, sizeof(disc));
	else if (tag == PIV_TAG_CHUID)
		rc = put_chuid(v);
	else if (tag == PIV_TAG_CCC)
		rc = put_ccc(v);
	else if (tag == PIV_TAG_CERT_9A && v->cert_len)
		rc = put_cert(v);
	else
		return SW_NOT_FOUND;
	return rc ? SW_MEMORY : SW_OK;
}

/* ECDSA over the digest as given (no hashing here: the host hashed). */
static int sign_digest(EVP_PKEY *key, const uint8_t *dg, size_t n,
		       uint8_t *sig, size_t *slen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	int rc = -EIO;

	if (ctx && EVP_PKEY_sign_init(ctx) == 1 &&
	    EVP_PKEY_sign(ctx, sig, slen, dg, n) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

static uint16_t do_gen_auth(struct vcard *v, const uint8_t *d, size_t n,
			    uint8_t p1, uint8_t p2)
{
	const uint8_t *in, *chal, *resp;
	size_t inl, chl, rl;
	uint8_t sig[PIV_SIG_MAX + 8], body[PIV_SIG_MAX + 8];
	size_t slen = sizeof(sig), pos = 0;

	if (p2 != PIV_KEY_AUTH)
		return SW_REF_NOT_FOUND;
	if (!v->key)
		return SW_REF_NOT_FOUND;
	if (p1 != PIV_ALG_ECC_P256)
		return SW_BAD_P1P2;
	if (piv_tlv_find(d, n, 0x7c, &in, &inl) ||
	    piv_tlv_find(in, inl, 0x81, &chal, &chl) ||
	    piv_tlv_find(in, inl, 0x82, &resp, &rl) || rl != 0 ||
	    chl != PIV_DIGEST_LEN)
		return SW_BAD_DATA;
	if (!v->pin_ok)
		return SW_NOT_SATISFIED;
	if (sign_digest(v->key, chal, chl, sig, &slen) || slen > PIV_SIG_MAX)
		return SW_MEMORY;
	if (piv_tlv_put_header(body, sizeof(body), &pos, 0x82, slen))
		return SW_MEMORY;
	memcpy(body + pos, sig, slen);
	return put_tlv(v, 0x7c, body, pos + slen) ? SW_MEMORY : SW_OK;
}

static uint16_t dispatch(struct vcard *v, uint8_t ins, uint8_t p1, uint8_t p2,
			 const uint8_t *d, size_t n)
{
	switch (ins) {
	case 0xa4: return do_select(v, d, n, p1);
	case 0x20: return do_verify(v, d, n, p1, p2);
	case 0x24: return do_change(v, d, n, p1, p2);
	case 0x2c: return do_reset_retry(v, d, n, p1, p2);
	case 0xcb: return do_get_data(v, d, n, p1, p2);
	case 0x87: return do_gen_auth(v, d, n, p1, p2);
	case 0xfd: return do_version(v);
	case 0xf8: return do_serial(v);
	default: return SW_INS;
	}
}

/* Sends the next chunk of v->out (at most le, 0 = 256) with 61XX/9000. */
static void send_chunk(struct vcard *v, size_t le, uint8_t *out, size_t *olen)
{
	size_t left = v->out_len - v->out_off;
	size_t take = left < le ? left : le;

	memcpy(out, v->out + v->out_off, take);
	v->out_off += take;
	left -= take;
	out[take] = left ? 0x61 : 0x90;
	out[take + 1] = left ? (uint8_t)(left > 0xff ? 0 : left) : 0x00;
	*olen = take + 2;
	if (!left)
		v->out_len = v->out_off = 0;
}

/* Splits a short C-APDU into header, data and whether Le is present. */
static int split(const uint8_t *in, size_t n, const uint8_t **d, size_t *dn,
		 size_t *le)
{
	*d = NULL;
	*dn = 0;
	*le = CHUNK;
	if (n == 4)
		return 0;
	if (n == 5) {
		*le = in[4] ? in[4] : CHUNK;
		return 0;
	}
	if (in[4] == 0 || (size_t)in[4] + 5 > n || (size_t)in[4] + 6 < n)
		return -EBADMSG;   /* extended length is not supported */
	*d = in + 5;
	*dn = in[4];
	if (n == (size_t)in[4] + 6 && in[n - 1])
		*le = in[n - 1];
	return 0;
}

static void status(uint8_t *out, size_t *olen, uint16_t sw)
{
	out[0] = (uint8_t)(sw >> 8);
	out[1] = (uint8_t)sw;
	*olen = 2;
}

int vcard_apdu(struct vcard *v, const uint8_t *in, size_t n, uint8_t *out,
	       size_t cap, size_t *out_len)
{
	const uint8_t *d;
	size_t dn, le;
	uint16_t sw;
	uint8_t cla, ins;

	if (cap < CHUNK + 2)
		return -EINVAL;
	if (n < 4 || split(in, n, &d, &dn, &le)) {
		status(out, out_len, SW_WRONG_LENGTH);
		return 0;
	}
	cla = in[0], ins = in[1];
	if (cla != 0x00 && cla != 0x10) {
		status(out, out_len, SW_CLA);
		return 0;
	}
	if (ins == 0xc0 && cla == 0x00) {
		if (v->out_len > v->out_off)
			send_chunk(v, le, out, out_len);
		else
			status(out, out_len, SW_NO_PENDING);
		return 0;
	}
	v->out_len = v->out_off = 0;
	if (v->chain_len && (ins != v->chain_ins || in[2] != v->chain_p1 ||
			     in[3] != v->chain_p2))
		v->chain_len = 0;   /* a different command abandons a chain */
	if (dn > sizeof(v->chain) - v->chain_len) {
		v->chain_len = 0;
		status(out, out_len, SW_WRONG_LENGTH);
		return 0;
	}
	if (dn)
		memcpy(v->chain + v->chain_len, d, dn);
	v->chain_len += dn;
	if (cla == 0x10) {
		v->chain_ins = ins, v->chain_p1 = in[2], v->chain_p2 = in[3];
		status(out, out_len, SW_OK);
		return 0;
	}
	sw = dispatch(v, ins, in[2], in[3], v->chain, v->chain_len);
	OPENSSL_cleanse(v->chain, v->chain_len);
	v->chain_len = 0;
	if (sw == SW_OK && v->out_len)
		send_chunk(v, le, out, out_len);
	else
		status(out, out_len, sw);
	if (sw != SW_OK)
		v->out_len = 0;
	return 0;
}
