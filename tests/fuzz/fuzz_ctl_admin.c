/* SPDX-License-Identifier: MIT */
/* Admin socket requests: whatever parses must build back to the same
 * bytes; whatever is refused has a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_ctl_admin_req q;
	uint8_t out[KG_CTL_ADMIN_MAX_REQ];
	const char *why = NULL;
	size_t n;

	if (kg_ctl_admin_parse(data, size, &q, &why)) {
		if (!why)
			abort();
		return 0;
	}
	if (strlen(q.arg) != q.arg_len)
		abort();
	(void)kg_ctl_admin_op_name(q.op);
	if (kg_ctl_admin_build(&q, out, sizeof(out), &n) || n != size ||
	    memcmp(out, data, n))
		abort();
	return 0;
}
