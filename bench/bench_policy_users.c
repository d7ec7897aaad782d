/* SPDX-License-Identifier: MIT */
/*
 * bench_policy_users: what setting every user's services into green's
 * policy costs on a users reload (revoke.c's policy_users: one
 * kg_policy_set_user per user record, into a policy holding only the
 * config's services) at U users (meson test --benchmark -C BUILD).
 * In-process, no files, no kernel work.
 *
 * Prints CPU (CLOCK_PROCESS_CPUTIME_ID) per reload and per user, median
 * of REPS, with the ratio per user to the first U.
 *
 * Usage: bench_policy_users [U...]   (default 1000 10000 100000)
 */
#include "bench_cpu.h"
#include "policy.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 5

static const char green_conf[] =
	"[green]\nid = green1\n"
	"[service web]\nred = red1\naddress = 203.0.113.2\n"
	"[service ssh]\nred = red1\naddress = 2001:db8:113::2\n"
	"[service db]\nred = red2\naddress = 203.0.113.3\n";

/* Median CPU us of setting n users (names as the records' "bN"). */
static int one(const struct kg_policy *svc, uint32_t n, double *us)
{
	static const char *const lists[][2] = {
		{ "web", "ssh" }, { "db", NULL }, { "ssh", NULL },
	};
	char (*names)[16] = calloc(n, sizeof(*names));
	double t[REPS];

	if (!names)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		snprintf(names[i], sizeof(names[i]), "b%u", i);
	for (int k = 0; k < REPS; k++) {
		struct kg_policy p;
		double t0;

		kg_policy_init(&p);
		p.svc = svc->svc;
		p.n_svc = svc->n_svc;
		t0 = cpu_us();
		for (uint32_t i = 0; i < n; i++)
			if (kg_policy_set_user(&p, names[i], lists[i % 3],
					       i % 3 ? 1 : 2, NULL)) {
				free(names);
				return -1;
			}
		t[k] = cpu_us() - t0;
		if (p.n_users != n || !kg_policy_allows(&p, names[n - 1],
							lists[(n - 1) % 3][0])) {
			free(names);
			return -1;
		}
		p.svc = NULL;   /* svc's, not ours */
		p.n_svc = 0;
		kg_policy_free(&p);
	}
	free(names);
	qsort(t, REPS, sizeof(t[0]), cmp_d);
	*us = t[REPS / 2];
	return 0;
}

int main(int argc, char **argv)
{
	static const uint32_t def[] = { 1000, 10000, 100000 };
	struct kg_policy svc;
	struct kg_conf c;
	struct kg_err e = { "" };
	uint32_t ns[8];
	size_t nn = 0;
	double first = 0;

	kg_log_init("bench_policy_users", KG_LOG_ERR);
	for (int a = 1; a < argc && nn < 8; a++)
		ns[nn++] = (uint32_t)strtoul(argv[a], NULL, 10);
	if (!nn)
		for (; nn < 3; nn++)
			ns[nn] = def[nn];
	kg_policy_init(&svc);
	if (kg_conf_parse(&c, "green.conf", green_conf, strlen(green_conf), &e) ||
	    kg_policy_load_services(&svc, &c, &e)) {
		fprintf(stderr, "services: %s\n", e.msg);
		return 1;
	}
	kg_conf_free(&c);
	printf("green users reload: every user's services into the policy at U users, CPU us, median of %d\n", REPS);
	printf("%8s %14s %12s %10s\n", "U", "set_all", "per_user", "ratio");
	for (size_t i = 0; i < nn; i++) {
		double us;

		if (!ns[i] || one(&svc, ns[i], &us)) {
			printf("%8u failed\n", ns[i]);
			return 1;
		}
		if (!first)
			first = us / ns[i];
		printf("%8u %14.1f %12.3f %10.2f\n", ns[i], us, us / ns[i],
		       us / ns[i] / first);
		fflush(stdout);
	}
	kg_policy_free(&svc);
	return 0;
}
