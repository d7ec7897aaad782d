/* SPDX-License-Identifier: MIT */
/* knockgate-green: options, then the daemon (daemon.c). */
#include "green.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: knockgate-green [OPTIONS]\n"
		"The knockgate gateway daemon: dark, watchful, bans scanners.\n\n"
		"  -c, --config FILE     configuration (default " GREEN_DEFAULT_CONFIG ")\n"
		"  -f, --foreground      stay in the foreground (always the case;\n"
		"                        systemd supervises it, Type=notify)\n"
		"  -l, --log-level LVL   err, warning, notice, info, debug\n"
		"                        (overrides log_level of the config)\n"
		"      --check-config    check the configuration and the ruleset it\n"
		"                        gives (nft dry run), then exit\n"
		"      --print-ruleset   print the nftables table it would install\n"
		"  -P, --privsep         read the network in an unprivileged worker\n"
		"                        (the systemd unit runs green so)\n"
		"  -u, --user USER       the worker's system user (default knockgate)\n"
		"  -h, --help            this help\n"
		"  -V, --version         version\n");
}

enum { OPT_CHECK = 256, OPT_PRINT };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "print-ruleset", no_argument, NULL, OPT_PRINT },
		{ "privsep", no_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
#ifdef KG_TEST_HOOKS
		{ "test-worker", required_argument, NULL, 'W' },
#endif
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	static struct green g = { .config_path = GREEN_DEFAULT_CONFIG,
				  .log_level_override = -1, .user = "knockgate",
				  .worker_fd = -1 };
	struct kg_err e = { "" };
	const char *level = NULL;
	bool check = false, print = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:fl:Pu:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': g.config_path = optarg; break;
		case 'f': break;
		case 'l': level = optarg; break;
		case 'P': g.privsep = true; break;
		case 'u': g.user = optarg; break;
#ifdef KG_TEST_HOOKS
		case 'W': g.test_worker = optarg; break;
#endif
		case OPT_CHECK: check = true; break;
		case OPT_PRINT: print = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("knockgate-green %s\n", KG_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (level && kg_log_level_parse(level) < 0)) {
		usage(stderr);
		return 2;
	}
	kg_log_init("knockgate-green", KG_LOG_NOTICE);
	r = green_conf_load(&g.conf, g.config_path, &e);
	if (r) {
		fprintf(stderr, "knockgate-green: %s\n", e.msg);
		green_conf_free(&g.conf);
		return 1;
	}
	if (level)
		g.log_level_override = kg_log_level_parse(level);
	kg_log_set_level(level ? g.log_level_override : g.conf.log_level);
	if (check || print)
		r = green_check(&g, print, &e);
	else
		r = green_run(&g, &e);
	if (r) {
		fprintf(stderr, "knockgate-green: %s\n", e.msg);
		return 1;
	}
	return 0;
}
