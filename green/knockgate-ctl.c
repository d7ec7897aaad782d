/* SPDX-License-Identifier: MIT */
/*
 * knockgate-ctl: the admin command for a running knockgate-green (or,
 * with -s /run/knockgate/red.ctl, knockgate-red), over its local socket
 * (green/admin.c, red/admin.c; wire format lib/ctl_admin.h). Prints
 * the daemon's answer (text, or JSON with --json) on stdout, or its
 * refusal on stderr. Exit status: 0 done, 1 the daemon refused or
 * failed, 2 usage, 3 the daemon could not be asked.
 */
#include "ctl_admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define DEFAULT_SOCKET "/run/knockgate/green.ctl"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: knockgate-ctl [-s SOCKET] [--json] COMMAND [ARG]\n"
"Administer a running knockgate-green (or knockgate-red, with\n"
"-s /run/knockgate/red.ctl) through its local socket (root only).\n"
"\n"
"Commands:\n"
"  status            live and pending sessions, grants, bans, drain, warnings\n"
"  sessions          sessions: id, user, state, tunnel address, sources,\n"
"                    age, seconds until it ends if idle, services granted\n"
"  end ID            end one session (its tunnel peer, openings and red\n"
"                    grants go; the client is told)\n"
"  end-user USER     end every session of USER\n"
"  bans              banned sources and the seconds their bans have left\n"
"  unban ADDRESS     lift the ban of ADDRESS (IPv6: its /64)\n"
"  drain             refuse knocks that would start new sessions (live\n"
"                    sessions are kept and may roam); undrain to stop\n"
"  undrain           accept new knocks again\n"
"  expiry            when the CRLs and certificates the daemon uses expire\n"
"  grants            red only: live grants (green, session, service, client,\n"
"                    port, real port, lease left)\n"
"\n"
"On red: status, grants, bans, unban (not under -P) and expiry.\n"
"\n"
"Options:\n"
"  -s, --socket PATH the daemon's socket (default " DEFAULT_SOCKET ",\n"
"                    [admin] socket in green.conf)\n"
"  -j, --json        the answer as JSON\n"
"  -h, --help        this help\n"
"\n"
"Exit status: 0 done, 1 refused by the daemon, 2 usage, 3 no daemon to ask.\n");
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "knockgate-ctl: %s: path too long\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "knockgate-ctl: socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED)
		fprintf(stderr, "knockgate-ctl: %s: no daemon listens there "
			"(is knockgate-green running? see [admin] socket in "
			"green.conf, or pass -s)\n", path);
	else if (errno == EACCES || errno == EPERM)
		fprintf(stderr, "knockgate-ctl: %s: permission denied "
			"(knockgate-ctl must run as root)\n", path);
	else
		fprintf(stderr, "knockgate-ctl: %s: %s\n", path, strerror(errno));
	close(fd);
	return -1;
}

/* Reads the answer to EOF: status byte, then text to out or err. */
static int read_answer(int fd)
{
	static uint8_t buf[KG_CTL_ADMIN_CHUNK + 1];
	bool first = true;
	int st = -1;
	FILE *to = stdout;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* A refused peer's request is left unread: reset. */
			if (errno == ECONNRESET && first)
				break;
			fprintf(stderr, "knockgate-ctl: reading the answer: %s\n",
				strerror(errno));
			return 3;
		}
		if (n == 0)
			break;
		if (first) {
			st = buf[0];
			off = 1;
			first = false;
			to = st == KG_CTL_OK ? stdout : stderr;
			if (st != KG_CTL_OK)
				fputs("knockgate-ctl: ", stderr);
		}
		fwrite(buf + off, 1, (size_t)n - off, to);
	}
	if (st < 0) {
		fprintf(stderr, "knockgate-ctl: the daemon closed the connection "
			"without an answer (refused: not root? see its log)\n");
		return 3;
	}
	fflush(stdout);
	return st == KG_CTL_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *path = DEFAULT_SOCKET;
	struct kg_ctl_admin_req q = { 0 };
	uint8_t msg[KG_CTL_ADMIN_MAX_REQ];
	size_t n;
	int c, fd, r;

	while ((c = getopt_long(argc, argv, "s:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': path = optarg; break;
		case 'j': q.json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	q.op = kg_ctl_admin_op_parse(argv[optind]);
	if (!q.op) {
		fprintf(stderr, "knockgate-ctl: unknown command '%s' (see --help)\n",
			argv[optind]);
		return 2;
	}
	optind++;
	if (kg_ctl_admin_op_has_arg(q.op) != (optind < argc) ||
	    argc - optind > 1) {
		fprintf(stderr, "knockgate-ctl: %s %s\n", argv[optind - 1],
			kg_ctl_admin_op_has_arg(q.op) ? "takes one argument" :
			"takes no argument");
		return 2;
	}
	if (optind < argc) {
		n = strlen(argv[optind]);
		if (n > KG_CTL_ADMIN_ARG_MAX) {
			fprintf(stderr, "knockgate-ctl: argument too long\n");
			return 2;
		}
		memcpy(q.arg, argv[optind], n + 1);
		q.arg_len = n;
	}
	if (kg_ctl_admin_build(&q, msg, sizeof(msg), &n)) {
		fprintf(stderr, "knockgate-ctl: the argument must be printable, without spaces\n");
		return 2;
	}
	fd = connect_to(path);
	if (fd < 0)
		return 3;
	if (send(fd, msg, n, MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "knockgate-ctl: %s: %s\n", path,
			errno == EPIPE || errno == ECONNRESET ?
			"the daemon closed the connection (refused: not root? see its log)" :
			strerror(errno));
		close(fd);
		return 3;
	}
	r = read_answer(fd);
	close(fd);
	return r;
}
