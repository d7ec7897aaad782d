/* SPDX-License-Identifier: MIT */
/*
 * What a service manager receives from lib/notify.c: STATUS= only when
 * the text changed (daemons call it every tick), WATCHDOG=1 only when
 * WATCHDOG_USEC asks for it and WATCHDOG_PID is this process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "notify.h"

static int listen_fd = -1;

/* A datagram socket in a fresh temp dir as NOTIFY_SOCKET. */
static int setup(void **state)
{
	static char dir[] = "/tmp/kg-notify-XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	listen_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	return 0;
}

static int teardown(void **state)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	(void)state;
	snprintf(path, sizeof(path), "%s", getenv("NOTIFY_SOCKET"));
	close(listen_fd);
	unlink(path);
	*strrchr(path, '/') = 0;
	rmdir(path);
	return 0;
}

/* Every datagram waiting, joined by '|' ("" when none). */
static void drain(char *out, size_t len)
{
	char msg[512];
	ssize_t n;

	out[0] = 0;
	while ((n = recv(listen_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT)) >= 0) {
		msg[n] = 0;
		if (out[0])
			strncat(out, "|", len - strlen(out) - 1);
		strncat(out, msg, len - strlen(out) - 1);
	}
}

static void status_sent_only_when_changed(void **state)
{
	char got[1024];

	(void)state;
	kg_notify_status("sessions: %d live", 1);
	kg_notify_status("sessions: %d live", 1);
	kg_notify_status("sessions: %d live", 2);
	kg_notify_status("sessions: %d live", 2);
	drain(got, sizeof(got));
	assert_string_equal(got, "STATUS=sessions: 1 live|STATUS=sessions: 2 live");
}

/* In a child (the decision is made once a process, at its first call):
 * WATCHDOG_PID names another process, e.g. the daemon that started us
 * with its environment, so nothing is sent; nor without WATCHDOG_USEC. */
static void watchdog_silent_when_not_ours(void **state)
{
	char got[1024], pid[24];
	int st;

	(void)state;
	for (int i = 0; i < 2; i++) {
		pid_t c = fork();

		assert_true(c >= 0);
		if (c == 0) {
			if (i == 0) {
				snprintf(pid, sizeof(pid), "%ld", (long)getppid());
				setenv("WATCHDOG_USEC", "30000000", 1);
				setenv("WATCHDOG_PID", pid, 1);
			} else {
				unsetenv("WATCHDOG_USEC");
			}
			kg_notify_watchdog();
			_exit(0);
		}
		assert_int_equal(waitpid(c, &st, 0), c);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	drain(got, sizeof(got));
	assert_string_equal(got, "");
}

/* Decided once a process: this test program asks for the watchdog with
 * our own pid, so every call sends. */
static void watchdog_sent_when_asked(void **state)
{
	char got[1024], pid[24];

	(void)state;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_USEC", "30000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	kg_notify_watchdog();
	kg_notify_watchdog();
	drain(got, sizeof(got));
	assert_string_equal(got, "WATCHDOG=1|WATCHDOG=1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(status_sent_only_when_changed),
		cmocka_unit_test(watchdog_silent_when_not_ours),
		cmocka_unit_test(watchdog_sent_when_asked),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
