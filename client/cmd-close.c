/* SPDX-License-Identifier: MIT */
/* knockgate close: takes down the tunnel `connect` left up. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
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
	rc = kg_tunnel_down(ifname);
	if (rc) {
		fprintf(stderr, "knockgate close: %s: %s\n", ifname, strerror(-rc));
		return 1;
	}
	kg_state_remove(ifname);
	printf("closed: interface %s\n", ifname);
	return 0;
}
