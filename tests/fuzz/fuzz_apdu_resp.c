/* SPDX-License-Identifier: MIT */
/*
 * Client-side PIV response parsing: the card (or anything posing as one)
 * controls every byte. Input: a series of R-APDUs, each a 1-byte length
 * then that many bytes, fed to the chaining collector as GET RESPONSE
 * would; the collected data and the raw input then go through every
 * response parser.
 */
#include <stdint.h>
#include <stddef.h>

#include "piv_apdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_all(const uint8_t *p, size_t n)
{
	const uint8_t *v;
	size_t vl, pos = 0;
	uint32_t tag;

	(void)piv_parse_select(p, n);
	(void)piv_parse_cert_object(p, n, &v, &vl);
	(void)piv_parse_sign_response(p, n, &v, &vl);
	(void)piv_tlv_find(p, n, 0x7c, &v, &vl);
	while (pos < n && piv_tlv_next(p, n, &pos, &tag, &v, &vl) == 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct piv_resp r;
	size_t off = 0;
	uint8_t le;
	int rc = 1;

	piv_resp_init(&r);
	while (rc == 1 && off < size) {
		size_t n = data[off++];

		if (n > size - off)
			n = size - off;
		rc = piv_resp_feed(&r, data + off, n, &le);
		off += n;
	}
	if (rc == 0) {
		(void)piv_sw_errno(r.sw);
		(void)piv_sw_text(piv_sw_kind(r.sw, NULL));
		parse_all(r.data, r.len);
	}
	parse_all(data, size);
	return 0;
}
