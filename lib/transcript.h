/* SPDX-License-Identifier: MIT */
/*
 * The exact byte strings a user's card signs (docs/protocol.md, "Control
 * protocol", "Transcripts"). The card signs the SHA-256 of one of them.
 * Each starts with its own NUL-terminated label, so a signature made for
 * one purpose can never be taken for another, and carries the protocol
 * version. Fixed layouts, no I/O: both client and green build the same
 * bytes from the values each holds, and only green's verifies.
 *
 *   card proof: label, version, challenge, client WG public key, green WG
 *               public key, tunnel address (u8 4|6 + 4|16 bytes)
 *   reproof:    the same with its own label, then the session id
 *   service:    label, version, session id, green's nonce, u8 name length,
 *               service name
 *
 * Builders write into buf (KG_TRANSCRIPT_MAX bytes is always enough) and
 * return the length, or -EINVAL for a bad argument (address family,
 * service name) or -EMSGSIZE when cap is too small. The *_digest forms
 * return the same errors and write the SHA-256 the card signs.
 */
#ifndef KG_TRANSCRIPT_H
#define KG_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define KG_TRANSCRIPT_MAX 192
#define KG_TRANSCRIPT_VERSION 1
#define KG_LABEL_CARD_PROOF "knockgate card proof"
#define KG_LABEL_REPROOF "knockgate reproof"
#define KG_LABEL_SERVICE "knockgate service request"

/* What the card proof (and the reproof) binds. Caller-owned values. */
struct kg_proof_binding {
	uint8_t challenge[32];
	uint8_t client_wg_pub[32];
	uint8_t green_wg_pub[32];
	struct kg_addr tunnel;
};

int kg_transcript_card_proof(const struct kg_proof_binding *b, uint8_t *buf,
			     size_t cap);
int kg_transcript_reproof(const struct kg_proof_binding *b,
			  uint64_t session_id, uint8_t *buf, size_t cap);
int kg_transcript_service(uint64_t session_id, const uint8_t nonce[32],
			  const char *service, uint8_t *buf, size_t cap);

int kg_transcript_card_proof_digest(const struct kg_proof_binding *b,
				    uint8_t digest[32]);
int kg_transcript_reproof_digest(const struct kg_proof_binding *b,
				 uint64_t session_id, uint8_t digest[32]);
int kg_transcript_service_digest(uint64_t session_id, const uint8_t nonce[32],
				 const char *service, uint8_t digest[32]);

#endif
