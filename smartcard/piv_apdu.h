/* SPDX-License-Identifier: MIT */
/*
 * PIV APDUs (NIST SP 800-73-4): building commands and parsing responses,
 * with no I/O and no globals, so unit tests and the fuzzer drive them
 * directly. Both the PC/SC client (piv_card.c) and the virtual card use
 * the TLV reader here; byte facts are in docs/smartcards.md.
 *
 * Errors: builders return 0 or -EMSGSIZE (does not fit) / -EINVAL (bad
 * argument, e.g. a PIN that is not 6-8 digits). Parsers return 0,
 * -EBADMSG (malformed bytes), -ENOENT (a required tag is absent),
 * -EMSGSIZE (the caller's buffer is too small) or -EOPNOTSUPP (a valid
 * but unsupported form, e.g. a gzip-compressed certificate).
 * Nothing here allocates; views point into the caller's buffers.
 */
#ifndef KG_PIV_APDU_H
#define KG_PIV_APDU_H

#include <stddef.h>
#include <stdint.h>

#define PIV_APDU_MAX 261            /* 5-byte header + 255 data + Le */
#define PIV_CHUNK_MAX 255           /* command chaining segment */
#define PIV_PIN_LEN 8               /* PIN/PUK padded with FF to 8 */
#define PIV_DIGEST_LEN 32           /* P-256 signs SHA-256 digests */
#define PIV_SIG_MAX 72              /* DER ECDSA-Sig-Value for P-256 */
#define PIV_RESP_MAX 4096           /* largest object we collect */

#define PIV_KEY_AUTH 0x9a
#define PIV_REF_PIN 0x80
#define PIV_REF_PUK 0x81
#define PIV_ALG_ECC_P256 0x11

#define PIV_TAG_CERT_9A 0x5fc105
#define PIV_TAG_CHUID 0x5fc102
#define PIV_TAG_CCC 0x5fc107
#define PIV_TAG_DISCOVERY 0x7e

extern const uint8_t piv_aid[11];

/* Status words by meaning. */
enum piv_sw_kind {
	PIV_SW_OK,              /* 9000 */
	PIV_SW_MORE,            /* 61XX: XX more bytes (00 = 256 or more) */
	PIV_SW_WRONG_PIN,       /* 63CX: X tries left */
	PIV_SW_WRONG_LENGTH,    /* 6700 */
	PIV_SW_NOT_SATISFIED,   /* 6982: PIN not verified */
	PIV_SW_BLOCKED,         /* 6983 */
	PIV_SW_BAD_DATA,        /* 6A80 */
	PIV_SW_NOT_FOUND,       /* 6A82 */
	PIV_SW_BAD_P1P2,        /* 6A86 */
	PIV_SW_REF_NOT_FOUND,   /* 6A88 */
	PIV_SW_INS_UNSUPPORTED, /* 6D00 */
	PIV_SW_CLA_UNSUPPORTED, /* 6E00 */
	PIV_SW_OTHER,
};

/* Classifies sw; *arg gets XX of 61XX or X of 63CX (else 0). arg may be NULL. */
enum piv_sw_kind piv_sw_kind(uint16_t sw, unsigned *arg);
/* A short static name for the kind ("wrong PIN", "blocked", ...). */
const char *piv_sw_text(enum piv_sw_kind k);
/* The -errno a client reports for sw: 0 ok, -EACCES wrong PIN/PUK,
 * -EKEYREVOKED blocked, -EPERM PIN not verified, -ENOENT not found,
 * -EOPNOTSUPP INS/CLA unsupported, -EINVAL bad data/P1P2/length,
 * -EPROTO anything else. */
int piv_sw_errno(uint16_t sw);

/* A built command: bytes in buf[0..len). */
struct piv_apdu {
	uint8_t buf[PIV_APDU_MAX];
	size_t len;
};

/* Generic case 1-4 short APDU; data may be NULL when n = 0 (n <= 255).
 * with_le adds Le = 00. */
int piv_build(struct piv_apdu *a, uint8_t cla, uint8_t ins, uint8_t p1,
	      uint8_t p2, const uint8_t *data, size_t n, int with_le);
int piv_build_select(struct piv_apdu *a);
/* pin NULL: the status-only VERIFY (reports tries left). */
int piv_build_verify(struct piv_apdu *a, const char *pin);
int piv_build_logout(struct piv_apdu *a);
/* ref PIV_REF_PIN or PIV_REF_PUK. */
int piv_build_change_ref(struct piv_apdu *a, uint8_t ref, const char *old,
			 const char *new_value);
int piv_build_reset_retry(struct piv_apdu *a, const char *puk,
			  const char *new_pin);
/* tag: 1 to 3 bytes (e.g. 0x5fc105, 0x7e). */
int piv_build_get_data(struct piv_apdu *a, uint32_t tag);
int piv_build_get_response(struct piv_apdu *a, uint8_t le);
int piv_build_sign(struct piv_apdu *a, uint8_t key_ref,
		   const uint8_t digest[PIV_DIGEST_LEN]);

/* PIN/PUK: 6-8 ASCII digits, FF padded; -EINVAL otherwise. */
int piv_pin_pad(const char *pin, uint8_t out[PIV_PIN_LEN]);

/* Command chaining: segment off of data (for > 255 bytes); *next is the
 * offset after it; CLA has bit 0x10 on all but the last segment. */
int piv_build_segment(struct piv_apdu *a, uint8_t ins, uint8_t p1, uint8_t p2,
		      const uint8_t *data, size_t n, size_t off, size_t *next,
		      int with_le);

/* Response chaining: collects data from successive R-APDUs. */
struct piv_resp {
	uint8_t data[PIV_RESP_MAX];
	size_t len;
	uint16_t sw;
};

void piv_resp_init(struct piv_resp *r);
/* Feeds one R-APDU (data + SW1 SW2). Returns 1 if the card has more
 * (send GET RESPONSE with *le), 0 when complete (r->sw holds the final
 * status word), -EBADMSG if shorter than 2 bytes, -EMSGSIZE if the data
 * would exceed PIV_RESP_MAX. */
int piv_resp_feed(struct piv_resp *r, const uint8_t *rapdu, size_t n,
		  uint8_t *le);

/* BER-TLV: one tag (1-3 bytes) and a definite length (up to 3 bytes). */
int piv_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint32_t *tag,
		 const uint8_t **val, size_t *vlen);
/* Finds tag among the TLVs of p[0..n) (one level). */
int piv_tlv_find(const uint8_t *p, size_t n, uint32_t tag,
		 const uint8_t **val, size_t *vlen);
/* Writes a tag (1-3 bytes) and length header; 0 or -EMSGSIZE. */
int piv_tlv_put_header(uint8_t *out, size_t cap, size_t *pos, uint32_t tag,
		       size_t len);

/* SELECT answer: 0 if it is a PIV application property template. */
int piv_parse_select(const uint8_t *data, size_t n);
/* Certificate object 53 {70 cert, 71 info}: *cert views the DER. */
int piv_parse_cert_object(const uint8_t *data, size_t n,
			  const uint8_t **cert, size_t *cert_len);
/* GENERAL AUTHENTICATE answer 7C {82 sig}: *sig views the DER signature. */
int piv_parse_sign_response(const uint8_t *data, size_t n,
			    const uint8_t **sig, size_t *sig_len);

#endif
