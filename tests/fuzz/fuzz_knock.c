/* SPDX-License-Identifier: MIT */
/* First knock: the wire parser, then green's whole acceptance path (one
 * user whose key is the test vector's, so well-formed inputs reach the
 * AEAD open and the time checks). */
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#include "lib/knock.h"
#include "lib/replay.h"
#include "green/knock_check.h"
#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char user[] =
	"[user alice]\n"
	"knock_key = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	"tunnel_address = 10.88.1.10\n"
	"spki_sha256 = 0000000000000000000000000000000000000000000000000000000000000000\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kg_knock k;
	struct kg_users u;
	struct kg_rcache *rc = NULL;
	struct kg_knock_checker ck;
	struct kg_knock_decision d;
	struct kg_conf c;
	struct kg_err e;
	uint8_t gpub[32];

	(void)kg_knock_parse(data, size, &k);
	for (int i = 0; i < 32; i++)
		gpub[i] = (uint8_t)(0xa0 + i);
	kg_users_init(&u, 60);
	if (kg_conf_parse(&c, "fuzz", user, sizeof(user) - 1, &e) == 0 &&
	    kg_users_add_conf(&u, &c, &e) == 0 &&
	    kg_rcache_new(4, KG_RCACHE_KEY_LEN, &rc) == 0 &&
	    kg_knock_checker_init(&ck, gpub, 30, 0, &u, rc) == 0) {
		/* The vector's time, so an authentic input passes the window. */
		(void)kg_knock_check(&ck, data, size, 1795000000123ULL, &d);
		(void)kg_knock_check(&ck, data, size, 1795000000124ULL, &d);
	}
	kg_conf_free(&c);
	kg_rcache_free(rc);
	kg_users_free(&u);
	return 0;
}
