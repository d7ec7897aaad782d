/* SPDX-License-Identifier: MIT */
/*
 * The card's part of `knockgate connect`: open the PIV card, read its
 * certificate, get the PIN (client/pin.h) and verify it on the card before
 * anything is sent to green, so a wrong PIN or a blocked card costs no
 * knock and leaves nothing open. Afterwards the card signs control-protocol
 * transcripts (kg_card_sign is a kg_ctrl_signer_fn) and tells us when it
 * leaves the reader.
 */
#ifndef KG_CLIENT_CARD_AUTH_H
#define KG_CLIENT_CARD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "piv_card.h"

struct kg_card_auth {
	struct piv_card card;
	bool open;
	uint8_t *cert;        /* DER, owned: freed by kg_card_auth_close */
	size_t cert_len;
	int tries;            /* PIN tries left after a failed verify */
	bool dead;            /* test option: signs nothing (card "gone") */
	/* Test builds only (KG_TEST_HOOKS, tests/tools/kg-test-client): the
	 * first signature (the card proof) is saved to record_path, or taken
	 * from replay_path instead of the card. */
	const char *record_path, *replay_path;
	bool first_done;
};

/* Opens the card in the first reader whose name contains reader (NULL =
 * any), reads the slot 9A certificate and verifies the PIN from pin_file /
 * KNOCKGATE_PIN / the terminal. Errors as piv_card.h (-EACCES wrong PIN:
 * a->tries left; -EKEYREVOKED blocked) or pin.h; e gets a sentence meant
 * for the user. On error the card is closed. */
int kg_card_auth_open(struct kg_card_auth *a, const char *reader,
		      const char *pin_file, struct kg_err *e);

/* kg_ctrl_signer_fn over a struct kg_card_auth (ctx). */
int kg_card_sign(void *ctx, const uint8_t digest[32], uint8_t *sig,
		 size_t *sig_len);

/* 1 if the card left the reader within timeout_ms, 0 if still there,
 * -errno if the reader cannot be asked. */
int kg_card_removed(struct kg_card_auth *a, unsigned timeout_ms);

/* Resets the card (the PIN is no longer verified) and frees the cert. */
void kg_card_auth_close(struct kg_card_auth *a);

#endif
