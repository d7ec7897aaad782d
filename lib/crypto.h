/* SPDX-License-Identifier: MIT */
/*
 * The thin crypto layer over OpenSSL 3: every primitive knockgate uses,
 * and nothing home-made. Functions return 0 or a negative errno:
 * -EBADMSG means authentication failed (tag or MAC mismatch), -EIO an
 * OpenSSL failure, -EINVAL a bad argument. Keys are fixed-size arrays the
 * caller owns; wipe them with kg_wipe() after use.
 */
#ifndef KG_CRYPTO_H
#define KG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define KG_KEY_LEN 32        /* knock keys, WireGuard keys, HMAC keys */
#define KG_SHA256_LEN 32
#define KG_AEAD_NONCE_LEN 12
#define KG_AEAD_TAG_LEN 16

/* Fills buf from OpenSSL's CSPRNG; -EIO if it cannot. */
int kg_random(void *buf, size_t n);
void kg_sha256(const void *data, size_t n, uint8_t out[KG_SHA256_LEN]);
/* Incremental SHA-256 over several parts: parts[i] of lens[i] bytes. */
void kg_sha256_parts(const void *const *parts, const size_t *lens, size_t n,
		     uint8_t out[KG_SHA256_LEN]);
int kg_hmac_sha256(const uint8_t key[KG_KEY_LEN], const void *data, size_t n,
		   uint8_t out[KG_SHA256_LEN]);
/* HKDF-SHA256 (RFC 5869) into out (at most 255*32 bytes). */
int kg_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt,
		   size_t salt_len, const void *info, size_t info_len,
		   uint8_t *out, size_t out_len);

/* ChaCha20-Poly1305 (RFC 8439). seal writes pt_len bytes of ciphertext to
 * ct and the tag to tag; open writes pt_len bytes to pt only if the tag
 * verifies (-EBADMSG otherwise, and pt is zeroed). ct/pt may alias. */
int kg_aead_seal(const uint8_t key[KG_KEY_LEN],
		 const uint8_t nonce[KG_AEAD_NONCE_LEN], const void *ad,
		 size_t ad_len, const void *pt, size_t pt_len, uint8_t *ct,
		 uint8_t tag[KG_AEAD_TAG_LEN]);
int kg_aead_open(const uint8_t key[KG_KEY_LEN],
		 const uint8_t nonce[KG_AEAD_NONCE_LEN], const void *ad,
		 size_t ad_len, const uint8_t *ct, size_t ct_len,
		 const uint8_t tag[KG_AEAD_TAG_LEN], uint8_t *pt);

/* X25519 (WireGuard keys): a fresh clamped private key, and its public key. */
int kg_x25519_generate(uint8_t priv[KG_KEY_LEN], uint8_t pub[KG_KEY_LEN]);
int kg_x25519_public(const uint8_t priv[KG_KEY_LEN], uint8_t pub[KG_KEY_LEN]);

/* Constant-time equality; wiping that the compiler cannot elide. */
bool kg_memeq(const void *a, const void *b, size_t n);
void kg_wipe(void *p, size_t n);

/* Standard base64 (WireGuard's key form). encode writes a NUL-terminated
 * string into out (4*ceil(n/3)+1 bytes); decode needs exactly n bytes out,
 * else -EINVAL. */
void kg_base64_encode(const uint8_t *in, size_t n, char *out);
int kg_base64_decode(const char *in, uint8_t *out, size_t n);

#endif
