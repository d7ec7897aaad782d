/* SPDX-License-Identifier: MIT */
/* Green's user records (users.d/NAME.conf): parse, validate, index. */
#include <stdint.h>
#include <stddef.h>

#include "conf.h"
#include "green/users.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_conf c;
	struct kg_users u;
	struct kg_err e;
	uint64_t slot;

	kg_users_init(&u, 60);
	if (kg_conf_parse(&c, "fuzz.conf", (const char *)data, size, &e) == 0 &&
	    kg_users_add_conf(&u, &c, &e) == 0 && u.n) {
		(void)kg_users_find(&u, u.v[0].name);
		if (kg_users_ids_update(&u, 1795000000, false) == 0)
			(void)kg_users_by_id(&u, 0x1234, &slot);
	}
	kg_conf_free(&c);
	kg_users_free(&u);
	return 0;
}
