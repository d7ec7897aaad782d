/* SPDX-License-Identifier: MIT */
/*
 * knockgate status: the session a running `connect` published
 * (session_info.h) and its tunnel (session_state.h). Exit 0 with a live
 * session, 1 when there is none (or only a tunnel without a card proof).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "conf.h"
#include "session_info.h"
#include "session_state.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate status [--ifname NAME]\n\n"
		"Shows the session: user, green, tunnel address and interface, session\n"
		"id, services and since when. Exits 1 when there is no session.\n\n"
		"  -i, --ifname NAME    the session's interface (default: the only one)\n"
		"  -h, --help           this text\n");
}

static const char *get(const struct kg_conf *c, const char *key)
{
	const char *v = NULL;

	kg_conf_str(c, "auth", key, "?", &v, NULL);
	return v ? v : "?";
}

static void print_since(const char *since_s)
{
	char *end;
	long long since = strtoll(since_s, &end, 10);
	time_t t = (time_t)since;
	struct tm tm;
	char when[64];

	if (*end || !localtime_r(&t, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z", &tm)) {
		printf("since:     ?\n");
		return;
	}
	printf("since:     %s (%lld s ago)\n", when, (long long)time(NULL) - since);
}

/* 0 when a live session was shown. */
static int show(const char *ifname)
{
	char path[PATH_MAX];
	struct kg_conf c = { 0 };
	pid_t pid = 0;
	int rc;

	/* Without the interface there is no tunnel, whatever files say. */
	if (!if_nametoindex(ifname)) {
		printf("interface %s: no such interface, no session\n", ifname);
		return 1;
	}
	rc = kg_info_pid(ifname, &pid);
	if (rc == -ENOENT) {
		printf("interface %s: tunnel up, no card session\n", ifname);
		return 1;
	}
	if (rc || (kill(pid, 0) < 0 && errno == ESRCH)) {
		printf("interface %s: stale session file (connect is not running)\n",
		       ifname);
		return 1;
	}
	if (kg_info_path(ifname, path, sizeof(path)) || kg_conf_load(&c, path, NULL)) {
		kg_conf_free(&c);
		return 1;
	}
	printf("session:   %s\nuser:      %s\ngreen:     %s\n", get(&c, "session"),
	       get(&c, "user"), get(&c, "green_id"));
	printf("tunnel:    %s on %s\nservices:  %s\n", get(&c, "tunnel_address"),
	       ifname, get(&c, "services"));
	print_since(get(&c, "since"));
	printf("process:   %ld\n", (long)pid);
	kg_conf_free(&c);
	return 0;
}

int status_main(int argc, char **argv)
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
			printf("%s in %s\n", rc == -EEXIST
			       ? "several sessions: name one with --ifname"
			       : "no session", kg_state_dir());
			return 1;
		}
	}
	return show(ifname);
}
