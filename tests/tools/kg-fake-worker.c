/* SPDX-License-Identifier: MIT */
/*
 * kg-fake-worker: plays a compromised red worker against the real
 * monitor (knockgate-red-testhooks -P --test-worker THIS). The socket is
 * fd 3. Commands, one a line, are read from the file named by
 * KG_FAKE_WORKER_CMDS as the test appends them (polled):
 *   knock ADDR SPORT DPORT FILE [IFINDEX]
 *                                 a knock frame with FILE's bytes, as if
 *                                 NFLOG had read it on IFINDEX (0 if none)
 *   ban ADDR SECONDS | unban ADDR
 *   raw HEX                       any bytes as one frame
 *   big N                         an N-byte frame (oversized if > 2048)
 *   quit
 * Each answer is printed: "fake_worker line=N status=S" (S the monitor's
 * status: 0 accepted, an errno refused; "none" if no answer came).
 * Test-only, never installed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "priv.h"

#define SOCK 3

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (n < cap && hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s += 2;
	}
	return n;
}

static int build(char *line, uint8_t *buf, size_t cap, size_t *n)
{
	static uint8_t pl[4096];
	char a[64], f[256];
	unsigned sp, dp, secs, ifx = 0;
	int got;
	struct kg_priv_req q = { 0 };
	struct timespec ts;
	FILE *fp;

	got = sscanf(line, "knock %63s %u %u %255s %u", a, &sp, &dp, f, &ifx);
	if (got == 4 || got == 5) {
		if (kg_addr_parse(a, &q.addr) || !(fp = fopen(f, "rb")))
			return -EINVAL;
		q.payload_len = fread(pl, 1, sizeof(pl), fp);
		fclose(fp);
		q.type = KG_PRIV_REQ_KNOCK;
		q.sport = (uint16_t)sp;
		q.dport = (uint16_t)dp;
		q.ifindex = ifx;
		q.payload = pl;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		q.rx_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
		return kg_priv_req_encode(&q, buf, cap, n);
	}
	if (sscanf(line, "ban %63s %u", a, &secs) == 2) {
		if (kg_addr_parse(a, &q.addr))
			return -EINVAL;
		q.type = KG_PRIV_REQ_BAN;
		q.seconds = secs;
		return kg_priv_req_encode(&q, buf, cap, n);
	}
	if (sscanf(line, "unban %63s", a) == 1) {
		if (kg_addr_parse(a, &q.addr))
			return -EINVAL;
		q.type = KG_PRIV_REQ_UNBAN;
		return kg_priv_req_encode(&q, buf, cap, n);
	}
	if (!strncmp(line, "raw ", 4)) {
		*n = unhex(line + 4, buf, cap);
		return 0;
	}
	if (sscanf(line, "big %u", &secs) == 1 && secs <= cap) {
		memset(buf, KG_PRIV_REQ_BAN, secs);
		*n = secs;
		return 0;
	}
	return -EINVAL;
}

int main(void)
{
	const char *path = getenv("KG_FAKE_WORKER_CMDS");
	static uint8_t buf[8192];
	char line[1024];
	unsigned lineno = 0;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!path || !(f = fopen(path, "r"))) {
		printf("fake_worker error=no_commands\n");
		return 1;
	}
	printf("fake_worker ready\n");
	for (;;) {
		struct pollfd p = { SOCK, POLLIN, 0 };
		size_t n = 0;
		ssize_t got;
		int rc;

		if (!fgets(line, sizeof(line), f)) {
			clearerr(f);
			usleep(50000);
			continue;
		}
		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (!strcmp(line, "quit"))
			return 0;
		if ((rc = build(line, buf, sizeof(buf), &n))) {
			printf("fake_worker line=%u error=%s\n", lineno, strerror(-rc));
			continue;
		}
		if ((rc = kg_priv_send(SOCK, buf, n))) {
			printf("fake_worker line=%u send=%s\n", lineno, strerror(-rc));
			continue;
		}
		if (poll(&p, 1, 3000) != 1) {
			printf("fake_worker line=%u status=none\n", lineno);
			continue;
		}
		got = kg_priv_recv(SOCK, buf, sizeof(buf));
		if (got > 0) {
			struct kg_priv_ans a;

			if (kg_priv_ans_decode(buf, (size_t)got, &a))
				printf("fake_worker line=%u status=badanswer\n", lineno);
			else
				printf("fake_worker line=%u status=%u\n", lineno, a.status);
		} else {
			printf("fake_worker line=%u status=none\n", lineno);
			if (got == 0)
				return 1;
		}
	}
}
