/* SPDX-License-Identifier: MIT */
/*
 * The thin PC/SC transport (libpcsclite): list readers, connect to the
 * first reader whose name contains a substring, exchange raw APDUs, and
 * watch for card removal. No PIV knowledge here (see piv_card.h).
 *
 * Errors (0 or -errno; e, when given, gets a message):
 *   -EHOSTDOWN   pcscd is not running / no PC/SC service
 *   -ENODEV      no reader (or none matching the substring)
 *   -ENOMEDIUM   no card in the reader
 *   -ECONNRESET  the card was removed or reset during the session
 *   -EIO         any other PC/SC failure (message names the call)
 */
#ifndef KG_PIV_PCSC_H
#define KG_PIV_PCSC_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "err.h"

struct piv_pcsc {
	long ctx;               /* SCARDCONTEXT */
	long handle;            /* SCARDHANDLE, 0 when not connected */
	unsigned long proto;
	char reader[256];
	bool have_ctx;
};

/* Establishes a context and connects (shared) to the first reader whose
 * name contains substr (NULL or "" = first reader). On error everything
 * is released; piv_pcsc_close is still safe to call. */
int piv_pcsc_open(struct piv_pcsc *t, const char *substr, struct kg_err *e);
/* Sends apdu, receives up to cap bytes of response (data + SW). */
int piv_pcsc_transmit(struct piv_pcsc *t, const uint8_t *apdu, size_t n,
		      uint8_t *resp, size_t cap, size_t *rlen,
		      struct kg_err *e);
/* Waits up to timeout_ms for the card to leave the reader: 1 if it did
 * (or already had), 0 if it is still present, -errno on failure. */
int piv_pcsc_wait_removed(struct piv_pcsc *t, unsigned timeout_ms,
			  struct kg_err *e);
/* Disconnects with a card reset (ends PIN verification) and releases
 * the context; safe on a closed or failed-open transport. */
void piv_pcsc_close(struct piv_pcsc *t);

#endif
