/* SPDX-License-Identifier: MIT */
/* A PIV card over PC/SC: see piv_card.h. */
#include "piv_card.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* Sends one built APDU and follows 61XX with GET RESPONSE until done. */
static int send_apdu(struct piv_card *c, const struct piv_apdu *a,
		     struct piv_resp *r, struct kg_err *e)
{
	uint8_t buf[PIV_APDU_MAX];
	struct piv_apdu gr;
	const struct piv_apdu *cur = a;
	size_t n;
	uint8_t le;
	int rc;

	piv_resp_init(r);
	for (;;) {
		rc = piv_pcsc_transmit(&c->t, cur->buf, cur->len, buf,
				       sizeof(buf), &n, e);
		if (rc)
			break;
		rc = piv_resp_feed(r, buf, n, &le);
		if (rc <= 0)
			break;
		piv_build_get_response(&gr, le);
		cur = &gr;
	}
	if (rc == -EBADMSG)
		kg_err_set(e, "card answered %zu bytes (no status word)", n);
	else if (rc == -EMSGSIZE)
		kg_err_set(e, "card answer longer than %d bytes", PIV_RESP_MAX);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int piv_card_exchange(struct piv_card *c, uint8_t ins, uint8_t p1,
		      uint8_t p2, const uint8_t *data, size_t n, int with_le,
		      struct piv_resp *r, struct kg_err *e)
{
	struct piv_apdu a;
	size_t off = 0, next;
	int rc;

	do {
		rc = piv_build_segment(&a, ins, p1, p2, data, n, off, &next,
				       with_le);
		if (rc)
			return rc;
		rc = send_apdu(c, &a, r, e);
		if (rc)
			return rc;
		if (next < n && r->sw != 0x9000)
			return 0;   /* a refused segment ends the chain */
		off = next;
	} while (off < n);
	return 0;
}

/* Turns a final status word into -errno + message. */
static int sw_error(uint16_t sw, const char *what, int *tries,
		    struct kg_err *e)
{
	unsigned x;
	enum piv_sw_kind k = piv_sw_kind(sw, &x);
	int rc = piv_sw_errno(sw);

	if (k == PIV_SW_WRONG_PIN && tries)
		*tries = (int)x;
	if (k == PIV_SW_BLOCKED && tries)
		*tries = 0;
	if (k == PIV_SW_WRONG_PIN)
		kg_err_set(e, "%s: wrong %s, %u tries left", what,
			   strstr(what, "PUK") ? "PUK" : "PIN", x);
	else if (rc)
		kg_err_set(e, "%s: %s (SW %04X)", what, piv_sw_text(k), sw);
	return rc;
}

int piv_card_open(struct piv_card *c, const char *reader_substr,
		  struct kg_err *e)
{
	struct piv_resp r;
	struct piv_apdu a;
	int rc;

	rc = piv_pcsc_open(&c->t, reader_substr, e);
	if (rc)
		return rc;
	piv_build_select(&a);
	rc = send_apdu(c, &a, &r, e);
	if (rc)
		goto fail;
	if (r.sw != 0x9000 || piv_parse_select(r.data, r.len) != 0) {
		kg_err_set(e, "not a PIV card (SELECT answered SW %04X)", r.sw);
		rc = -EPROTONOSUPPORT;
		goto fail;
	}
	return 0;
fail:
	piv_pcsc_close(&c->t);
	return rc;
}

void piv_card_close(struct piv_card *c)
{
	piv_pcsc_close(&c->t);
}

const char *piv_card_reader(const struct piv_card *c)
{
	return c->t.reader;
}

int piv_card_pin_status(struct piv_card *c, int *tries, int *verified,
			struct kg_err *e)
{
	struct piv_resp r;
	struct piv_apdu a;
	unsigned x;
	int rc;

