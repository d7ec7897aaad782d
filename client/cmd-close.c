/* SPDX-License-Identifier: MIT */
/*
 * knockgate close: ends the session. When a `connect` process serves it
 * (its pid in IFNAME.auth), that process is asked with SIGTERM, so that
 * it tells green, takes the tunnel down and removes its files; whatever
 * is left afterwards (or a tunnel without a card session) is removed here.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "session_info.h"
#include "session_state.h"
#include "tunnel.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate close [--ifname NAME]\n\n"
		"Removes the WireGuard interface of the session and its state file.\n"
		"Without --ifname, closes the only session there is.\n\n"
		"  -i, --ifname NAME    the session's interface\n"
		"  -h, --help           this text\n");
}

/* True if pid is a knockgate process (not a recycled pid). */
static bool is_knockgate(pid_t pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	return !strcmp(comm, "knockgate\n");
}

/* Asks the connect process to end the session; waits up to 10 s. */
static void stop_connect(const char *ifname)
{
	struct timespec tick = { 0, 50 * 1000000 };
	pid_t pid;

	if (kg_info_pid(ifname, &pid) || !is_knockgate(pid) || kill(pid, SIGTERM) < 0)
		return;
	for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
		nanosleep(&tick, NULL);
	if (kill(pid, 0) == 0)
		fprintf(stderr, "knockgate close: process %ld did not stop; removing "
			"the tunnel anyway\n", (long)pid);
}

int close_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char ifname[KG_WG_IFNAMSIZ] = "";
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': snprintf(ifname, sizeof(ifname), "%s", optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!ifname[0]) {
		rc = kg_state_find_only(ifname);
		if (rc) {
			fprintf(stderr, "knockgate close: %s in %s\n",
				rc == -EEXIST ? "several sessions: name one with --ifname"
					      : "no session", kg_state_dir());
			return 1;
		}
	}
	stop_connect(ifname);
	rc = kg_tunnel_down(ifname);
	if (rc) {
		fprintf(stderr, "knockgate close: %s: %s\n", ifname, strerror(-rc));
		return 1;
	}
	kg_info_remove(ifname);
	kg_state_remove(ifname);
	printf("closed: interface %s\n", ifname);
	return 0;
}
