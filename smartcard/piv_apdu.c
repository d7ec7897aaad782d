/* SPDX-License-Identifier: MIT */
/* PIV command building and response parsing: see piv_apdu.h. */
#include "piv_apdu.h"

#include <errno.h>
#include <string.h>

#include "buf.h"

const uint8_t piv_aid[11] = { 0xa0, 0x00, 0x00, 0x03, 0x08, 0x00,
			      0x00, 0x10, 0x00, 0x01, 0x00 };

enum piv_sw_kind piv_sw_kind(uint16_t sw, unsigned *arg)
{
	if (arg)
		*arg = 0;
	if ((sw & 0xff00) == 0x6100) {
		if (arg)
			*arg = sw & 0xff;
		return PIV_SW_MORE;
	}
	if ((sw & 0xfff0) == 0x63c0) {
		if (arg)
			*arg = sw & 0x0f;
		return PIV_SW_WRONG_PIN;
	}
	switch (sw) {
	case 0x9000: return PIV_SW_OK;
	case 0x6700: return PIV_SW_WRONG_LENGTH;
	case 0x6982: return PIV_SW_NOT_SATISFIED;
	case 0x6983: return PIV_SW_BLOCKED;
	case 0x6a80: return PIV_SW_BAD_DATA;
	case 0x6a82: return PIV_SW_NOT_FOUND;
	case 0x6a86: return PIV_SW_BAD_P1P2;
	case 0x6a88: return PIV_SW_REF_NOT_FOUND;
	case 0x6d00: return PIV_SW_INS_UNSUPPORTED;
	case 0x6e00: return PIV_SW_CLA_UNSUPPORTED;
	default: return PIV_SW_OTHER;
	}
}

const char *piv_sw_text(enum piv_sw_kind k)
{
	static const char *const names[] = {
		[PIV_SW_OK] = "success",
		[PIV_SW_MORE] = "more data",
		[PIV_SW_WRONG_PIN] = "wrong PIN",
		[PIV_SW_WRONG_LENGTH] = "wrong length",
		[PIV_SW_NOT_SATISFIED] = "PIN not verified",
		[PIV_SW_BLOCKED] = "blocked",
		[PIV_SW_BAD_DATA] = "bad data",
		[PIV_SW_NOT_FOUND] = "not found",
		[PIV_SW_BAD_P1P2] = "bad P1/P2",
		[PIV_SW_REF_NOT_FOUND] = "reference not found",
		[PIV_SW_INS_UNSUPPORTED] = "instruction not supported",
		[PIV_SW_CLA_UNSUPPORTED] = "class not supported",
		[PIV_SW_OTHER] = "unexpected status",
	};

	if ((unsigned)k > PIV_SW_OTHER)
		return "unexpected status";
	return names[k];
}

int piv_sw_errno(uint16_t sw)
{
	switch (piv_sw_kind(sw, NULL)) {
	case PIV_SW_OK: return 0;
	case PIV_SW_WRONG_PIN: return -EACCES;
	case PIV_SW_BLOCKED: return -EKEYREVOKED;
	case PIV_SW_NOT_SATISFIED: return -EPERM;
	case PIV_SW_NOT_FOUND:
	case PIV_SW_REF_NOT_FOUND: return -ENOENT;
	case PIV_SW_INS_UNSUPPORTED:
	case PIV_SW_CLA_UNSUPPORTED: return -EOPNOTSUPP;
	case PIV_SW_WRONG_LENGTH:
	case PIV_SW_BAD_DATA:
	case PIV_SW_BAD_P1P2: return -EINVAL;
	default: return -EPROTO;
	}
}

