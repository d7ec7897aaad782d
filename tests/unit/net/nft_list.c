/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <nftables/libnftables.h>

#include "nft_list.h"

static char listing[1 << 20];

const char *nft_list_table(const char *name)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *out;
	char cmd[128];

	assert_non_null(ctx);
	nft_ctx_buffer_output(ctx);
	nft_ctx_buffer_error(ctx);
	listing[0] = 0;
	snprintf(cmd, sizeof(cmd), "list table inet %s", name);
	if (nft_run_cmd_from_buffer(ctx, cmd) == 0) {
		out = nft_ctx_get_output_buffer(ctx);
		strncpy(listing, out ? out : "", sizeof(listing) - 1);
	}
	nft_ctx_free(ctx);
	return listing;
}
