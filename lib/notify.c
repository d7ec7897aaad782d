/* SPDX-License-Identifier: MIT */
#include "notify.h"
#include "kg_config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#if HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

static void notify(const char *msg)
{
#if HAVE_LIBSYSTEMD
	sd_notify(0, msg);
#else
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;   /* abstract socket */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	(void)sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	close(fd);
#endif
}

void kg_notify_ready(void)
{
	notify("READY=1");
}

void kg_notify_reloading(void)
{
	notify("RELOADING=1");
}

void kg_notify_stopping(void)
{
	notify("STOPPING=1");
}

void kg_notify_status(const char *fmt, ...)
{
	static char last[256];
	char msg[256] = "STATUS=";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg + 7, sizeof(msg) - 7, fmt, ap);
	va_end(ap);
	if (!strcmp(msg, last))
		return;
	memcpy(last, msg, sizeof(last));
	notify(msg);
}

void kg_notify_watchdog(void)
{
	static int enabled = -1;

	if (enabled < 0) {
		const char *usec = getenv("WATCHDOG_USEC");
		const char *pid = getenv("WATCHDOG_PID");

		/* A child started with our environment must not keep us
		 * alive: WATCHDOG_PID names the process being watched. */
		enabled = usec && *usec && strtoull(usec, NULL, 10) > 0 &&
			  (!pid || !*pid ||
			   strtol(pid, NULL, 10) == (long)getpid());
	}
	if (enabled)
		notify("WATCHDOG=1");
}