	piv_build_verify(&a, NULL);
	rc = send_apdu(c, &a, &r, e);
	if (rc)
		return rc;
	*verified = r.sw == 0x9000;
	switch (piv_sw_kind(r.sw, &x)) {
	case PIV_SW_OK: *tries = -1; return 0;  /* verified: count unknown */
	case PIV_SW_WRONG_PIN: *tries = (int)x; return 0;
	case PIV_SW_BLOCKED: *tries = 0; return 0;
	default: return sw_error(r.sw, "PIN status", NULL, e);
	}
}

static int pin_command(struct piv_card *c, struct piv_apdu *a,
		       const char *what, int *tries, struct kg_err *e)
{
	struct piv_resp r;
	int rc;

	rc = send_apdu(c, a, &r, e);
	OPENSSL_cleanse(a->buf, sizeof(a->buf));
	if (rc)
		return rc;
	return sw_error(r.sw, what, tries, e);
}

int piv_card_verify_pin(struct piv_card *c, const char *pin, int *tries,
			struct kg_err *e)
{
	struct piv_apdu a;

	if (piv_build_verify(&a, pin)) {
		kg_err_set(e, "the PIN must be 6 to 8 digits");
		return -EINVAL;
	}
	return pin_command(c, &a, "VERIFY PIN", tries, e);
}

int piv_card_change_pin(struct piv_card *c, const char *old_pin,
			const char *new_pin, int *tries, struct kg_err *e)
{
	struct piv_apdu a;

	if (piv_build_change_ref(&a, PIV_REF_PIN, old_pin, new_pin)) {
		kg_err_set(e, "PINs must be 6 to 8 digits");
		return -EINVAL;
	}
	return pin_command(c, &a, "CHANGE PIN", tries, e);
}

int piv_card_unblock_pin(struct piv_card *c, const char *puk,
			 const char *new_pin, int *tries, struct kg_err *e)
{
	struct piv_apdu a;

	if (piv_build_reset_retry(&a, puk, new_pin)) {
		kg_err_set(e, "PUK and PIN must be 6 to 8 digits");
		return -EINVAL;
	}
	return pin_command(c, &a, "RESET RETRY COUNTER (PUK)", tries, e);
}

int piv_card_read_cert(struct piv_card *c, uint8_t **der, size_t *len,
		       struct kg_err *e)
{
	struct piv_resp *r;
	struct piv_apdu a;
	const uint8_t *cert;
	size_t clen;
	int rc;

	*der = NULL;
	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	piv_build_get_data(&a, PIV_TAG_CERT_9A);
	rc = send_apdu(c, &a, r, e);
	if (rc)
		goto out;
	if (r->sw == 0x6a82) {
		kg_err_set(e, "no certificate in slot 9A");
		rc = -ENOENT;
		goto out;
	}
	rc = sw_error(r->sw, "GET DATA certificate 9A", NULL, e);
	if (rc)
		goto out;
	rc = piv_parse_cert_object(r->data, r->len, &cert, &clen);
	if (rc) {
		kg_err_set(e, rc == -ENOENT ? "no certificate in slot 9A" :
			   "malformed certificate object in slot 9A");
		goto out;
	}
	*der = malloc(clen);
	if (!*der) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*der, cert, clen);
	*len = clen;
out:
	free(r);
	return rc;
}

int piv_card_sign(struct piv_card *c, const uint8_t digest[PIV_DIGEST_LEN],
		  uint8_t sig[PIV_SIG_MAX], size_t *sig_len, struct kg_err *e)
{
	struct piv_resp r;
	struct piv_apdu a;
	const uint8_t *s;
	size_t slen;
	int rc;

	piv_build_sign(&a, PIV_KEY_AUTH, digest);
	rc = send_apdu(c, &a, &r, e);
	if (rc)
		return rc;
	rc = sw_error(r.sw, "GENERAL AUTHENTICATE (sign)", NULL, e);
	if (rc)
		return rc;
	rc = piv_parse_sign_response(r.data, r.len, &s, &slen);
	if (rc) {
		kg_err_set(e, "malformed signature answer from the card");
		return -EBADMSG;
	}
	memcpy(sig, s, slen);
	*sig_len = slen;
	return 0;
}

int piv_card_wait_removed(struct piv_card *c, unsigned timeout_ms,
			  struct kg_err *e)
{
	return piv_pcsc_wait_removed(&c->t, timeout_ms, e);
}
