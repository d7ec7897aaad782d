/* SPDX-License-Identifier: MIT */
/* The privilege-separation frames (lib/priv.h), both directions: what a
 * compromised worker sends the monitor, and the monitor's answers. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_priv_req q;
	struct kg_priv_ans a;
	uint8_t out[KG_PRIV_FRAME_MAX];
	size_t n;

	if (kg_priv_req_decode(data, size, &q) == 0) {
		if ((q.payload_len && (q.payload < data ||
				       q.payload + q.payload_len > data + size)) ||
		    (q.data_len && (q.data < data ||
				    q.data + q.data_len > data + size)) ||
		    (q.name_len && (q.name < data ||
				    q.name + q.name_len > data + size)))
			__builtin_trap();
		for (size_t i = 0; i < q.n_knocks; i++)
			if (q.knocks[i].payload_len &&
			    (q.knocks[i].payload < data ||
			     q.knocks[i].payload + q.knocks[i].payload_len >
			     data + size))
				__builtin_trap();
		/* What decodes re-encodes to the same bytes. */
		if (kg_priv_req_encode(&q, out, sizeof(out), &n) || n != size ||
		    memcmp(out, data, n))
			__builtin_trap();
	}
	if (kg_priv_ans_decode(data, size, &a) == 0 &&
	    (kg_priv_ans_encode(&a, out, sizeof(out), &n) || n != size ||
	     memcmp(out, data, n)))
		__builtin_trap();
	return 0;
}
