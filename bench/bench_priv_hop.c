/* SPDX-License-Identifier: MIT */
/*
 * What the privilege split adds to a knock: the worker encodes the knock
 * as a lib/priv frame and sends it over the SOCK_SEQPACKET socketpair,
 * the monitor (another process) receives and decodes it and answers, the
 * worker reads the answer. Measured against the baseline of the same
 * encode and decode in one process (no socket), in the same run, as the
 * median of 7 repetitions of ROUNDS round trips. Prints ns per knock for
 * both, the difference (the hop) and the ratio.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/priv.h"

#define ROUNDS 20000
#define REPS 7

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void knock_req(struct kg_priv_req *q, const uint8_t *pl)
{
	memset(q, 0, sizeof(*q));
	q->type = KG_PRIV_REQ_KNOCK;
	q->addr.family = AF_INET;
	memcpy(q->addr.b, "\xc6\x33\x64\x0a", 4);
	q->sport = 40000;
	q->dport = 62201;
	q->payload = pl;
	q->payload_len = 81;   /* a first knock's length */
}

/* The monitor's side: answers every frame until end of stream. */
static void monitor(int sock)
{
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_req q;
	ssize_t n;

	while ((n = kg_priv_recv(sock, buf, sizeof(buf))) > 0) {
		struct kg_priv_ans a = { KG_PRIV_REQ_KNOCK, 0 };
		size_t len;

		if (kg_priv_req_decode(buf, (size_t)n, &q))
			a.status = EBADMSG;
		if (kg_priv_ans_encode(&a, buf, sizeof(buf), &len) ||
		    kg_priv_send(sock, buf, len))
			_exit(1);
	}
	_exit(0);
}

static double hop(int sock, const uint8_t *pl)
{
	uint8_t buf[KG_PRIV_FRAME_MAX];
	struct kg_priv_req q;
	struct kg_priv_ans a;
	double t0 = now_ns();
	size_t n;

	for (int i = 0; i < ROUNDS; i++) {
		knock_req(&q, pl);
		q.rx_us = (uint64_t)i;
		if (kg_priv_req_encode(&q, buf, sizeof(buf), &n) ||
		    kg_priv_send(sock, buf, n) ||
		    kg_priv_recv(sock, buf, sizeof(buf)) <= 0 ||
		    kg_priv_ans_decode(buf, 6, &a) || a.status)
			return -1;
	}
	return (now_ns() - t0) / ROUNDS;
}

static double inproc(const uint8_t *pl)
{
	uint8_t buf[KG_PRIV_FRAME_MAX], ab[16];
	struct kg_priv_req q, d;
	struct kg_priv_ans a = { KG_PRIV_REQ_KNOCK, 0 };
	double t0 = now_ns();
	size_t n, an;

	for (int i = 0; i < ROUNDS; i++) {
		knock_req(&q, pl);
		q.rx_us = (uint64_t)i;
		if (kg_priv_req_encode(&q, buf, sizeof(buf), &n) ||
		    kg_priv_req_decode(buf, n, &d) ||
		    kg_priv_ans_encode(&a, ab, sizeof(ab), &an) ||
		    kg_priv_ans_decode(ab, an, &a))
			return -1;
	}
	return (now_ns() - t0) / ROUNDS;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	uint8_t pl[81];
	double h[REPS], b[REPS];
	int sv[2], st;
	pid_t pid;

	memset(pl, 0x5a, sizeof(pl));
	if (kg_priv_pair(sv)) {
		perror("socketpair");
		return 1;
	}
	if ((pid = fork()) == 0) {
		close(sv[0]);
		monitor(sv[1]);
	}
	close(sv[1]);
	(void)hop(sv[0], pl);   /* warm up both processes */
	for (int r = 0; r < REPS; r++) {
		b[r] = inproc(pl);
		h[r] = hop(sv[0], pl);
		if (b[r] < 0 || h[r] < 0) {
			fprintf(stderr, "bench_priv_hop: a round trip failed\n");
			return 1;
		}
	}
	close(sv[0]);
	waitpid(pid, &st, 0);
	qsort(h, REPS, sizeof(double), cmp);
	qsort(b, REPS, sizeof(double), cmp);
	printf("knock frame encode+decode in one process: %8.0f ns/knock (median of %d x %d)\n",
	       b[REPS / 2], REPS, ROUNDS);
	printf("knock to the monitor and its answer back: %8.0f ns/knock (median of %d x %d)\n",
	       h[REPS / 2], REPS, ROUNDS);
	printf("the hop: %.1f us/knock more, ratio %.1f (budget 200 us/step)\n",
	       (h[REPS / 2] - b[REPS / 2]) / 1000, h[REPS / 2] / b[REPS / 2]);
	return 0;
}
