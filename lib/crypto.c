/* SPDX-License-Identifier: MIT */
/*
 * lib/crypto.h over OpenSSL 3 (EVP only). Every primitive is OpenSSL's;
 * this file only adapts arguments and maps failures to -errno.
 */
#include "crypto.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

int kg_random(void *buf, size_t n)
{
	if (n > INT_MAX)
		return -EINVAL;
	if (n == 0)
		return 0;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -EIO;
}

void kg_sha256(const void *data, size_t n, uint8_t out[KG_SHA256_LEN])
{
	kg_sha256_parts(&data, &n, 1, out);
}

void kg_sha256_parts(const void *const *parts, const size_t *lens, size_t n,
		     uint8_t out[KG_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i], lens[i]) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, out, &len) == 1 &&
	     len == KG_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	/* SHA-256 cannot fail short of allocation failure; a void API
	 * must still never hand back a predictable "hash". */
	if (!ok)
		OPENSSL_die("kg_sha256: OpenSSL failure", __FILE__, __LINE__);
}

int kg_hmac_sha256(const uint8_t key[KG_KEY_LEN], const void *data, size_t n,
		   uint8_t out[KG_SHA256_LEN])
{
	unsigned int len = 0;

	if (!HMAC(EVP_sha256(), key, KG_KEY_LEN, data, n, out, &len) ||
	    len != KG_SHA256_LEN)
		return -EIO;
	return 0;
}

int kg_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt,
		   size_t salt_len, const void *info, size_t info_len,
		   uint8_t *out, size_t out_len)
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	int ret = -EIO;

	if (out_len == 0 || out_len > 255 * KG_SHA256_LEN ||
	    (ikm_len && !ikm) || (salt_len && !salt) || (info_len && !info))
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	if (!ctx)
		goto out;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 (void *)ikm, ikm_len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(
			OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
	if (info_len)
		*p++ = OSSL_PARAM_construct_octet_string(
			OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, out, out_len, params) == 1)
		ret = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ret;
}

/* Shared set-up of a ChaCha20-Poly1305 context for seal (enc=1) or open. */
static EVP_CIPHER_CTX *aead_ctx(const uint8_t key[KG_KEY_LEN],
				const uint8_t nonce[KG_AEAD_NONCE_LEN],
				const void *ad, size_t ad_len, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0;

	if (!ctx || ad_len > INT_MAX)
		goto fail;
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
			      enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
				KG_AEAD_NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		goto fail;
	if (ad_len &&
	    EVP_CipherUpdate(ctx, NULL, &len, ad, (int)ad_len) != 1)
		goto fail;
	return ctx;
fail:
	EVP_CIPHER_CTX_free(ctx);
	return NULL;
}

int kg_aead_seal(const uint8_t key[KG_KEY_LEN],
		 const uint8_t nonce[KG_AEAD_NONCE_LEN], const void *ad,
		 size_t ad_len, const void *pt, size_t pt_len, uint8_t *ct,
		 uint8_t tag[KG_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx;
	int len = 0, ret = -EIO;

	if (pt_len > INT_MAX || (ad_len && !ad) || (pt_len && (!pt || !ct)))
		return -EINVAL;
	ctx = aead_ctx(key, nonce, ad, ad_len, 1);
	if (!ctx)
		return -EIO;
	if (pt_len && EVP_CipherUpdate(ctx, ct, &len, pt, (int)pt_len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, ct + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, KG_AEAD_TAG_LEN,
				tag) != 1)
		goto out;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int kg_aead_open(const uint8_t key[KG_KEY_LEN],
		 const uint8_t nonce[KG_AEAD_NONCE_LEN], const void *ad,
		 size_t ad_len, const uint8_t *ct, size_t ct_len,
		 const uint8_t tag[KG_AEAD_TAG_LEN], uint8_t *pt)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t tagbuf[KG_AEAD_TAG_LEN];
	int len = 0, ret = -EIO;

	if (ct_len > INT_MAX || (ad_len && !ad) || (ct_len && (!pt || !ct)))
		return -EINVAL;
	/* Copy: the ctrl takes a non-const pointer, and pt may alias ct. */
	memcpy(tagbuf, tag, sizeof(tagbuf));
	ctx = aead_ctx(key, nonce, ad, ad_len, 0);
	if (!ctx)
		return -EIO;
	if (ct_len && EVP_CipherUpdate(ctx, pt, &len, ct, (int)ct_len) != 1)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, KG_AEAD_TAG_LEN,
				tagbuf) != 1)
		goto out;
	ret = EVP_CipherFinal_ex(ctx, pt + len, &len) == 1 ? 0 : -EBADMSG;
out:
	if (ret && ct_len)
		kg_wipe(pt, ct_len);
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int kg_x25519_public(const uint8_t priv[KG_KEY_LEN], uint8_t pub[KG_KEY_LEN])
{
	EVP_PKEY *pk;
	size_t len = KG_KEY_LEN;
	int ret = -EIO;

	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
					  KG_KEY_LEN);
	if (!pk)
		return -EIO;
	if (EVP_PKEY_get_raw_public_key(pk, pub, &len) == 1 &&
	    len == KG_KEY_LEN)
		ret = 0;
	EVP_PKEY_free(pk);
	return ret;
}

int kg_x25519_generate(uint8_t priv[KG_KEY_LEN], uint8_t pub[KG_KEY_LEN])
{
	int ret = kg_random(priv, KG_KEY_LEN);

	if (ret)
		return ret;
	/* Clamp like `wg genkey`, so the stored key is the canonical form
	 * WireGuard tools print back. */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	ret = kg_x25519_public(priv, pub);
	if (ret)
		kg_wipe(priv, KG_KEY_LEN);
	return ret;
}

bool kg_memeq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void kg_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void kg_base64_encode(const uint8_t *in, size_t n, char *out)
{
	/* EVP_EncodeBlock takes an int length; callers encode keys. */
	int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

	out[len < 0 ? 0 : len] = '\0';
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int kg_base64_decode(const char *in, uint8_t *out, size_t n)
{
	size_t want = 4 * ((n + 2) / 3), len, pad;
	uint8_t tmp[3 * 64];
	int got;

	if (!in || n == 0 || n > sizeof(tmp) - 2)
		return -EINVAL;
	len = strnlen(in, want + 1);
	if (len != want)
		return -EINVAL;
	pad = (3 - n % 3) % 3;
	/* EVP_DecodeBlock skips blanks and ignores where '=' sits; be strict
	 * so one key has exactly one accepted spelling. */
	for (size_t i = 0; i < len; i++) {
		bool is_pad = i >= len - pad;

		if (is_pad ? in[i] != '=' : !b64_char(in[i]))
			return -EINVAL;
	}
	got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (got < 0 || (size_t)got != want / 4 * 3) {
		kg_wipe(tmp, sizeof(tmp));
		return -EINVAL;
	}
	/* Unused low bits before '=' must be zero: re-encode and compare. */
	{
		char back[sizeof(tmp) / 3 * 4 + 1];

		kg_base64_encode(tmp, n, back);
		if (memcmp(back, in, len) != 0)
			got = -1;
		kg_wipe(back, sizeof(back));
	}
	if (got >= 0)
		memcpy(out, tmp, n);
	kg_wipe(tmp, sizeof(tmp));
	return got >= 0 ? 0 : -EINVAL;
}
