/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "commands.h"

int status_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "knockgate status: not built yet\n");
	return 1;
}
