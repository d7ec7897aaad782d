/* SPDX-License-Identifier: MIT */
/*
 * What the in-process benchmarks share: this process's CPU clock and the
 * comparison for qsort of doubles (medians). CPU time, not wall time:
 * the machines these run on are shared and noisy.
 */
#ifndef KG_BENCH_CPU_H
#define KG_BENCH_CPU_H

#include <time.h>

/* This process's CPU time so far, microseconds. */
static inline double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* qsort comparison of two doubles, ascending. */
static inline int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#endif
