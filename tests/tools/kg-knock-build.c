/* SPDX-License-Identifier: MIT */
/*
 * kg-knock-build PROFILE_DIR CLIENT_PUB OUT: writes one first knock for
 * the profile's user, stamped now (wall clock), carrying CLIENT_PUB
 * (base64, a live session's WireGuard key), to the file OUT. What a thief
 * holding only the knock key (and the public key, seen in a decrypted
 * knock) can make; the scenario sends it from sources of its choice.
 * Test-only, never installed. Exit 0, or 1 with the reason on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "client/knock_send.h"
#include "client/profile.h"
#include "crypto.h"
#include "time.h"

int main(int argc, char **argv)
{
	struct kg_profile p;
	struct kg_err e = { "" };
	uint8_t pub[KG_KEY_LEN], k[KG_KNOCK_LEN];
	FILE *f;
	int ok;

	if (argc != 4) {
		fprintf(stderr, "usage: kg-knock-build PROFILE_DIR CLIENT_PUB OUT\n");
		return 1;
	}
	if (kg_base64_decode(argv[2], pub, sizeof(pub))) {
		fprintf(stderr, "kg-knock-build: bad key %s\n", argv[2]);
		return 1;
	}
	if (kg_profile_load(&p, argv[1], &e)) {
		fprintf(stderr, "kg-knock-build: %s\n", e.msg);
		return 1;
	}
	ok = kg_knock_build(&p, pub, (uint64_t)kg_wall_ms(), k) == 0;
	kg_profile_wipe(&p);
	f = ok ? fopen(argv[3], "wb") : NULL;
	ok = f && fwrite(k, 1, sizeof(k), f) == sizeof(k);
	if (f && fclose(f))
		ok = 0;
	if (!ok) {
		fprintf(stderr, "kg-knock-build: cannot build or write %s\n", argv[3]);
		return 1;
	}
	return 0;
}