int piv_build(struct piv_apdu *a, uint8_t cla, uint8_t ins, uint8_t p1,
	      uint8_t p2, const uint8_t *data, size_t n, int with_le)
{
	struct kg_writer w;
	int rc = 0;

	a->len = 0;
	if (n > PIV_CHUNK_MAX || (n && !data))
		return -EINVAL;
	kg_writer_init(&w, a->buf, sizeof(a->buf));
	rc |= kg_put_u8(&w, cla);
	rc |= kg_put_u8(&w, ins);
	rc |= kg_put_u8(&w, p1);
	rc |= kg_put_u8(&w, p2);
	if (n) {
		rc |= kg_put_u8(&w, (uint8_t)n);
		rc |= kg_put_bytes(&w, data, n);
	}
	if (with_le)
		rc |= kg_put_u8(&w, 0);
	if (rc)
		return -EMSGSIZE;
	a->len = w.pos;
	return 0;
}

int piv_build_select(struct piv_apdu *a)
{
	/* The 9-byte prefix, as OpenSC sends: cards answer any version. */
	return piv_build(a, 0x00, 0xa4, 0x04, 0x00, piv_aid, 9, 1);
}

int piv_pin_pad(const char *pin, uint8_t out[PIV_PIN_LEN])
{
	size_t n = pin ? strnlen(pin, PIV_PIN_LEN + 1) : 0;

	if (n < 6 || n > PIV_PIN_LEN)
		return -EINVAL;
	memset(out, 0xff, PIV_PIN_LEN);
	for (size_t i = 0; i < n; i++) {
		if (pin[i] < '0' || pin[i] > '9')
			return -EINVAL;
		out[i] = (uint8_t)pin[i];
	}
	return 0;
}

int piv_build_verify(struct piv_apdu *a, const char *pin)
{
	uint8_t p[PIV_PIN_LEN];
	int rc;

	if (!pin)
		return piv_build(a, 0x00, 0x20, 0x00, PIV_REF_PIN, NULL, 0, 0);
	rc = piv_pin_pad(pin, p);
	if (rc == 0)
		rc = piv_build(a, 0x00, 0x20, 0x00, PIV_REF_PIN, p, sizeof(p), 0);
	memset(p, 0, sizeof(p));
	return rc;
}

int piv_build_logout(struct piv_apdu *a)
{
	return piv_build(a, 0x00, 0x20, 0xff, PIV_REF_PIN, NULL, 0, 0);
}

static int build_two_pins(struct piv_apdu *a, uint8_t ins, uint8_t ref,
			  const char *first, const char *second)
{
	uint8_t p[2 * PIV_PIN_LEN];
	int rc;

	rc = piv_pin_pad(first, p);
	if (rc == 0)
		rc = piv_pin_pad(second, p + PIV_PIN_LEN);
	if (rc == 0)
		rc = piv_build(a, 0x00, ins, 0x00, ref, p, sizeof(p), 0);
	memset(p, 0, sizeof(p));
	return rc;
}

int piv_build_change_ref(struct piv_apdu *a, uint8_t ref, const char *old,
			 const char *new_value)
{
	if (ref != PIV_REF_PIN && ref != PIV_REF_PUK)
		return -EINVAL;
	return build_two_pins(a, 0x24, ref, old, new_value);
}

int piv_build_reset_retry(struct piv_apdu *a, const char *puk,
			  const char *new_pin)
{
	return build_two_pins(a, 0x2c, PIV_REF_PIN, puk, new_pin);
}

