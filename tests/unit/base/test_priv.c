/* SPDX-License-Identifier: MIT */
/* lib/priv: frames both ways, bounds, the socketpair with fd passing, and
 * (as root) the worker's drop seen from outside (/proc/PID/status) and
 * from inside (execve, open, socket(AF_NETLINK) fail). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "priv.h"

static void test_req_roundtrip(void **state)
{
	uint8_t buf[KG_PRIV_FRAME_MAX], pl[100];
	struct kg_priv_req q = { .type = KG_PRIV_REQ_KNOCK, .sport = 4000,
				 .dport = 62201, .ifindex = 7, .rx_us = 123456789, .payload = pl,
				 .payload_len = sizeof(pl) }, d;
	size_t n;

	(void)state;
	memset(pl, 0xab, sizeof(pl));
	assert_int_equal(kg_addr_parse("2001:db8::1", &q.addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 17 + 2 + 2 + 4 + 8 + 2 + 100);
	assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
	assert_int_equal(d.type, KG_PRIV_REQ_KNOCK);
	assert_true(kg_addr_eq(&d.addr, &q.addr));
	assert_int_equal(d.sport, 4000);
	assert_int_equal(d.dport, 62201);
	assert_int_equal(d.ifindex, 7);
	assert_int_equal(d.rx_us, 123456789);
	assert_int_equal(d.payload_len, 100);
	assert_memory_equal(d.payload, pl, 100);

	q = (struct kg_priv_req){ .type = KG_PRIV_REQ_BAN, .seconds = 600 };
	assert_int_equal(kg_addr_parse("198.51.100.9", &q.addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 5 + 4);
	assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
	assert_int_equal(d.type, KG_PRIV_REQ_BAN);
	assert_int_equal(d.seconds, 600);
	assert_true(kg_addr_eq(&d.addr, &q.addr));

	q.type = KG_PRIV_REQ_UNBAN;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
	assert_int_equal(d.type, KG_PRIV_REQ_UNBAN);

	q.type = KG_PRIV_REQ_PROTECTED;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 5);
	assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
	assert_int_equal(d.type, KG_PRIV_REQ_PROTECTED);
	assert_true(kg_addr_eq(&d.addr, &q.addr));
	assert_int_equal(kg_priv_req_decode(buf, n + 1, &d), -EBADMSG);

	/* green's sequence ports: proto and port; any other proto refused
	 * both ways */
	q = (struct kg_priv_req){ .type = KG_PRIV_REQ_PORT, .proto = 6,
				  .dport = 8080 };
	assert_int_equal(kg_addr_parse("198.51.100.9", &q.addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 5 + 1 + 2);
	assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
	assert_int_equal(d.type, KG_PRIV_REQ_PORT);
	assert_int_equal(d.proto, 6);
	assert_int_equal(d.dport, 8080);
	assert_int_equal(kg_priv_req_decode(buf, n - 1, &d), -EBADMSG);
	buf[6] = 1;   /* ICMP */
	assert_int_equal(kg_priv_req_decode(buf, n, &d), -EBADMSG);
	q.proto = 1;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EINVAL);
}

