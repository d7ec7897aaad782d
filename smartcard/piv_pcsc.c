/* SPDX-License-Identifier: MIT */
/* PC/SC transport over libpcsclite: see piv_pcsc.h. */
#include "piv_pcsc.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <winscard.h>

static int pcsc_errno(LONG rv)
{
	switch (rv) {
	case SCARD_S_SUCCESS: return 0;
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED: return -EHOSTDOWN;
	case SCARD_E_NO_READERS_AVAILABLE:
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE: return -ENODEV;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD: return -ENOMEDIUM;
	case SCARD_W_RESET_CARD: return -ECONNRESET;
	default: return -EIO;
	}
}

static int fail(struct kg_err *e, const char *call, LONG rv, int midsession)
{
	int rc = pcsc_errno(rv);

	/* A card that vanishes after connect is a removal, not "no card". */
	if (midsession && rc == -ENOMEDIUM)
		rc = -ECONNRESET;
	if (rc == -ECONNRESET)
		kg_err_set(e, "card removed during the session (%s: %s)", call,
			   pcsc_stringify_error(rv));
	else if (rc == -ENOMEDIUM)
		kg_err_set(e, "no card in the reader (%s)", pcsc_stringify_error(rv));
	else if (rc == -ENODEV)
		kg_err_set(e, "no smart card reader (%s)", pcsc_stringify_error(rv));
	else if (rc == -EHOSTDOWN)
		kg_err_set(e, "PC/SC service (pcscd) not available: %s",
			   pcsc_stringify_error(rv));
	else
		kg_err_set(e, "%s: %s", call, pcsc_stringify_error(rv));
	return rc;
}

/* Picks the first reader whose name contains substr from a
 * double-NUL-terminated list. */
static const char *pick(const char *list, DWORD len, const char *substr)
{
	const char *p = list;

	while (p < list + len && *p) {
		if (!substr || !*substr || strstr(p, substr))
			return p;
		p += strlen(p) + 1;
	}
	return NULL;
}

static int connect_reader(struct piv_pcsc *t, const char *substr,
			  struct kg_err *e)
{
	char *list = NULL;
	const char *name;
	DWORD len = SCARD_AUTOALLOCATE, proto = 0;
	LONG rv;
	int rc;

	rv = SCardListReaders(t->ctx, NULL, (LPSTR)&list, &len);
	if (rv != SCARD_S_SUCCESS)
		return fail(e, "SCardListReaders", rv, 0);
	name = pick(list, len, substr);
	if (!name) {
		kg_err_set(e, "no smart card reader matching '%s'",
			   substr ? substr : "");
		rc = -ENODEV;
		goto out;
	}
	snprintf(t->reader, sizeof(t->reader), "%s", name);
	rv = SCardConnect(t->ctx, name, SCARD_SHARE_SHARED,
			  SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			  &t->handle, &proto);
	if (rv != SCARD_S_SUCCESS) {
		t->handle = 0;
		rc = fail(e, "SCardConnect", rv, 0);
		goto out;
	}
	t->proto = proto;
	rc = 0;
out:
	SCardFreeMemory(t->ctx, list);
	return rc;
}

int piv_pcsc_open(struct piv_pcsc *t, const char *substr, struct kg_err *e)
{
	LONG rv;
	int rc;

	memset(t, 0, sizeof(*t));
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &t->ctx);
	if (rv != SCARD_S_SUCCESS)
		return fail(e, "SCardEstablishContext", rv, 0);
	t->have_ctx = true;
	rc = connect_reader(t, substr, e);
	if (rc)
		piv_pcsc_close(t);
	return rc;
}

int piv_pcsc_transmit(struct piv_pcsc *t, const uint8_t *apdu, size_t n,
		      uint8_t *resp, size_t cap, size_t *rlen,
		      struct kg_err *e)
{
	const SCARD_IO_REQUEST *pci;
	DWORD len = cap;
	LONG rv;

	if (!t->handle)
		return -ENOTCONN;
	pci = t->proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
	rv = SCardTransmit(t->handle, pci, apdu, n, NULL, resp, &len);
	if (rv != SCARD_S_SUCCESS)
		return fail(e, "SCardTransmit", rv, 1);
	*rlen = len;
	return 0;
}

static unsigned long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000 + (unsigned long)ts.tv_nsec / 1000000;
}

int piv_pcsc_wait_removed(struct piv_pcsc *t, unsigned timeout_ms,
			  struct kg_err *e)
{
	unsigned long end = now_ms() + timeout_ms;
	SCARD_READERSTATE st;
	LONG rv;

	memset(&st, 0, sizeof(st));
	st.szReader = t->reader;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	for (;;) {
		unsigned long now = now_ms();
		DWORD wait = st.dwCurrentState == SCARD_STATE_UNAWARE ? 0 :
			     now >= end ? 0 : end - now;

		rv = SCardGetStatusChange(t->ctx, wait, &st, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
			return fail(e, "SCardGetStatusChange", rv, 1);
		if (rv == SCARD_S_SUCCESS &&
		    !(st.dwEventState & SCARD_STATE_PRESENT))
			return 1;
		if (now_ms() >= end && st.dwCurrentState != SCARD_STATE_UNAWARE)
			return 0;
		if (rv == SCARD_S_SUCCESS)
			st.dwCurrentState = st.dwEventState & ~SCARD_STATE_CHANGED;
		else if (st.dwCurrentState == SCARD_STATE_UNAWARE)
			st.dwCurrentState = SCARD_STATE_PRESENT;
	}
}

void piv_pcsc_close(struct piv_pcsc *t)
{
	/* Reset, not leave: a verified PIN must not outlive our session
	 * for the next program that connects. */
	if (t->handle)
		SCardDisconnect(t->handle, SCARD_RESET_CARD);
	if (t->have_ctx)
		SCardReleaseContext(t->ctx);
	t->handle = 0;
	t->have_ctx = false;
}
