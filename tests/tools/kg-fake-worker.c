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
 *   big N                         an N-byte frame (oversized if > 8192)
 *   open ADDR                     green's control port: a connection
 *                                 from ADDR (a tunnel address)
 *   hello ADDR DERFILE            its certificate
 *   proof ADDR KEYPEM CLIENTPUB GREENPUB
 *                                 the card proof over the last challenge,
 *                                 signed with KEYPEM; the WireGuard public
 *                                 keys are key files (base64)
 *   service ADDR KEYPEM NAME      a service request with the last nonce
 *                                 and session id, signed with KEYPEM
 *   quit
 * Each answer is printed: "fake_worker line=N status=S" (S the monitor's
 * status: 0 accepted, an errno refused; "none" if no answer came), with
 * " code=C port=P" for a service answer, " statuses=S1,S2..." for the
 * answer to a knocks frame (raw 0d...); an unasked message as
 * "fake_worker async=T session=ID code=C port=P".
 * Test-only, never installed.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "pki.h"
#include "priv.h"
#include "transcript.h"
#include "wg_key.h"

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

/* What the monitor issued last: the worker echoes them, as a real one. */
static uint8_t last_nonce[32];
static uint64_t last_session;

static int sign_with(const char *keyfile, const uint8_t digest[32],
		     uint8_t *sig, size_t *sig_len)
{
	struct kg_hostkey *k;
	struct kg_err e = { "" };
	int rc;

	if (kg_hostkey_load(&k, keyfile, &e))
		return -EINVAL;
	rc = kg_hostkey_sign(k, digest, sig, sig_len);
	kg_hostkey_free(k);
	return rc;
}

static int build_ctrl(char *line, uint8_t *buf, size_t cap, size_t *n)
{
	static uint8_t der[8192], sig[72];
	char a[64], f[256], k[256], c[256], g[256], name[64];
	struct kg_priv_req q = { 0 };
	struct kg_proof_binding b;
	struct kg_err e = { "" };
	uint8_t digest[32];
	FILE *fp;

	if (sscanf(line, "open %63s", a) == 1) {
		q.type = KG_PRIV_REQ_CTRL_OPEN;
	} else if (sscanf(line, "hello %63s %255s", a, f) == 2) {
		if (!(fp = fopen(f, "rb")))
			return -EINVAL;
		q.data_len = fread(der, 1, sizeof(der), fp);
		fclose(fp);
		q.data = der;
		q.type = KG_PRIV_REQ_CTRL_HELLO;
	} else if (sscanf(line, "proof %63s %255s %255s %255s", a, k, c, g) == 4) {
		memcpy(b.challenge, last_nonce, 32);
		if (kg_addr_parse(a, &b.tunnel) ||
		    kg_key_file_read(c, b.client_wg_pub, &e) ||
		    kg_key_file_read(g, b.green_wg_pub, &e) ||
		    kg_transcript_card_proof_digest(&b, digest) ||
		    sign_with(k, digest, sig, &q.data_len))
			return -EINVAL;
		q.data = sig;
		q.type = KG_PRIV_REQ_CTRL_PROOF;
	} else if (sscanf(line, "service %63s %255s %63s", a, k, name) == 3) {
		if (kg_transcript_service_digest(last_session, last_nonce, name,
						 digest) ||
		    sign_with(k, digest, sig, &q.data_len))
			return -EINVAL;
		memcpy(q.nonce, last_nonce, 32);
		q.name = (const uint8_t *)name;
		q.name_len = strlen(name);
		q.data = sig;
		q.type = KG_PRIV_REQ_CTRL_SERVICE;
	} else {
		return -ENOENT;
	}
	if (kg_addr_parse(a, &q.addr))
		return -EINVAL;
	return kg_priv_req_encode(&q, buf, cap, n);
}

static void remember(const struct kg_priv_ans *a)
{
	static const uint8_t zero[32];

	if (memcmp(a->nonce, zero, 32))
		memcpy(last_nonce, a->nonce, 32);
	if (a->session_id)
		last_session = a->session_id;
}

static void print_async(const struct kg_priv_ans *a)
{
	remember(a);
	printf("fake_worker async=%u session=%016llx code=%u port=%u\n",
	       a->async, (unsigned long long)a->session_id, a->code,
	       a->grant.port);
}

/* Unasked messages waiting on the socket, printed. */
static void poll_async(void)
{
	static uint8_t buf[8192];
	struct pollfd p = { SOCK, POLLIN, 0 };
	struct kg_priv_ans a;
	ssize_t got;

	while (poll(&p, 1, 0) == 1) {
		got = kg_priv_recv(SOCK, buf, sizeof(buf));
		if (got <= 0)
			exit(1);
		if (kg_priv_ans_decode(buf, (size_t)got, &a) == 0 && a.async)
			print_async(&a);
		else
			printf("fake_worker unexpected\n");
	}
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

	if ((got = build_ctrl(line, buf, cap, n)) != -ENOENT)
		return got;
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
	static uint8_t buf[16384];
	static char line[8192];
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

		poll_async();
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
again:
		if (poll(&p, 1, 3000) != 1) {
			printf("fake_worker line=%u status=none\n", lineno);
			continue;
		}
		got = kg_priv_recv(SOCK, buf, sizeof(buf));
		if (got > 0) {
			struct kg_priv_ans a;

			if (kg_priv_ans_decode(buf, (size_t)got, &a)) {
				printf("fake_worker line=%u status=badanswer\n", lineno);
			} else if (a.async) {
				print_async(&a);
				goto again;
			} else {
				remember(&a);
				printf("fake_worker line=%u status=%u code=%u port=%u",
				       lineno, a.status, a.code, a.grant.port);
				for (size_t i = 0; i < a.n_statuses; i++)
					printf("%s%u", i ? "," : " statuses=",
					       a.statuses[i]);
				printf("\n");
			}
		} else {
			printf("fake_worker line=%u status=none\n", lineno);
			if (got == 0)
				return 1;
		}
	}
}
