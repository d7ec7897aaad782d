/* SPDX-License-Identifier: MIT */
/*
 * Where the card's PIN comes from: --pin-file FILE (first line), else the
 * environment variable KNOCKGATE_PIN, else a prompt on the controlling
 * terminal with echo off. The PIN is never printed or logged; callers wipe
 * the buffer (kg_wipe) as soon as the card has seen it.
 */
#ifndef KG_CLIENT_PIN_H
#define KG_CLIENT_PIN_H

#include <stddef.h>

#include "err.h"

#define KG_PIN_MAX 8    /* PIV PINs are 6 to 8 characters */
#define KG_PIN_MIN 6
#define KG_PIN_ENV "KNOCKGATE_PIN"

/* Takes the first line of text[0..len) as a PIN into pin (cap bytes,
 * NUL-terminated): a trailing "\n" or "\r\n" is dropped. No I/O.
 * 0, or -EINVAL (empty, shorter than 6, longer than 8, or holding control
 * characters) with a message in e that does not contain the PIN. */
int kg_pin_from_text(const char *text, size_t len, char *pin, size_t cap,
		     struct kg_err *e);

/* Gets the PIN from pin_file (may be NULL), the environment or the
 * terminal, in that order. 0, -EINVAL (unusable PIN), -ENOTTY (nothing
 * to read it from), or -errno of reading the file. */
int kg_pin_get(const char *pin_file, char *pin, size_t cap, struct kg_err *e);

#endif