static void test_req_malformed(void **state)
{
	uint8_t buf[KG_PRIV_FRAME_MAX + 8], pl[KG_PRIV_PAYLOAD_MAX + 1] = { 0 };
	struct kg_priv_req q = { .type = KG_PRIV_REQ_BAN, .seconds = 1 }, d;
	size_t n;

	(void)state;
	assert_int_equal(kg_addr_parse("198.51.100.9", &q.addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	/* every truncation, a trailing byte, an unknown type, a bad family */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(kg_priv_req_decode(buf, i, &d), -EBADMSG);
	buf[n] = 0;
	assert_int_equal(kg_priv_req_decode(buf, n + 1, &d), -EBADMSG);
	buf[0] = 9;
	assert_int_equal(kg_priv_req_decode(buf, n, &d), -EBADMSG);
	buf[0] = KG_PRIV_ANS;
	assert_int_equal(kg_priv_req_decode(buf, n, &d), -EBADMSG);
	buf[0] = KG_PRIV_REQ_BAN;
	buf[1] = 5;
	assert_int_equal(kg_priv_req_decode(buf, n, &d), -EBADMSG);
	/* a payload over its bound: not written, not read */
	q = (struct kg_priv_req){ .type = KG_PRIV_REQ_KNOCK, .payload = pl,
				  .payload_len = sizeof(pl) };
	assert_int_equal(kg_addr_parse("198.51.100.9", &q.addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EMSGSIZE);
	q.payload_len = KG_PRIV_PAYLOAD_MAX;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	buf[1 + 5 + 16] = (KG_PRIV_PAYLOAD_MAX + 1) >> 8;
	buf[1 + 5 + 17] = (KG_PRIV_PAYLOAD_MAX + 1) & 0xff;
	buf[n] = 0;
	assert_int_equal(kg_priv_req_decode(buf, n + 1, &d), -EBADMSG);
	assert_int_equal(kg_priv_req_decode(buf, KG_PRIV_FRAME_MAX + 1, &d),
			 -EBADMSG);
	q.type = 77;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EINVAL);
}

static void test_ans(void **state)
{
	uint8_t buf[16];
	struct kg_priv_ans a = { KG_PRIV_REQ_BAN, EPERM }, d;
	size_t n;

	(void)state;
	assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
	assert_int_equal(kg_priv_ans_decode(buf, n, &d), 0);
	assert_int_equal(d.for_type, KG_PRIV_REQ_BAN);
	assert_int_equal(d.status, EPERM);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(kg_priv_ans_decode(buf, i, &d), -EBADMSG);
	assert_int_equal(kg_priv_ans_decode(buf, n + 1, &d), -EBADMSG);
	buf[0] = KG_PRIV_REQ_KNOCK;
	assert_int_equal(kg_priv_ans_decode(buf, n, &d), -EBADMSG);
}

/* Every decodable frame: each shorter prefix and one more byte fail. */
static void assert_strict_req(const uint8_t *buf, size_t n)
{
	struct kg_priv_req d;
	uint8_t more[KG_PRIV_FRAME_MAX + 1];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(kg_priv_req_decode(buf, i, &d), -EBADMSG);
	memcpy(more, buf, n);
	more[n] = 0;
	assert_int_equal(kg_priv_req_decode(more, n + 1, &d), -EBADMSG);
}

static void assert_strict_ans(const uint8_t *buf, size_t n)
{
	struct kg_priv_ans d;
	uint8_t more[KG_PRIV_FRAME_MAX + 1];

	for (size_t i = 0; i < n; i++)
		assert_int_equal(kg_priv_ans_decode(buf, i, &d), -EBADMSG);
	memcpy(more, buf, n);
	more[n] = 0;
	assert_int_equal(kg_priv_ans_decode(more, n + 1, &d), -EBADMSG);
}

/* green's knocks of one NFLOG read: KNOCK and PORT entries in one frame,
 * one status each in the answer; counts 1..KG_PRIV_BATCH_MAX both ways. */
static void test_knocks(void **state)
{
	uint8_t buf[KG_PRIV_FRAME_MAX + 1], pl[81];
	struct kg_priv_req q = { .type = KG_PRIV_REQ_KNOCKS, .n_knocks = 2 };
	struct kg_priv_req *d = malloc(sizeof(*d));
	struct kg_priv_ans a = { .for_type = KG_PRIV_REQ_KNOCKS }, da;
	size_t n, one;

	(void)state;
	assert_non_null(d);
	memset(pl, 0x5a, sizeof(pl));
	q.knocks[0] = (struct kg_priv_knock){ .type = KG_PRIV_REQ_KNOCK,
		.sport = 40000, .dport = 62201, .ifindex = 3, .rx_us = 99,
		.payload = pl, .payload_len = sizeof(pl) };
	assert_int_equal(kg_addr_parse("2001:db8::7", &q.knocks[0].addr), 0);
	q.knocks[1] = (struct kg_priv_knock){ .type = KG_PRIV_REQ_PORT,
		.proto = 17, .dport = 5353 };
	assert_int_equal(kg_addr_parse("198.51.100.9", &q.knocks[1].addr), 0);
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 2 + (1 + 17 + 2 + 2 + 4 + 8 + 2 + 81) + (1 + 5 + 1 + 2));
	assert_int_equal(kg_priv_req_decode(buf, n, d), 0);
	assert_int_equal(d->type, KG_PRIV_REQ_KNOCKS);
	assert_int_equal(d->n_knocks, 2);
	assert_int_equal(d->knocks[0].type, KG_PRIV_REQ_KNOCK);
	assert_true(kg_addr_eq(&d->knocks[0].addr, &q.knocks[0].addr));
	assert_int_equal(d->knocks[0].sport, 40000);
	assert_int_equal(d->knocks[0].dport, 62201);
	assert_int_equal(d->knocks[0].ifindex, 3);
	assert_int_equal(d->knocks[0].rx_us, 99);
	assert_int_equal(d->knocks[0].payload_len, 81);
	assert_memory_equal(d->knocks[0].payload, pl, 81);
	assert_int_equal(d->knocks[1].type, KG_PRIV_REQ_PORT);
	assert_int_equal(d->knocks[1].proto, 17);
	assert_int_equal(d->knocks[1].dport, 5353);
	assert_true(kg_addr_eq(&d->knocks[1].addr, &q.knocks[1].addr));
	assert_strict_req(buf, n);
	/* a count the frame does not hold, 0, or over the bound */
	buf[1] = 3;
	assert_int_equal(kg_priv_req_decode(buf, n, d), -EBADMSG);
	buf[1] = 0;
	assert_int_equal(kg_priv_req_decode(buf, n, d), -EBADMSG);
	buf[1] = KG_PRIV_BATCH_MAX + 1;
	assert_int_equal(kg_priv_req_decode(buf, n, d), -EBADMSG);
	buf[1] = 2;
	/* an entry of another type (a ban) is not an entry */
	buf[2] = KG_PRIV_REQ_BAN;
	assert_int_equal(kg_priv_req_decode(buf, n, d), -EBADMSG);
	q.knocks[1].type = KG_PRIV_REQ_BAN;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EINVAL);
	q.n_knocks = 0;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EINVAL);
	q.n_knocks = KG_PRIV_BATCH_MAX + 1;
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), -EINVAL);
	/* a full batch of knock-sized payloads fits one frame */
	q.n_knocks = KG_PRIV_BATCH_MAX;
	for (size_t i = 0; i < KG_PRIV_BATCH_MAX; i++)
		q.knocks[i] = q.knocks[0];
	assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
	assert_int_equal(kg_priv_req_decode(buf, n, d), 0);
	assert_int_equal(d->n_knocks, KG_PRIV_BATCH_MAX);
	one = 1 + 17 + 2 + 2 + 4 + 8 + 2 + 81;
	assert_int_equal(n, 2 + KG_PRIV_BATCH_MAX * one);
	free(d);

	/* the answer: one status per entry */
	a.n_statuses = 3;
	a.statuses[0] = 0;
	a.statuses[1] = EKEYREJECTED;
	a.statuses[2] = EACCES;
	assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 1 + 4 + 1 + 3 * 4);
	assert_int_equal(kg_priv_ans_decode(buf, n, &da), 0);
	assert_int_equal(da.for_type, KG_PRIV_REQ_KNOCKS);
	assert_int_equal(da.n_statuses, 3);
	assert_int_equal(da.statuses[1], EKEYREJECTED);
	assert_int_equal(da.statuses[2], EACCES);
	assert_strict_ans(buf, n);
	buf[6] = 0;
	assert_int_equal(kg_priv_ans_decode(buf, n, &da), -EBADMSG);
	a.n_statuses = 0;
	assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), -EMSGSIZE);
	/* a refused batch (malformed) has no statuses */
	a.status = EBADMSG;
	assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1 + 1 + 4);
	assert_int_equal(kg_priv_ans_decode(buf, n, &da), 0);
	assert_int_equal(da.n_statuses, 0);
}

