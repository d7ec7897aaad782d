/* SPDX-License-Identifier: MIT */
/*
 * The first knock (single packet authorization): one UDP datagram from the
 * client to green's knock port. Layout (docs/protocol.md, "First knock"):
 *
 *   version u8 = 1 | green_hint 4 | key_id u64 | timestamp_ms u64 |
 *   nonce 12 | sealed client WireGuard public key 32 | tag 16   = 81 bytes
 *
 * ChaCha20-Poly1305 under the user's knock key with the nonce above; the
 * authenticated data is the label "knockgate knock v1", green's WireGuard
 * public key and the 33-byte clear header, so every byte is covered and a
 * knock is worthless at any other green.
 *
 * kg_knock_parse only splits the bytes (no crypto, no I/O, no globals):
 * the fuzz target drives it. kg_knock_open then does the single AEAD open.
 */
#ifndef KG_KNOCK_H
#define KG_KNOCK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define KG_KNOCK_VERSION 1
#define KG_KNOCK_HINT_LEN 4
#define KG_KNOCK_HDR_LEN (1 + KG_KNOCK_HINT_LEN + 8 + 8 + KG_AEAD_NONCE_LEN)
#define KG_KNOCK_LEN (KG_KNOCK_HDR_LEN + KG_KEY_LEN + KG_AEAD_TAG_LEN)

/* A knock as parsed from the wire; sealed/tag are still unauthenticated. */
struct kg_knock {
	uint8_t version;
	uint8_t green_hint[KG_KNOCK_HINT_LEN];
	uint64_t key_id;
	uint64_t ts_ms;
	uint8_t nonce[KG_AEAD_NONCE_LEN];
	uint8_t sealed[KG_KEY_LEN];
	uint8_t tag[KG_AEAD_TAG_LEN];
	uint8_t hdr[KG_KNOCK_HDR_LEN];   /* the clear header, as received */
};

/* The 4-byte hint naming a green: SHA-256(green WireGuard public key)[0..4].
 * Public; it lets green refuse knocks meant for another green cheaply. */
void kg_knock_green_hint(const uint8_t green_pub[KG_KEY_LEN],
			 uint8_t hint[KG_KNOCK_HINT_LEN]);

/* Builds a knock into out (KG_KNOCK_LEN bytes). nonce is the caller's
 * fresh random nonce (tests pass fixed ones). 0, or -EIO from crypto. */
int kg_knock_encode(const uint8_t knock_key[KG_KEY_LEN], uint64_t key_id,
		    uint64_t ts_ms, const uint8_t nonce[KG_AEAD_NONCE_LEN],
		    const uint8_t green_pub[KG_KEY_LEN],
		    const uint8_t client_pub[KG_KEY_LEN],
		    uint8_t out[KG_KNOCK_LEN]);

/* Splits a datagram. 0; -EMSGSIZE if it is not exactly KG_KNOCK_LEN
 * bytes; -EPROTONOSUPPORT for another version. */
int kg_knock_parse(const uint8_t *buf, size_t len, struct kg_knock *k);

/* Verifies and decrypts: one AEAD open. 0 with client_pub set, or
 * -EBADMSG (tag mismatch: client_pub zeroed), -EIO. */
int kg_knock_open(const struct kg_knock *k,
		  const uint8_t knock_key[KG_KEY_LEN],
		  const uint8_t green_pub[KG_KEY_LEN],
		  uint8_t client_pub[KG_KEY_LEN]);

#endif
