/* SPDX-License-Identifier: MIT */
/* Green's revocation bundle (green/bundle.c): header lines, lengths,
 * names, the signed span. */
#include <stdint.h>
#include <stddef.h>

#include "green/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_bundle b;
	const char *why;
	volatile size_t sink = 0;

	if (kg_bundle_parse(data, size, &b, &why) == 0) {
		/* every view lies inside the input */
		sink += b.crl[b.crl_len - 1] + b.sig[b.sig_len - 1] + b.signed_len;
		for (size_t i = 0; i < b.n_users; i++)
			sink += b.users[i].rec[b.users[i].rec_len - 1];
		kg_bundle_free(&b);
	}
	(void)sink;
	return 0;
}