static void test_ctrl_req(void **state)
{
	static const uint8_t types[] = {
		KG_PRIV_REQ_CTRL_OPEN, KG_PRIV_REQ_CTRL_HELLO,
		KG_PRIV_REQ_CTRL_PROOF, KG_PRIV_REQ_CTRL_SERVICE,
		KG_PRIV_REQ_CTRL_REPROOF_REQ, KG_PRIV_REQ_CTRL_REPROOF,
		KG_PRIV_REQ_CTRL_END,
	};
	uint8_t buf[KG_PRIV_FRAME_MAX], buf2[KG_PRIV_FRAME_MAX];
	uint8_t cert[KG_PRIV_CERT_MAX + 1], sig[KG_PRIV_SIG_MAX + 1];
	char name[KG_PRIV_NAME_MAX + 2];
	size_t n, n2;

	(void)state;
	memset(cert, 0x30, sizeof(cert));
	memset(sig, 0x02, sizeof(sig));
	memset(name, 'w', sizeof(name));
	for (size_t i = 0; i < sizeof(types); i++) {
		struct kg_priv_req q = { .type = types[i], .why = 1 }, d;

		assert_int_equal(kg_addr_parse("10.88.1.10", &q.addr), 0);
		q.data = types[i] == KG_PRIV_REQ_CTRL_HELLO ? cert : sig;
		q.data_len = types[i] == KG_PRIV_REQ_CTRL_HELLO ? 900 : 70;
		q.name = (const uint8_t *)name;
		q.name_len = 3;
		memset(q.nonce, 0x5a, sizeof(q.nonce));
		assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
		assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
		assert_int_equal(d.type, types[i]);
		assert_true(kg_addr_eq(&d.addr, &q.addr));
		assert_int_equal(kg_priv_req_encode(&d, buf2, sizeof(buf2), &n2), 0);
		assert_int_equal(n2, n);
		assert_memory_equal(buf2, buf, n);
		assert_strict_req(buf, n);
	}
	/* bounds: a certificate, a signature, a name one byte too long */
	{
		struct kg_priv_req q = { .type = KG_PRIV_REQ_CTRL_HELLO,
					 .data = cert,
					 .data_len = KG_PRIV_CERT_MAX + 1 }, d;

		assert_int_equal(kg_addr_parse("10.88.1.10", &q.addr), 0);
		assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n),
				 -EMSGSIZE);
		q.data_len = KG_PRIV_CERT_MAX;
		assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n), 0);
		assert_int_equal(kg_priv_req_decode(buf, n, &d), 0);
		q.type = KG_PRIV_REQ_CTRL_PROOF;
		q.data_len = KG_PRIV_SIG_MAX + 1;
		assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n),
				 -EMSGSIZE);
		/* a hand-made proof frame with a 73-byte signature */
		buf[0] = KG_PRIV_REQ_CTRL_PROOF;
		buf[1] = 4;
		memset(buf + 2, 10, 4);
		buf[6] = 0;
		buf[7] = KG_PRIV_SIG_MAX + 1;
		memset(buf + 8, 2, KG_PRIV_SIG_MAX + 1);
		assert_int_equal(kg_priv_req_decode(buf, 8 + KG_PRIV_SIG_MAX + 1, &d),
				 -EBADMSG);
		q.type = KG_PRIV_REQ_CTRL_SERVICE;
		q.data_len = 70;
		q.name = (const uint8_t *)name;
		q.name_len = KG_PRIV_NAME_MAX + 1;
		assert_int_equal(kg_priv_req_encode(&q, buf, sizeof(buf), &n),
				 -EMSGSIZE);
	}
}

