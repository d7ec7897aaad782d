/* SPDX-License-Identifier: MIT */
/*
 * Cost of rejecting an invalid first knock with 1 and with 10,000 enrolled
 * users, measured in the same run: random knocks (unknown id: one hash
 * lookup, no AEAD) and forged knocks reusing a real id (one AEAD open).
 * Prints ns per rejected knock, AEAD opens per knock and the 10k/1 ratio.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "lib/keyid.h"
#include "lib/knock.h"
#include "lib/replay.h"
#include "green/knock_check.h"

#define NOW_MS 1795000000123ULL
#define ROUNDS 200000

struct setup {
	struct kg_users users;
	struct kg_rcache *rc;
	struct kg_knock_checker k;
	uint8_t gpub[32];
};

static int enroll(struct kg_users *u, size_t n)
{
	char text[512], hex[65];
	struct kg_conf c;
	struct kg_err e;

	for (size_t i = 0; i < n; i++) {
		uint8_t key[32] = { 0 };
		int rc;

		memcpy(key, &i, sizeof(i));
		key[31] = 0x77;
		kg_hex_encode(key, 32, hex);
		snprintf(text, sizeof(text), "[user u%zu]\nknock_key = %s\n"
			 "tunnel_address = 10.%zu.%zu.%zu\nspki_sha256 = %064d\n",
			 i, hex, 100 + i / 65536, (i / 256) % 256, i % 256, 0);
		rc = kg_conf_parse(&c, "bench", text, strlen(text), &e);
		/* Users are appended directly: check_unique is O(n) each. */
		if (!rc)
			rc = kg_users_add_conf(u, &c, &e);
		kg_conf_free(&c);
		if (rc) {
			fprintf(stderr, "bench: %s\n", e.msg);
			return rc;
		}
	}
	return kg_users_ids_update(u, NOW_MS / 1000, true);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* forged=false: random ids; true: user 0's real id with a wrong tag. */
static double run(struct setup *s, bool forged, double *opens_per_op)
{
	uint8_t pkt[KG_KNOCK_LEN], key0[32] = { 0 }, nonce[12] = { 0 }, cp[32] = { 0 };
	struct kg_knock_decision d;
	uint64_t id, before = s->k.aead_opens;
	double t0;

	key0[31] = 0x77;
	kg_keyid_derive(key0, NOW_MS / 1000 / 60, &id);
	kg_knock_encode(key0, id, NOW_MS, nonce, s->gpub, cp, pkt);
	pkt[KG_KNOCK_LEN - 1] ^= 1;
	t0 = now_ns();
	for (int i = 0; i < ROUNDS; i++) {
		if (!forged)
			memcpy(pkt + 5, &i, sizeof(i));   /* a fresh random-ish id */
		(void)kg_knock_check(&s->k, pkt, sizeof(pkt), NOW_MS, &d);
	}
	*opens_per_op = (double)(s->k.aead_opens - before) / ROUNDS;
	return (now_ns() - t0) / ROUNDS;
}

static int setup(struct setup *s, size_t users)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < 32; i++)
		s->gpub[i] = (uint8_t)(0xa0 + i);
	kg_users_init(&s->users, 60);
	if (enroll(&s->users, users) ||
	    kg_rcache_new(1024, KG_RCACHE_KEY_LEN, &s->rc) ||
	    kg_knock_checker_init(&s->k, s->gpub, 30, 0, &s->users, s->rc))
		return -1;
	return 0;
}

int main(void)
{
	static const size_t sizes[2] = { 1, 10000 };
	double ns[2][2], opens[2][2];
	struct setup s;

	for (int i = 0; i < 2; i++) {
		if (setup(&s, sizes[i])) {
			fprintf(stderr, "bench_knock_reject: setup failed\n");
			return 1;
		}
		/* The first pass warms caches and OpenSSL's lazy init. */
		for (int f = 0; f < 2; f++) {
			(void)run(&s, f, &opens[i][f]);
			ns[i][f] = run(&s, f, &opens[i][f]);
		}
		kg_users_free(&s.users);
		kg_rcache_free(s.rc);
	}
	/* The price of rotation: rebuilding the id table at a slot change. */
	if (setup(&s, sizes[1]) == 0) {
		double t0 = now_ns();

		for (int i = 1; i <= 5; i++)
			kg_users_ids_update(&s.users, NOW_MS / 1000 + (uint64_t)i * 60, false);
		printf("key-id table rebuild (slot change), users=%zu: %.1f ms\n",
		       sizes[1], (now_ns() - t0) / 5 / 1e6);
		kg_users_free(&s.users);
		kg_rcache_free(s.rc);
	}
	for (int f = 0; f < 2; f++) {
		const char *what = f ? "forged (known id, bad tag)" : "random (unknown id)";

		for (int i = 0; i < 2; i++)
			printf("reject %-27s users=%-5zu %8.1f ns/knock  aead_opens/knock=%.3f\n",
			       what, sizes[i], ns[i][f], opens[i][f]);
		printf("reject %-27s ratio 10000/1 users = %.2f\n", what,
		       ns[1][f] / ns[0][f]);
	}
	return 0;
}
