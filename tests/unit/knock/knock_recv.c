/* SPDX-License-Identifier: MIT */
/*
 * kg-test-knock-recv USERS_DIR GREEN_PUB_B64 PORT SECONDS: the knock half
 * of a fake green for client e2e tests (the real daemon comes later).
 * Receives knocks on UDP PORT for SECONDS, decides each with
 * green/knock_check, logs the decision record on stderr and, for each
 * accepted knock, prints "accepted USER CLIENT_PUB_B64 SRC" on stdout
 * (flushed) for the test to add the peer with `wg`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "green/knock_check.h"
#include "lib/replay.h"
#include "addr.h"
#include "log.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void serve(int fd, struct kg_knock_checker *k, int seconds)
{
	uint64_t end = wall_ms() + (uint64_t)seconds * 1000;

	while (wall_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage src;
		socklen_t sl = sizeof(src);
		struct kg_knock_decision d;
		struct kg_addr from;
		uint8_t buf[512];
		char a[KG_ADDR_STRLEN], b64[45];
		ssize_t n;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &sl);
		if (n < 0)
			continue;
		kg_addr_from_sockaddr((struct sockaddr *)&src, &from);
		if (IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&src)->sin6_addr)) {
			from.family = AF_INET;
			memmove(from.b, from.b + 12, 4);
			memset(from.b + 4, 0, 12);
		}
		kg_addr_str(&from, a);
		kg_knock_check(k, buf, (size_t)n, wall_ms(), &d);
		kg_knock_log_decision(&d, a);
		if (d.reason == KG_KNOCK_ACCEPTED) {
			kg_base64_encode(d.client_pub, 32, b64);
			printf("accepted %s %s %s\n", d.user->name, b64, a);
			fflush(stdout);
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int off = 0;
	struct kg_knock_checker k;
	struct kg_users u;
	struct kg_rcache *rc;
	struct kg_err e;
	uint8_t gpub[32];
	int fd;

	if (argc != 5 || kg_base64_decode(argv[2], gpub, 32)) {
		fprintf(stderr, "usage: kg-test-knock-recv USERS_DIR GREEN_PUB_B64 PORT SECONDS\n");
		return 2;
	}
	kg_log_init("kg-test-knock-recv", KG_LOG_DEBUG);
	kg_users_init(&u, KG_KEYID_SLOT_DEFAULT);
	if (kg_users_load_dir(&u, argv[1], &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	if (kg_rcache_new(1024, KG_RCACHE_KEY_LEN, &rc) ||
	    kg_knock_checker_init(&k, gpub, 0, wall_ms() - 60000, &u, rc))
		return 1;
	/* One dual-stack socket: IPv4 knocks arrive as mapped addresses. */
	sa.sin6_port = htons((uint16_t)atoi(argv[3]));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("bind");
		return 1;
	}
	serve(fd, &k, atoi(argv[4]));
	close(fd);
	kg_rcache_free(rc);
	kg_users_free(&u);
	return 0;
}
