/* SPDX-License-Identifier: MIT */
#include "time.h"

#include <time.h>

static int64_t ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t kg_mono_ms(void)
{
	return ms(CLOCK_MONOTONIC);
}

int64_t kg_mono_s(void)
{
	return kg_mono_ms() / 1000;
}

uint64_t kg_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t kg_wall_ms(void)
{
	return ms(CLOCK_REALTIME);
}

int64_t kg_wall_s(void)
{
	return kg_wall_ms() / 1000;
}
