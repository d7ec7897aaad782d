/* SPDX-License-Identifier: MIT */
/*
 * kg-knock-load PROFILE_DIR USERS_CONF OUTDIR: for every [user NAME]
 * record in USERS_CONF (knock_key = 64 hex digits, as bench/flood-helper.py
 * users writes them), one first knock stamped now (wall clock), carrying
 * a fresh WireGuard public key (a random private key's, X25519), written
 * to OUTDIR/NAME.knock. The rest of the knock (green's id, slot, port)
 * comes from the profile. t-scale-sessions sends them from forged sources
 * to hold thousands of sessions on green. Test-only, never installed.
 * Prints the number of knocks; exit 0, or 1 with the reason on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "client/knock_send.h"
#include "client/profile.h"
#include "crypto.h"
#include "time.h"

static int write_knock(const char *dir, const char *user,
		       const struct kg_profile *p)
{
	uint8_t priv[KG_KEY_LEN], pub[KG_KEY_LEN], k[KG_KNOCK_LEN];
	char path[4200];
	FILE *f;
	int ok;

	if (kg_random(priv, sizeof(priv)) || kg_x25519_public(priv, pub))
		return -1;
	kg_wipe(priv, sizeof(priv));
	if (kg_knock_build(p, pub, (uint64_t)kg_wall_ms(), k))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.knock", dir, user);
	f = fopen(path, "wb");
	ok = f && fwrite(k, 1, sizeof(k), f) == sizeof(k);
	if (f && fclose(f))
		ok = 0;
	return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct kg_profile p;
	struct kg_err e = { "" };
	char line[512], user[64] = "";
	unsigned n = 0;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: kg-knock-load PROFILE_DIR USERS_CONF OUTDIR\n");
		return 1;
	}
	if (kg_profile_load(&p, argv[1], &e)) {
		fprintf(stderr, "kg-knock-load: %s\n", e.msg);
		return 1;
	}
	if (!(f = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char hex[65];

		if (sscanf(line, "[user %63[^]]]", user) == 1)
			continue;
		if (sscanf(line, "knock_key = %64[0-9a-fA-F]", hex) != 1 || !user[0])
			continue;
		if (strlen(hex) != 64 ||
		    kg_hex_decode(hex, p.knock_key, sizeof(p.knock_key))) {
			fprintf(stderr, "kg-knock-load: %s: bad knock_key\n", user);
			return 1;
		}
		snprintf(p.user, sizeof(p.user), "%s", user);
		if (write_knock(argv[3], user, &p)) {
			fprintf(stderr, "kg-knock-load: %s: cannot build or write\n", user);
			return 1;
		}
		user[0] = 0;
		n++;
	}
	fclose(f);
	kg_profile_wipe(&p);
	printf("%u\n", n);
	return 0;
}