static size_t tag_len(uint32_t tag)
{
	return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

int piv_tlv_put_header(uint8_t *out, size_t cap, size_t *pos, uint32_t tag,
		       size_t len)
{
	struct kg_writer w;
	size_t tl = tag_len(tag);
	int rc = 0;

	if (tag > 0xffffff || len > 0xffffff)
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	w.pos = *pos;
	for (size_t i = tl; i > 0; i--)
		rc |= kg_put_u8(&w, (uint8_t)(tag >> (8 * (i - 1))));
	if (len < 0x80) {
		rc |= kg_put_u8(&w, (uint8_t)len);
	} else if (len <= 0xff) {
		rc |= kg_put_u8(&w, 0x81);
		rc |= kg_put_u8(&w, (uint8_t)len);
	} else if (len <= 0xffff) {
		rc |= kg_put_u8(&w, 0x82);
		rc |= kg_put_u16(&w, (uint16_t)len);
	} else {
		rc |= kg_put_u8(&w, 0x83);
		rc |= kg_put_u8(&w, (uint8_t)(len >> 16));
		rc |= kg_put_u16(&w, (uint16_t)len);
	}
	if (rc)
		return -EMSGSIZE;
	*pos = w.pos;
	return 0;
}

int piv_build_get_data(struct piv_apdu *a, uint32_t tag)
{
	uint8_t d[5];
	size_t pos = 0;
	size_t tl = tag_len(tag);

	if (tag == 0 || tag > 0xffffff)
		return -EINVAL;
	d[pos++] = 0x5c;
	d[pos++] = (uint8_t)tl;
	for (size_t i = tl; i > 0; i--)
		d[pos++] = (uint8_t)(tag >> (8 * (i - 1)));
	return piv_build(a, 0x00, 0xcb, 0x3f, 0xff, d, pos, 1);
}

int piv_build_get_response(struct piv_apdu *a, uint8_t le)
{
	a->len = 0;
	a->buf[0] = 0x00;
	a->buf[1] = 0xc0;
	a->buf[2] = 0x00;
	a->buf[3] = 0x00;
	a->buf[4] = le;
	a->len = 5;
	return 0;
}

int piv_build_sign(struct piv_apdu *a, uint8_t key_ref,
		   const uint8_t digest[PIV_DIGEST_LEN])
{
	uint8_t d[4 + 2 + PIV_DIGEST_LEN];
	size_t pos = 0;

	d[pos++] = 0x7c;
	d[pos++] = 2 + 2 + PIV_DIGEST_LEN;
	d[pos++] = 0x82;               /* response: the signature */
	d[pos++] = 0x00;
	d[pos++] = 0x81;               /* challenge: the digest */
	d[pos++] = PIV_DIGEST_LEN;
	memcpy(d + pos, digest, PIV_DIGEST_LEN);
	pos += PIV_DIGEST_LEN;
	return piv_build(a, 0x00, 0x87, PIV_ALG_ECC_P256, key_ref, d, pos, 1);
}

int piv_build_segment(struct piv_apdu *a, uint8_t ins, uint8_t p1, uint8_t p2,
		      const uint8_t *data, size_t n, size_t off, size_t *next,
		      int with_le)
{
	size_t take;
	int last;
	int rc;

	if (off > n)
		return -EINVAL;
	take = n - off > PIV_CHUNK_MAX ? PIV_CHUNK_MAX : n - off;
	last = off + take == n;
	rc = piv_build(a, last ? 0x00 : 0x10, ins, p1, p2, data + off, take,
		       last && with_le);
	if (rc == 0)
		*next = off + take;
	return rc;
}

void piv_resp_init(struct piv_resp *r)
{
	r->len = 0;
	r->sw = 0;
}

int piv_resp_feed(struct piv_resp *r, const uint8_t *rapdu, size_t n,
		  uint8_t *le)
{
	size_t dlen;
	unsigned more;

	if (n < 2)
		return -EBADMSG;
	dlen = n - 2;
	if (dlen > sizeof(r->data) - r->len)
		return -EMSGSIZE;
	memcpy(r->data + r->len, rapdu, dlen);
	r->len += dlen;
	r->sw = (uint16_t)(rapdu[n - 2] << 8 | rapdu[n - 1]);
	if (piv_sw_kind(r->sw, &more) == PIV_SW_MORE) {
		*le = (uint8_t)more;
		return 1;
	}
	return 0;
}

static int get_tag(struct kg_reader *r, uint32_t *tag)
{
	uint8_t b;
	int n = 1;

	if (kg_get_u8(r, &b))
		return -EBADMSG;
	*tag = b;
	if ((b & 0x1f) != 0x1f)
		return 0;
	do {
		if (++n > 3 || kg_get_u8(r, &b))
			return -EBADMSG;
		*tag = *tag << 8 | b;
	} while (b & 0x80);
	return 0;
}

static int get_len(struct kg_reader *r, size_t *len)
{
	uint8_t b, nb;

	if (kg_get_u8(r, &b))
		return -EBADMSG;
	if (b < 0x80) {
		*len = b;
		return 0;
	}
	nb = b & 0x7f;
	if (nb == 0 || nb > 3)
		return -EBADMSG;    /* indefinite or absurd */
	*len = 0;
	for (uint8_t i = 0; i < nb; i++) {
		if (kg_get_u8(r, &b))
			return -EBADMSG;
		*len = *len << 8 | b;
	}
	return 0;
}

int piv_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint32_t *tag,
		 const uint8_t **val, size_t *vlen)
{
	struct kg_reader r;

	if (*pos > n)
		return -EBADMSG;
	kg_reader_init(&r, p, n);
	r.pos = *pos;
	if (get_tag(&r, tag) || get_len(&r, vlen) ||
	    kg_get_view(&r, val, *vlen))
		return -EBADMSG;
	*pos = r.pos;
	return 0;
}

