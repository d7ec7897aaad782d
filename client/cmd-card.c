/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include "commands.h"

int card_main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "knockgate card: not built yet\n");
	return 1;
}