static void test_ctrl_ans(void **state)
{
	static const struct { uint8_t for_type, async; } kinds[] = {
		{ KG_PRIV_REQ_CTRL_OPEN, 0 }, { KG_PRIV_REQ_CTRL_HELLO, 0 },
		{ KG_PRIV_REQ_CTRL_PROOF, 0 }, { KG_PRIV_REQ_CTRL_SERVICE, 0 },
		{ KG_PRIV_REQ_CTRL_REPROOF_REQ, 0 },
		{ KG_PRIV_REQ_CTRL_REPROOF, 0 }, { KG_PRIV_REQ_CTRL_END, 0 },
		{ 0, KG_PRIV_ASYNC_SERVICE_DONE }, { 0, KG_PRIV_ASYNC_MOVED },
		{ 0, KG_PRIV_ASYNC_END },
	};
	uint8_t buf[KG_PRIV_FRAME_MAX], buf2[KG_PRIV_FRAME_MAX];
	size_t n, n2;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (uint16_t code = 0; code < 2; code++) {
			struct kg_priv_ans a = { .for_type = kinds[i].for_type,
						 .async = kinds[i].async,
						 .session_id = 0x1122334455667788ULL,
						 .idle_timeout = 600, .expires = 3600,
						 .reproof_interval = 60,
						 .code = code ? KG_PRIV_MAX_SERVICES : 0,
						 .n_services = 2 }, d;

			a.name = (struct kg_priv_view){ (const uint8_t *)"alice", 5 };
			a.services[0] = (struct kg_priv_view){ (const uint8_t *)"web", 3 };
			a.services[1] = (struct kg_priv_view){ (const uint8_t *)"ssh", 3 };
			memset(a.nonce, 0xc3, sizeof(a.nonce));
			assert_int_equal(kg_addr_parse("10.0.0.3", &a.grant.addr), 0);
			a.grant.port = 40000;
			a.grant.lease = 20;
			assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
			assert_int_equal(kg_priv_ans_decode(buf, n, &d), 0);
			assert_int_equal(d.for_type, a.for_type);
			assert_int_equal(d.async, a.async);
			assert_int_equal(kg_priv_ans_encode(&d, buf2, sizeof(buf2), &n2), 0);
			assert_int_equal(n2, n);
			assert_memory_equal(buf2, buf, n);
			assert_strict_ans(buf, n);
		}
	}
	/* a refusal carries no body: the fields after status are not read */
	{
		struct kg_priv_ans a = { .for_type = KG_PRIV_REQ_CTRL_HELLO,
					 .status = EACCES }, d;

		assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
		assert_int_equal(n, 6);
		assert_int_equal(kg_priv_ans_decode(buf, n, &d), 0);
		assert_int_equal(d.status, EACCES);
	}
	/* more services than a SESSION holds; an unknown async type */
	{
		struct kg_priv_ans a = { .for_type = KG_PRIV_REQ_CTRL_PROOF }, d;

		assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), 0);
		buf[n - 1] = KG_PRIV_MAX_SERVICES + 1;
		assert_int_equal(kg_priv_ans_decode(buf, n, &d), -EBADMSG);
		buf[0] = KG_PRIV_ASYNC_END + 1;
		assert_int_equal(kg_priv_ans_decode(buf, n, &d), -EBADMSG);
		a.async = KG_PRIV_ASYNC_END + 1;
		assert_int_equal(kg_priv_ans_encode(&a, buf, sizeof(buf), &n), -EINVAL);
	}
}

