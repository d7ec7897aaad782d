/* SPDX-License-Identifier: MIT */
/* The stable local port: SERVICE=[ADDR:]PORT parsing, and the forwarder
 * over loopback: a new connection goes where the grant record says at
 * that moment, one already open stays on its upstream connection when
 * the record moves (as on a hop). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "forward.h"
#include "grant_record.h"

static void test_spec_parse(void **state)
{
	struct kg_fwd_spec s;
	struct kg_err e = { "" };
	char a[KG_ADDR_STRLEN];

	(void)state;
	assert_int_equal(kg_fwd_spec_parse("web", &s, &e), 1);
	assert_int_equal(kg_fwd_spec_parse("web=8080", &s, &e), 0);
	assert_string_equal(s.service, "web");
	assert_string_equal(kg_addr_str(&s.addr, a), "127.0.0.1");
	assert_int_equal(s.port, 8080);
	assert_int_equal(kg_fwd_spec_parse("ssh=10.0.0.1:2222", &s, &e), 0);
	assert_string_equal(kg_addr_str(&s.addr, a), "10.0.0.1");
	assert_int_equal(s.port, 2222);
	assert_int_equal(kg_fwd_spec_parse("ssh=[::1]:2222", &s, &e), 0);
	assert_int_equal(s.addr.family, AF_INET6);
	assert_int_equal(kg_fwd_spec_value("web", "0.0.0.0:80", &s, &e), 0);
	const char *bad[] = { "=80", "web=", "web=0", "web=70000", "web=80x",
			      "web=1.2.3:80", "web=[::1]2222", "web=[::1:80",
			      "bad name=80", "web=host:80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.msg[0] = '\0';
		if (kg_fwd_spec_parse(bad[i], &s, &e) != -EINVAL || !e.msg[0])
			fail_msg("'%s' was not refused with a reason", bad[i]);
	}
}

/* A listening socket on 127.0.0.1, its port in *port. */
static int listener(uint16_t *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static int dial(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static int accept_within(int lfd, int ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return accept(lfd, NULL, NULL);
}

static void expect(int fd, const char *want)
{
	char buf[64] = { 0 };
	size_t got = 0, n = strlen(want);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (got < n && poll(&p, 1, 3000) == 1) {
		ssize_t r = recv(fd, buf + got, n - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	assert_int_equal(got, n);
	assert_memory_equal(buf, want, n);
}

static void test_new_connections_follow_open_ones_stay(void **state)
{
	struct kg_ctrl_grant g = { 0 };
	struct kg_fwd_spec spec;
	struct kg_forwarder *f;
	struct kg_err e = { "" };
	uint16_t p1, p2, pf;
	int u1 = listener(&p1), u2 = listener(&p2), tmp = listener(&pf);
	int c1, c2, s1, s2;
	char arg[32];

	(void)state;
	close(tmp);   /* a free port for the forwarder */
	snprintf(arg, sizeof(arg), "svc=%u", pf);
	assert_int_equal(kg_fwd_spec_parse(arg, &spec, &e), 0);
	assert_int_equal(kg_fwd_listen(&f, &spec, 1, &e), 0);
	assert_int_equal(kg_fwd_start(f), 0);
	g.addr.family = AF_INET;
	g.addr.b[0] = 127;
	g.addr.b[3] = 1;
	g.port = p1;
	assert_int_equal(kg_grant_record_set("svc", &g), 0);

	c1 = dial(pf);
	s1 = accept_within(u1, 3000);
	assert_true(s1 >= 0);
	assert_int_equal(send(c1, "ping", 4, 0), 4);
	expect(s1, "ping");
	/* the service moves: the next connection goes to the new place */
	g.port = p2;
	assert_int_equal(kg_grant_record_set("svc", &g), 0);
	c2 = dial(pf);
	s2 = accept_within(u2, 3000);
	assert_true(s2 >= 0);
	assert_int_equal(accept_within(u1, 200), -1);
	/* and the first one still runs on its own upstream, both ways */
	assert_int_equal(send(c1, "more", 4, 0), 4);
	expect(s1, "more");
	assert_int_equal(send(s1, "back", 4, 0), 4);
	expect(c1, "back");
	assert_int_equal(send(c2, "two", 3, 0), 3);
	expect(s2, "two");
	/* an end of stream travels as a shutdown */
	shutdown(c1, SHUT_WR);
	{
		char b;
		struct pollfd p = { .fd = s1, .events = POLLIN };

		assert_int_equal(poll(&p, 1, 3000), 1);
		assert_int_equal(recv(s1, &b, 1, 0), 0);
	}
	kg_fwd_stop(f);
	kg_grant_record_clear();
	assert_int_equal(kg_grant_target("svc", &g.addr, &g.port), -ENOENT);
	close(c1);
	close(c2);
	close(s1);
	close(s2);
	close(u1);
	close(u2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_parse),
		cmocka_unit_test(test_new_connections_follow_open_ones_stay),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
