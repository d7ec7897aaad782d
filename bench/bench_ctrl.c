/* SPDX-License-Identifier: MIT */
/*
 * bench_ctrl: green's control server's cost per event at C open control
 * connections (meson test --benchmark -C BUILD).
 *
 * For each C it opens C connections (socketpairs, each for a session of
 * its own, waiting for their hello), then times what one event costs
 * the server whatever the others do: an fd woken with nothing to read
 * (kg_ctrl_server_handle: the epoll callback's work; the recv that finds
 * EAGAIN included), an answer from red for a session (push_moved, here
 * for a session not yet live: found, then refused), and green ending a
 * session that has no connection (end_session); and the periodic tick
 * (timeouts, reproofs, every 100 ms) with none due. CPU per event
 * (CLOCK_PROCESS_CPUTIME_ID), ratio to the first C.
 */
#include "bench_cpu.h"
#include "ctrl_server.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVENTS 20000

/* Session of tunnel 10.a.b.c: 1 + a*65536 + b*256 + c. */
static int lookup(void *ctx, const struct kg_addr *t, struct kg_ctrl_peer *p)
{
	(void)ctx;
	memset(p, 0, sizeof(*p));
	p->session_id = 1 + ((uint64_t)t->b[1] << 16 | (uint64_t)t->b[2] << 8 | t->b[3]);
	strcpy(p->user, "bench");
	return 0;
}

static int verify_cert(void *ctx, const uint8_t *der, size_t len, void **cert,
		       uint8_t spki[32], const char **reason)
{
	(void)ctx; (void)der; (void)len; (void)cert; (void)spki;
	*reason = "bench";
	return -EACCES;
}

static int verify_sig(void *ctx, void *cert, const uint8_t d[32],
		      const uint8_t *sig, size_t n)
{
	(void)ctx; (void)cert; (void)d; (void)sig; (void)n;
	return -EACCES;
}

static void cert_free(void *ctx, void *cert) { (void)ctx; (void)cert; }

static int live(void *ctx, uint64_t id, struct kg_ctrl_live *out)
{
	(void)ctx; (void)id; (void)out;
	return -ENOENT;
}

static void end(void *ctx, uint64_t id, enum kg_sess_end why)
{
	(void)ctx; (void)id; (void)why;
}

static int open_svc(void *ctx, uint64_t id, const char *user, const char *svc,
		    struct kg_ctrl_grant *g, uint16_t *code)
{
	(void)ctx; (void)id; (void)user; (void)svc; (void)g;
	*code = 0;
	return -EACCES;
}

static const struct kg_ctrl_ops ops = {
	.lookup = lookup, .verify_cert = verify_cert, .verify_sig = verify_sig,
	.cert_free = cert_free, .session_live = live, .session_end = end,
	.open_service = open_svc,
};

static int one(uint32_t c, double us[4])
{
	struct kg_ctrl_server_conf conf = { .io_timeout_ms = 600000,
					    .max_clients = c + 1 };
	struct kg_ctrl_server *s;
	struct kg_ctrl_grant g = { 0 };
	int *peer = calloc(c, sizeof(*peer)), *mine = calloc(c, sizeof(*mine));
	double t0;
	int r = -ENOMEM;

	if (!peer || !mine || kg_ctrl_server_new(&s, &conf, &ops, NULL, NULL))
		goto out;
	for (uint32_t i = 0; i < c; i++) {
		struct kg_addr t = { .family = AF_INET,
				     .b = { 10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i } };
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
			r = -errno;
			fprintf(stderr, "socketpair %u: %s\n", i, strerror(errno));
			goto free;
		}
		peer[i] = sv[1];
		mine[i] = sv[0];
		if ((r = kg_ctrl_server_add(s, sv[0], &t)))
			goto free;
	}
	kg_addr_parse("203.0.113.2", &g.addr);
	g.port = 40001;
	/* the events land on connections spread over the table */
	t0 = cpu_us();
	for (uint32_t k = 0; k < EVENTS; k++)
		kg_ctrl_server_handle(s, mine[(k * 7919u) % c], POLLIN);
	us[0] = (cpu_us() - t0) / EVENTS;
	t0 = cpu_us();
	for (uint32_t k = 0; k < EVENTS; k++)
		(void)kg_ctrl_server_push_moved(s, 1 + (k * 7919u) % c, "web", &g);
	us[1] = (cpu_us() - t0) / EVENTS;
	t0 = cpu_us();
	for (uint32_t k = 0; k < EVENTS; k++)
		(void)kg_ctrl_server_end_session(s, (uint64_t)1 << 40 | k, 0);
	us[2] = (cpu_us() - t0) / EVENTS;
	t0 = cpu_us();
	for (uint32_t k = 0; k < EVENTS / 10; k++)
		kg_ctrl_server_tick(s);
	us[3] = (cpu_us() - t0) / (EVENTS / 10);
	r = kg_ctrl_server_count(s) == c ? 0 : -EPROTO;
free:
	kg_ctrl_server_free(s);
	for (uint32_t i = 0; i < c; i++)
		if (peer[i] > 0)
			close(peer[i]);
out:
	free(peer);
	free(mine);
	return r;
}

int main(int argc, char **argv)
{
	static const uint32_t def[] = { 10, 1000, 9000 };
	struct rlimit rl;
	uint32_t cs[8];
	size_t nc = 0;
	double first[4] = { 0 };

	kg_log_init("bench_ctrl", KG_LOG_ERR);
	for (int a = 1; a < argc && nc < 8; a++)
		cs[nc++] = (uint32_t)strtoul(argv[a], NULL, 10);
	if (!nc)
		for (; nc < 3; nc++)
			cs[nc] = def[nc];
	/* two fds a connection */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	printf("green control server: CPU per event (us) at C open connections, %d events each\n", EVENTS);
	printf("%8s %10s %12s %12s %10s   ratio to C=%u (fd answer end tick)\n", "C",
	       "fd_event", "red_answer", "end_session", "tick", cs[0]);
	for (size_t i = 0; i < nc; i++) {
		double us[4];

		if ((size_t)cs[i] * 2 + 64 > rl.rlim_cur) {
			printf("%8u   not reachable: RLIMIT_NOFILE %lu\n", cs[i],
			       (unsigned long)rl.rlim_cur);
			continue;
		}
		if (one(cs[i], us)) {
			printf("%8u failed\n", cs[i]);
			return 1;
		}
		if (!first[0])
			memcpy(first, us, sizeof(first));
		printf("%8u %10.3f %12.3f %12.3f %10.3f   %5.2f %5.2f %5.2f %5.2f\n",
		       cs[i], us[0], us[1], us[2], us[3], us[0] / first[0],
		       us[1] / first[1], us[2] / first[2], us[3] / first[3]);
		fflush(stdout);
	}
	return 0;
}
