/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "commands.h"

int connect_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "knockgate connect: not built yet\n");
	return 1;
}
