/* SPDX-License-Identifier: MIT */
/*
 * The vpcd side of the virtual card: connect to vpcd and serve its
 * messages (2-byte big-endian length + body; 1-byte bodies are control
 * codes, longer ones APDUs) until the connection ends.
 */
#ifndef KG_VCARD_IO_H
#define KG_VCARD_IO_H

#include "vcard.h"

/* A connected TCP socket (fd >= 0), or -errno. */
int vcard_io_connect(const char *host, const char *port);
/* Serves until vpcd closes (0), leave() turns true (0), or the card
 * file cannot be saved (-EIO: the answer was withheld). Saves the card
 * file at path before answering any command that changed it. */
int vcard_io_serve(int fd, struct vcard *v, const char *path,
		   int (*leave)(void));

#endif
