/* SPDX-License-Identifier: MIT */
/* knockgate-red: arguments, config, then the daemon (daemon.c). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "red.h"
#include "rules.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: knockgate-red [OPTIONS]\n"
		   "The dark server agent: opens a service port for one tunnel address\n"
		   "when green sends a signed knock (see knockgate-red(8)).\n\n"
		   "  -c, --config FILE    config (default /etc/knockgate/red.conf)\n"
		   "  -n, --no-site        do not bring up the site link (made elsewhere)\n"
		   "  -P, --privsep        read the network in an unprivileged worker\n"
		   "  -u, --user USER      the worker's system user (default knockgate)\n"
		   "  -t, --check-config   check the config and exit\n"
		   "  -p, --print-ruleset  print the nftables table and exit\n"
		   "  -h, --help           this text\n"
		   "  -V, --version        the version\n");
}

static int load(struct red *r, struct kg_err *e)
{
	struct kg_conf c;
	char dir[KG_RED_PATH_MAX];
	int rc;

	snprintf(dir, sizeof(dir), "%s", r->config_path);
	rc = kg_conf_load(&c, r->config_path, e);
	if (rc == 0)
		rc = kg_red_config_from(&r->cfg, &c, dirname(dir), e);
	kg_conf_free(&c);
	return rc;
}

static int print_rules(const struct red *r)
{
	static char text[32768];

	if (kg_red_render_rules(&r->cfg, text, sizeof(text)))
		return 1;
	fputs(text, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	static struct red r = { .config_path = "/etc/knockgate/red.conf",
				.user = "knockgate", .worker_fd = -1 };
	struct kg_err e = { "" };
	bool check = false, print = false;
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "no-site", no_argument, NULL, 'n' },
		{ "privsep", no_argument, NULL, 'P' },
		{ "user", required_argument, NULL, 'u' },
#ifdef KG_TEST_HOOKS
		{ "test-worker", required_argument, NULL, 'W' },
#endif
		{ "check-config", no_argument, NULL, 't' },
		{ "print-ruleset", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:nPu:tphV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': r.config_path = optarg; break;
		case 'n': r.no_site = true; break;
		case 'P': r.privsep = true; break;
		case 'u': r.user = optarg; break;
#ifdef KG_TEST_HOOKS
		case 'W': r.test_worker = optarg; break;
#endif
		case 't': check = true; break;
		case 'p': print = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("knockgate-red %s\n", KG_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	kg_log_init("knockgate-red", KG_LOG_INFO);
	if (load(&r, &e)) {
		fprintf(stderr, "knockgate-red: %s\n", e.msg);
		return 1;
	}
	kg_log_set_level(r.cfg.log_level);
	if (check || print)
		return print ? print_rules(&r) : 0;
	if (red_run(&r, &e)) {
		fprintf(stderr, "knockgate-red: %s\n", e.msg);
		return 1;
	}
	return 0;
}
