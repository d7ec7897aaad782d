/* SPDX-License-Identifier: MIT */
/* Config files, user records and client profiles: one parser. */
#include <stdint.h>
#include <stddef.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_conf c;
	struct kg_err e;
	size_t i = 0;
	uint64_t u;
	char **v;
	size_t n;

	if (kg_conf_parse(&c, "fuzz", (const char *)data, size, &e) == 0) {
		while (kg_conf_next_section(&c, "user", &i))
			;
		(void)kg_conf_uint(&c, "green", "ban_time", false, 1, 0, 100, &u, &e);
		if (kg_conf_list(&c, "green", "never_ban", &v, &n, &e) == 0)
			kg_conf_list_free(v, n);
	}
	kg_conf_free(&c);
	return 0;
}
