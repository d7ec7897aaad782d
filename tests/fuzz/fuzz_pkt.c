/* SPDX-License-Identifier: MIT */
/* Packet headers as NFLOG hands them over: kg_pkt_parse. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_pkt p;
	volatile uint8_t sink = 0;

	if (kg_pkt_parse(data, size, &p) == 0 && p.l4_ok) {
		/* The payload view must lie inside the input. */
		if (p.payload_len && (p.payload < data ||
				      p.payload + p.payload_len > data + size))
			__builtin_trap();
		for (size_t i = 0; i < p.payload_len; i++)
			sink ^= p.payload[i];
	}
	(void)sink;
	return 0;
}
