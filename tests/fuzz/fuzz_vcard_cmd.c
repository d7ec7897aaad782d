/* SPDX-License-Identifier: MIT */
/*
 * The virtual card's command interpreter: whatever connects to vpcd's
 * reader can send it anything. Input: vpcd messages (2-byte big-endian
 * length, then the body; 1-byte bodies are power/reset control codes),
 * run against one card whose PIN is 123456, so the fuzzer can reach
 * signing, chaining and the retry counters.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "vcard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vcard card;

static int init_card(void)
{
	if (card.key)
		return 0;
	vcard_init(&card);
	card.key = EVP_EC_gen("P-256");
	card.cert_len = 700;
	memset(card.cert, 0x30, card.cert_len);
	return card.key ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[VCARD_OUT_MAX];
	size_t off = 0, olen;

	if (init_card())
		return 0;
	piv_pin_pad("123456", card.pin);
	piv_pin_pad("12345678", card.puk);
	card.pin_left = card.puk_left = 3;
	vcard_reset(&card);
	while (size - off >= 2) {
		size_t n = (size_t)data[off] << 8 | data[off + 1];

		off += 2;
		if (n > size - off)
			n = size - off;
		if (n == 1)
			vcard_reset(&card);
		else if (vcard_apdu(&card, data + off, n, out, sizeof(out), &olen))
			__builtin_trap();
		else if (olen < 2 || olen > sizeof(out))
			__builtin_trap();
		off += n;
	}
	return 0;
}
