/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "commands.h"

int close_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "knockgate close: not built yet\n");
	return 1;
}