static void test_pair_and_fd(void **state)
{
	int sv[2], p[2], got = -1;
	uint8_t big[KG_PRIV_FRAME_MAX + 1] = { 0 }, in[KG_PRIV_FRAME_MAX];
	char c = 0;

	(void)state;
	assert_int_equal(kg_priv_pair(sv), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(kg_priv_send_fd(sv[0], (const uint8_t *)"x", 1, p[0]), 0);
	assert_int_equal(kg_priv_recv_fd(sv[1], in, sizeof(in), &got), 1);
	assert_true(got >= 0 && got != p[0]);
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_int_equal(read(got, &c, 1), 1);
	assert_int_equal(c, 'y');
	close(got);
	/* a frame larger than the reader's buffer is dropped whole */
	assert_int_equal(kg_priv_send(sv[0], big, sizeof(big)), 0);
	assert_int_equal(kg_priv_recv(sv[1], in, sizeof(in)), -EMSGSIZE);
	assert_int_equal(kg_priv_send(sv[0], (const uint8_t *)"ok", 2), 0);
	assert_int_equal(kg_priv_recv(sv[1], in, sizeof(in)), 2);
	close(sv[0]);
	assert_int_equal(kg_priv_recv(sv[1], in, sizeof(in)), 0);
	close(sv[1]);
	close(p[0]);
	close(p[1]);
}

/* "Name:\tvalue" of /proc/PID/status into out; 0 if found. */
static int status_field(pid_t pid, const char *name, char *out, size_t cap)
{
	char path[64], line[256];
	size_t nl = strlen(name);
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, nl) && line[nl] == ':') {
			snprintf(out, cap, "%s", line + nl + 1 + strspn(line + nl + 1, " \t"));
			out[strcspn(out, "\n")] = 0;
			rc = 0;
			break;
		}
	fclose(f);
	return rc;
}

