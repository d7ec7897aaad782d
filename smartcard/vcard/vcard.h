/* SPDX-License-Identifier: MIT */
/*
 * knockgate-vcard: a virtual PIV card. struct vcard holds what the card
 * file stores (key, certificate, PIN, PUK, retry counters) and the
 * session state that a power cycle clears (PIN verified, chaining).
 *
 * vcard_apdu() is the card's whole command interpreter: bytes in, bytes
 * out, no I/O, so the fuzzer drives it directly. When it changes what
 * must persist (a retry counter, the PIN) it sets v->dirty; the caller
 * saves the card file BEFORE sending the answer, so a block survives a
 * crash or restart.
 */
#ifndef KG_VCARD_H
#define KG_VCARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "err.h"
#include "piv_apdu.h"

#define VCARD_CERT_MAX 2040          /* hex fits one card-file line */
#define VCARD_OUT_MAX (PIV_RESP_MAX + 16)
#define VCARD_IN_MAX PIV_RESP_MAX
#define VCARD_ATR_MAX 33

struct vcard {
	/* persistent (card file) */
	uint8_t pin[PIV_PIN_LEN];        /* FF padded */
	uint8_t puk[PIV_PIN_LEN];
	unsigned pin_retries, puk_retries;   /* maximum */
	unsigned pin_left, puk_left;
	uint8_t guid[16];
	EVP_PKEY *key;                   /* owned; NULL = empty slot 9A */
	uint8_t cert[VCARD_CERT_MAX];
	size_t cert_len;                 /* 0 = no certificate */
	/* session */
	bool pin_ok;
	bool dirty;
	uint8_t chain_ins, chain_p1, chain_p2;
	size_t chain_len;                /* command chaining in progress */
	uint8_t chain[VCARD_IN_MAX];
	uint8_t out[VCARD_OUT_MAX];      /* pending response chaining */
	size_t out_len, out_off;
};

/* Zeroed card with default counters; no key, no certificate. */
void vcard_init(struct vcard *v);
/* Frees the key and wipes secrets; v may be reused after vcard_init. */
void vcard_free(struct vcard *v);
/* Power on/off/reset: clears the session state. */
void vcard_reset(struct vcard *v);
/* The card's ATR (T=1); returns its length. */
size_t vcard_atr(uint8_t atr[VCARD_ATR_MAX]);

/* Processes one C-APDU; writes data + SW to out (cap >= 258) and sets
 * *out_len. Returns 0; -EINVAL only if cap is too small. Malformed
 * commands get an error status word, never a failure. */
int vcard_apdu(struct vcard *v, const uint8_t *in, size_t n, uint8_t *out,
	       size_t cap, size_t *out_len);

/* The card's FASC-N (CHUID tag 30), derived from its GUID so each card
 * shows its own serial number in OpenSC. */
void vcard_fascn(const uint8_t guid[16], uint8_t out[25]);

/* Card file (docs/smartcards.md). load: 0, -errno of I/O, -EINVAL with e
 * set for a malformed file. save: written to a temporary file in the same
 * directory, fsync'd, renamed over path, mode 0600; 0 or -errno. */
int vcard_load(struct vcard *v, const char *path, struct kg_err *e);
int vcard_save(const struct vcard *v, const char *path, struct kg_err *e);
/* For "init": key and certificate from PEM files; the key must be EC
 * P-256 and match the certificate. */
int vcard_set_key_cert(struct vcard *v, const char *key_pem,
		       const char *cert_pem, struct kg_err *e);

#endif
