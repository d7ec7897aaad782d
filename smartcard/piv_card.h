/* SPDX-License-Identifier: MIT */
/*
 * A PIV card in a PC/SC reader, at the level the client needs: connect
 * by reader substring and select PIV, ask PIN tries, verify the PIN,
 * read the slot 9A certificate, sign a 32-byte digest with the slot 9A
 * P-256 key, change or unblock the PIN, and notice removal. Response
 * chaining (61XX / GET RESPONSE) and command chaining happen here.
 *
 * Every function returns 0 or -errno and, given e, a message that never
 * contains a PIN:
 *   -EHOSTDOWN no pcscd, -ENODEV no reader, -ENOMEDIUM no card,
 *   -EPROTONOSUPPORT not a PIV card, -EACCES wrong PIN/PUK (*tries says
 *   how many are left), -EKEYREVOKED PIN (or PUK) blocked, -EPERM PIN not
 *   verified, -ENOENT no certificate, -ECONNRESET card removed
 *   mid-operation, -EBADMSG malformed answer, -EPROTO/-EIO other failures.
 */
#ifndef KG_PIV_CARD_H
#define KG_PIV_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "piv_apdu.h"
#include "piv_pcsc.h"

struct piv_card {
	struct piv_pcsc t;
};

/* Connects to the first reader containing reader_substr (NULL = any) and
 * selects the PIV application. */
int piv_card_open(struct piv_card *c, const char *reader_substr,
		  struct kg_err *e);
void piv_card_close(struct piv_card *c);
/* The reader's full name (owned by c). */
const char *piv_card_reader(const struct piv_card *c);

/* Tries left without spending one: *tries (0 = blocked); *verified = 1
 * if the PIN is already verified in this session. */
int piv_card_pin_status(struct piv_card *c, int *tries, int *verified,
			struct kg_err *e);
/* On -EACCES *tries is what is left; tries may be NULL. */
int piv_card_verify_pin(struct piv_card *c, const char *pin, int *tries,
			struct kg_err *e);
int piv_card_change_pin(struct piv_card *c, const char *old_pin,
			const char *new_pin, int *tries, struct kg_err *e);
/* RESET RETRY COUNTER: unblocks with the PUK and sets a new PIN. */
int piv_card_unblock_pin(struct piv_card *c, const char *puk,
			 const char *new_pin, int *tries, struct kg_err *e);

/* *der is malloc'd (caller frees) and holds the slot 9A certificate. */
int piv_card_read_cert(struct piv_card *c, uint8_t **der, size_t *len,
		       struct kg_err *e);
/* Signs digest with the slot 9A key (PIN verified first); sig gets the
 * DER ECDSA-Sig-Value (at most PIV_SIG_MAX bytes). */
int piv_card_sign(struct piv_card *c, const uint8_t digest[PIV_DIGEST_LEN],
		  uint8_t sig[PIV_SIG_MAX], size_t *sig_len, struct kg_err *e);

/* 1 if the card left the reader within timeout_ms, 0 if still there. */
int piv_card_wait_removed(struct piv_card *c, unsigned timeout_ms,
			  struct kg_err *e);

/* Sends one command (chaining it if longer than 255 bytes) and collects
 * the whole answer into r (GET RESPONSE loop). Returns 0 whatever the
 * final status word (r->sw); -errno only for transport failures. */
int piv_card_exchange(struct piv_card *c, uint8_t ins, uint8_t p1,
		      uint8_t p2, const uint8_t *data, size_t n, int with_le,
		      struct piv_resp *r, struct kg_err *e);

#endif
