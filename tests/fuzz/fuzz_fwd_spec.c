/* SPDX-License-Identifier: MIT */
/* SERVICE=[ADDR:]PORT, from the command line or a profile's [forward]
 * section: the parser takes any bytes as a string, and what it accepts
 * has a valid name and a non-zero port. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256];
	struct kg_fwd_spec sp;
	struct kg_err e = { "" };

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (kg_fwd_spec_parse(s, &sp, &e) == 0 &&
	    (sp.port == 0 || !sp.service[0] ||
	     !kg_ctrl_name_ok((const uint8_t *)sp.service, strlen(sp.service))))
		abort();
	return 0;
}
