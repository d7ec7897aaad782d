/* SPDX-License-Identifier: MIT */
/*
 * bench_ban_decision: red's cost of one ban decision's "does this source
 * hold a live grant" question (red_exempt, which the IPS asks each time a
 * source crosses a threshold; the monitor asks the same of the ban key
 * under -P) at N live grants in a table of 262,144 slots
 * (meson test --benchmark -C BUILD). In-process, no kernel work.
 *
 * The table is filled to N live grants through the grant table's own
 * plan and commit (one client each: IPv4 for the first 1,000, IPv6
 * fd88:0:x::/64 after). The sources asked are what an attacker sends:
 * spoofed addresses holding no grant (half IPv4, half IPv6), and, as a
 * second row, sources whose ban key does hold one. For comparison the
 * walk of every slot that answered it before is timed too.
 *
 * Prints CPU (CLOCK_PROCESS_CPUTIME_ID) per decision, median of REPS,
 * and the ratio to the first N.
 */
#include "bench_cpu.h"
#include "grants.h"
#include "ips.h"
#include "log.h"
#include "red.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define REPS 5
#define CAP 262144
#define NOW 1000

static struct red r;

/* Client i's address: IPv4 for the first 1,000, one IPv6 /64 each after. */
static void client(uint32_t i, struct kg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (i < 1000) {
		a->family = AF_INET;
		a->b[0] = 10, a->b[1] = 88;
		a->b[2] = (uint8_t)(i >> 8), a->b[3] = (uint8_t)i;
		return;
	}
	a->family = AF_INET6;
	a->b[0] = 0xfd, a->b[1] = 0x88;
	a->b[4] = (uint8_t)(i >> 24), a->b[5] = (uint8_t)(i >> 16);
	a->b[6] = (uint8_t)(i >> 8), a->b[7] = (uint8_t)i;
	a->b[15] = 1;
}

/* A spoofed source holding no grant: 192.0.2.x/y or 2001:db8::/32. */
static void spoofed(uint32_t i, struct kg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (i & 1) {
		a->family = AF_INET;
		a->b[0] = 198, a->b[1] = 18;
		a->b[2] = (uint8_t)(i >> 8), a->b[3] = (uint8_t)i;
		return;
	}
	a->family = AF_INET6;
	a->b[0] = 0x20, a->b[1] = 0x01, a->b[2] = 0x0d, a->b[3] = 0xb8;
	a->b[6] = (uint8_t)(i >> 8), a->b[7] = (uint8_t)i;
	a->b[15] = (uint8_t)(i * 7);
}

static int fill(uint32_t n)
{
	static const struct kg_hop_conf pool = {
		.pool = { { 10000, 60000 } }, .n_pool = 1
	};
	static const uint8_t hash[KG_SK_HASH_LEN];
	struct kg_sknock k;
	struct kg_plan p;

	if (kg_grants_init(&r.st.grants, CAP, 3600, 60))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		memset(&k, 0, sizeof(k));
		k.action = KG_SK_OPEN;
		strcpy(k.green_id, "green1");
		strcpy(k.red_id, "red1");
		strcpy(k.service, "web");
		k.session = 1000 + i;
		k.seq = 1;
		k.lifetime = 3600;
		client(i, &k.client);
		kg_grants_plan(&r.st.grants, &k, hash, 80, &pool, i * 7919, NOW,
			       &p);
		if (p.op != KG_PLAN_MAP)
			return -1;
		kg_grants_commit(&r.st.grants, &k, hash, &p, NOW);
	}
	return kg_grants_live(&r.st.grants) == n ? 0 : -1;
}

/* What answered it before: every slot, each against src's ban key. */
static bool walk_exempt(const struct red *rr, const struct kg_addr *src)
{
	for (size_t i = 0; i < rr->st.grants.cap; i++) {
		const struct kg_grant *g = &rr->st.grants.g[i];
		struct kg_prefix c = { .a = g->client,
				       .len = (uint8_t)(kg_addr_len(&g->client) * 8) };

		if (g->used && g->port && kg_ips_key_hits(&c, src))
			return true;
	}
	return false;
}

/* Median CPU us per decision over k sources; hit: sources holding a
 * grant (of the n), else spoofed. -1 if an answer is wrong. */
static double per_decision(bool walk, bool hit, uint32_t n, uint32_t k)
{
	double t[REPS];
	volatile unsigned yes = 0;

	for (int rep = 0; rep < REPS; rep++) {
		double t0 = cpu_us();

		yes = 0;
		for (uint32_t i = 0; i < k; i++) {
			struct kg_addr a;

			if (hit) {
				client((i * 2654435761u) % n, &a);
				a.b[15] ^= a.family == AF_INET6 ? 0x40 : 0;
			} else {
				spoofed(i, &a);
			}
			yes += walk ? walk_exempt(&r, &a) : red_exempt(&r, &a);
		}
		t[rep] = (cpu_us() - t0) / k;
		if (yes != (hit ? k : 0))
			return -1;
	}
	qsort(t, REPS, sizeof(t[0]), cmp_d);
	return t[REPS / 2];
}

int main(int argc, char **argv)
{
	static const uint32_t ns[] = { 10, 1000, 10000, 100000 };
	double base[4] = { 0 };

	(void)argc;
	(void)argv;
	kg_log_init("bench", KG_LOG_WARNING);
	printf("ban decision (red_exempt), us CPU per decision, %d slots, "
	       "median of %d (ratio to N = %u)\n", CAP, REPS, ns[0]);
	printf("%8s %22s %22s %22s %22s\n", "N", "spoofed, counter",
	       "holder, counter", "spoofed, walk (before)",
	       "holder, walk (before)");
	for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++) {
		double v[4];

		if (fill(ns[j])) {
			fprintf(stderr, "bench_ban_decision: fill %u failed\n",
				ns[j]);
			return 1;
		}
		v[0] = per_decision(false, false, ns[j], 200000);
		v[1] = per_decision(false, true, ns[j], 200000);
		v[2] = per_decision(true, false, ns[j], 50);
		v[3] = per_decision(true, true, ns[j], 50);
		for (int c = 0; c < 4; c++) {
			if (v[c] < 0) {
				fprintf(stderr, "bench_ban_decision: wrong "
					"answer at N = %u\n", ns[j]);
				return 1;
			}
			if (j == 0)
				base[c] = v[c];
		}
		printf("%8u", ns[j]);
		for (int c = 0; c < 4; c++)
			printf(" %12.3f (%6.2f)", v[c], v[c] / base[c]);
		printf("\n");
		kg_grants_free(&r.st.grants);
	}
	return 0;
}
