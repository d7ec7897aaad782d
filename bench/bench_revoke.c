/* SPDX-License-Identifier: MIT */
/*
 * bench_revoke: what a CRL or users reload costs green at S live
 * sessions, past reading the files (meson test --benchmark -C BUILD).
 *
 * For each S it makes S users (records parsed by kg_users_add_conf, one
 * knock key, tunnel address and SPKI pin each) and one session each in
 * the session table, then times revocation's own work around a reload
 * that changes nothing (no session ends, no kernel work):
 * gate_reload_begin (each session's pin noted) and gate_reload_judge
 * (every session judged against the reloaded records and CRL). The
 * reload of the records themselves (the new kg_users) is timed apart.
 * No certificate is cached here, so no verification runs: that costs one
 * per cached certificate a session's user holds, the same at any S.
 *
 * Prints CPU per reload and per session (CLOCK_PROCESS_CPUTIME_ID,
 * median of REPS), with the ratio per session to the first S.
 */
#include "bench_cpu.h"
#include "gate.h"
#include "revoke.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define REPS 5

/* The records of users from..to-1, one [user] section each. */
static char *records(uint32_t from, uint32_t to)
{
	size_t cap = (size_t)(to - from) * 256 + 1, len = 0;
	char *t = malloc(cap);

	for (uint32_t i = from; t && i < to; i++)
		len += (size_t)snprintf(t + len, cap - len,
			"[user b%u]\nknock_key = %056x%08x\n"
			"tunnel_address = 10.%u.%u.%u\nspki_sha256 = %056x%08x\n",
			i, 0u, i + 1, (i + 2) >> 16 & 255, (i + 2) >> 8 & 255,
			(i + 2) & 255, 0u, i + 7);
	return t;
}

/* As a users directory: one file a user (users.d/NAME.conf). */
#define FILE_USERS 1

static int load(struct kg_users *u, uint32_t n)
{
	struct kg_err e = { "" };
	int r = 0;

	kg_users_init(u, 30);
	for (uint32_t from = 0; !r && from < n; from += FILE_USERS) {
		uint32_t to = n - from > FILE_USERS ? from + FILE_USERS : n;
		char *text = records(from, to);
		struct kg_conf c;

		if (!text)
			return -ENOMEM;
		if (!(r = kg_conf_parse(&c, "bench.conf", text, strlen(text), &e))) {
			r = kg_users_add_conf(u, &c, &e);
			kg_conf_free(&c);
		}
		free(text);
	}
	if (r)
		fprintf(stderr, "users: %s\n", e.msg);
	return r;
}

static int one(uint32_t n, double *judge_us, double *users_us)
{
	static struct green g;
	static struct green_gate gt;
	const struct kg_sess_limits lim = {
		.idle_timeout = 600, .max_lifetime = 28800,
		.reproof_interval = 300, .handshake_timeout = 180,
		.reproof_grace = 10,
	};
	double j[REPS], u[REPS];
	int r = -ENOMEM;

	memset(&gt, 0, sizeof(gt));
	g.gate = &gt;
	gt.g = &g;
	if (load(&gt.users, n) ||
	    kg_sess_init(&gt.sess, n, &lim, 1, NULL, NULL))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		struct kg_user *us = &gt.users.v[i];
		struct kg_addr src = { .family = AF_INET,
				       .b = { 100, 64, (uint8_t)(i >> 8), (uint8_t)i } };
		uint8_t key[32] = { 0 };
		enum kg_knock_action a;
		struct kg_session *s, old;

		memcpy(key, &i, sizeof(i));
		if ((r = kg_sess_knock(&gt.sess, us->name, &us->tunnel, key, &src,
				       &a, &s, &old)) ||
		    (r = kg_sess_prove(&gt.sess, s->id))) {
			fprintf(stderr, "session %u: %s\n", i, strerror(-r));
			goto out;
		}
	}
	for (int k = 0; k < REPS; k++) {
		struct gate_reload_idx *x;
		struct kg_users nu;
		double t0 = cpu_us();

		x = gate_reload_begin(&gt);
		t0 = cpu_us() - t0;
		/* the records read again: what gate_users_load swaps in */
		u[k] = cpu_us();
		if ((r = load(&nu, n)))
			goto out;
		u[k] = cpu_us() - u[k];
		kg_users_free(&gt.users);
		gt.users = nu;
		j[k] = cpu_us();
		if (gate_reload_judge(&gt, x) != 0) {
			fprintf(stderr, "a session ended\n");
			r = -EINVAL;
			goto out;
		}
		j[k] = cpu_us() - j[k] + t0;
	}
	qsort(j, REPS, sizeof(j[0]), cmp_d);
	qsort(u, REPS, sizeof(u[0]), cmp_d);
	*judge_us = j[REPS / 2];
	*users_us = u[REPS / 2];
	r = 0;
out:
	kg_sess_free(&gt.sess);
	kg_users_free(&gt.users);
	return r;
}

int main(int argc, char **argv)
{
	static const uint32_t def[] = { 1000, 10000, 100000 };
	uint32_t ns[8];
	size_t nn = 0;
	double first = 0;

	kg_log_init("bench_revoke", KG_LOG_ERR);
	for (int a = 1; a < argc && nn < 8; a++)
		ns[nn++] = (uint32_t)strtoul(argv[a], NULL, 10);
	if (!nn)
		for (; nn < 3; nn++)
			ns[nn] = def[nn];
	printf("green reload: revocation's judging at S live sessions (one user each), CPU us, median of %d\n", REPS);
	printf("%8s %14s %12s %10s %16s\n", "S", "judge_reload", "per_session",
	       "ratio", "users_records");
	for (size_t i = 0; i < nn; i++) {
		double ju, uu;

		if (one(ns[i], &ju, &uu)) {
			printf("%8u failed\n", ns[i]);
			return 1;
		}
		if (!first)
			first = ju / ns[i];
		printf("%8u %14.1f %12.3f %10.2f %16.1f\n", ns[i], ju, ju / ns[i],
		       ju / ns[i] / first, uu);
		fflush(stdout);
	}
	return 0;
}