int piv_tlv_find(const uint8_t *p, size_t n, uint32_t tag,
		 const uint8_t **val, size_t *vlen)
{
	size_t pos = 0;
	uint32_t t;

	while (pos < n) {
		if (piv_tlv_next(p, n, &pos, &t, val, vlen))
			return -EBADMSG;
		if (t == tag)
			return 0;
	}
	return -ENOENT;
}

/* Reads exactly one TLV of the given tag covering all of p[0..n). */
static int outer(const uint8_t *p, size_t n, uint32_t tag,
		 const uint8_t **val, size_t *vlen)
{
	size_t pos = 0;
	uint32_t t;

	if (n == 0)
		return -ENOENT;
	if (piv_tlv_next(p, n, &pos, &t, val, vlen))
		return -EBADMSG;
	if (t != tag)
		return -ENOENT;
	return pos == n ? 0 : -EBADMSG;
}

int piv_parse_select(const uint8_t *data, size_t n)
{
	static const uint8_t pix[4] = { 0x00, 0x00, 0x10, 0x00 };
	const uint8_t *v, *aid;
	size_t vlen, alen;
	int rc;

	rc = outer(data, n, 0x61, &v, &vlen);
	if (rc)
		return rc;
	rc = piv_tlv_find(v, vlen, 0x4f, &aid, &alen);
	if (rc)
		return rc;
	/* Either the PIX (00 00 10 00 01 00) or the whole AID. */
	if (alen >= 4 && !memcmp(aid, pix, 4))
		return 0;
	if (alen >= 9 && !memcmp(aid, piv_aid, 9))
		return 0;
	return -EBADMSG;
}

int piv_parse_cert_object(const uint8_t *data, size_t n,
			  const uint8_t **cert, size_t *cert_len)
{
	const uint8_t *v, *info;
	size_t vlen, ilen;
	int rc;

	rc = outer(data, n, 0x53, &v, &vlen);
	if (rc)
		return rc;
	rc = piv_tlv_find(v, vlen, 0x70, cert, cert_len);
	if (rc)
		return rc;
	if (*cert_len == 0)
		return -ENOENT;
	if (piv_tlv_find(v, vlen, 0x71, &info, &ilen) == 0 && ilen >= 1 &&
	    (info[0] & 0x01))
		return -EOPNOTSUPP;   /* gzip: we write none, refuse to inflate */
	return 0;
}

int piv_parse_sign_response(const uint8_t *data, size_t n,
			    const uint8_t **sig, size_t *sig_len)
{
	const uint8_t *v;
	size_t vlen;
	int rc;

	rc = outer(data, n, 0x7c, &v, &vlen);
	if (rc)
		return rc;
	rc = piv_tlv_find(v, vlen, 0x82, sig, sig_len);
	if (rc)
		return rc;
	if (*sig_len < 8 || *sig_len > PIV_SIG_MAX || (*sig)[0] != 0x30)
		return -EBADMSG;
	return 0;
}
