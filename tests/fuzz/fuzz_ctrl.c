/* SPDX-License-Identifier: MIT */
/* Control messages: the input is a stream of frames as green or the client
 * reads it. Whatever parses must build back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctrl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const uint8_t *body, size_t len,
		      const struct kg_ctrl_msg *m)
{
	static uint8_t out[KG_CTRL_MAX_FRAME];
	size_t n;

	if (kg_ctrl_build(m, out, sizeof(out), &n) != 0)
		abort();
	if (n != len + KG_CTRL_HDR_LEN || memcmp(out + KG_CTRL_HDR_LEN, body, len))
		abort();
	(void)kg_ctrl_code_name(m->code);
	(void)kg_ctrl_type_name(m->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size) {
		struct kg_ctrl_msg m;
		const char *why;
		size_t body;

		if (kg_ctrl_frame_len(data, size, KG_CTRL_MAX_BODY, &body) ||
		    size - KG_CTRL_HDR_LEN < body) {
			/* also try the rest as a bare body */
			if (kg_ctrl_parse(data, size, &m, &why) == 0)
				roundtrip(data, size, &m);
			break;
		}
		if (kg_ctrl_parse(data + KG_CTRL_HDR_LEN, body, &m, &why) == 0)
			roundtrip(data + KG_CTRL_HDR_LEN, body, &m);
		else if (!why)
			abort();
		data += KG_CTRL_HDR_LEN + body;
		size -= KG_CTRL_HDR_LEN + body;
	}
	return 0;
}
