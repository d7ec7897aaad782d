/* SPDX-License-Identifier: MIT */
/* Subcommands of the knockgate client: each returns the exit status. */
#ifndef KG_CLIENT_COMMANDS_H
#define KG_CLIENT_COMMANDS_H

int connect_main(int argc, char **argv);
int close_main(int argc, char **argv);
int status_main(int argc, char **argv);
int card_main(int argc, char **argv);

#endif
