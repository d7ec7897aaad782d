/* SPDX-License-Identifier: MIT */
/*
 * knockgate: the user's command. One subcommand a file (cmd-*.c), each
 * exporting NAME_main(argc, argv); this table is all main does.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} commands[] = {
	{ "connect", connect_main, "knock, bring up the tunnel, prove the card, ask for a service" },
	{ "close", close_main, "end the session and take the tunnel down" },
	{ "status", status_main, "show the session and its services" },
	{ "card", card_main, "show what is on the smart card" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: knockgate COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n'knockgate COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("knockgate %s\n", KG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "knockgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