/* The child drops to nobody, tries what a compromised worker would and
 * reports each errno, then waits while the parent reads its status. */
static void test_drop(void **state)
{
	int res[2], go[2], errs[4];
	char v[64];
	pid_t pid;
	int st;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	assert_int_equal(pipe(res), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct kg_err e = { "" };
		char *argv[] = { "/bin/true", NULL };
		char c;

		errs[0] = kg_priv_drop_worker("nobody", &e);
		errno = 0;
		execve("/bin/true", argv, NULL);
		errs[1] = errno;
		errno = 0;
		if (open("/etc/hostname", O_RDONLY) < 0)
			errs[2] = errno;
		else
			errs[2] = 0;
		errno = 0;
		if (socket(AF_NETLINK, SOCK_RAW, 0) < 0)
			errs[3] = errno;
		else
			errs[3] = 0;
		if (write(res[1], errs, sizeof(errs)) != sizeof(errs) ||
		    read(go[0], &c, 1) < 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(read(res[0], errs, sizeof(errs)), sizeof(errs));
	assert_int_equal(errs[0], 0);
	assert_int_equal(errs[1], EPERM);
	assert_int_equal(errs[2], EPERM);
	assert_int_equal(errs[3], EPERM);
	assert_int_equal(status_field(pid, "CapPrm", v, sizeof(v)), 0);
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_field(pid, "CapEff", v, sizeof(v)), 0);
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_field(pid, "CapInh", v, sizeof(v)), 0);
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_field(pid, "CapAmb", v, sizeof(v)), 0);
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_field(pid, "CapBnd", v, sizeof(v)), 0);
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_field(pid, "NoNewPrivs", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	assert_int_equal(status_field(pid, "Seccomp", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(status_field(pid, "Uid", v, sizeof(v)), 0);
	assert_true(strncmp(v, "0\t", 2) != 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(res[0]); close(res[1]); close(go[0]); close(go[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_req_roundtrip),
		cmocka_unit_test(test_req_malformed),
		cmocka_unit_test(test_ans),
		cmocka_unit_test(test_knocks),
		cmocka_unit_test(test_ctrl_req),
		cmocka_unit_test(test_ctrl_ans),
		cmocka_unit_test(test_pair_and_fd),
		cmocka_unit_test(test_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
