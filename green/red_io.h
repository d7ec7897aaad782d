/* SPDX-License-Identifier: MIT */
/*
 * Green's UDP conversation with its reds, inside the WireGuard site link:
 * one socket bound to green's link address ([site] address), [site]
 * answer_port and the link's interface; knocks go to each red's link
 * address ([red NAME] site_address). One signed-knock client
 * (red_client.h) per [red NAME], and the glue to green's event loop.
 * Answers are read here, matched to the red they came from by source
 * address, checked by that red's client (pending, then signature) and
 * handed to the owner's callbacks.
 */
#ifndef KG_GREEN_RED_IO_H
#define KG_GREEN_RED_IO_H

#include "red_batch.h"
#include "red_client.h"
#include "site.h"

struct kg_evloop;
struct kg_pki;

struct green_red_peer {
	struct green_red red;          /* copy; red.cert not owned (NULL) */
	X509 *cert;                    /* owned */
	struct kg_red_client rc;
	struct green_rb rb;            /* batched renewals in flight */
	uint64_t heard_ms;             /* last datagram from this red */
	uint64_t relinked_ms;          /* last green_site_relink of it */
};

struct green_red_io {
	int fd;
	char site_if[16];              /* the site link (relinks) */
	struct kg_hostkey *key;        /* owned */
	struct green_red_peer *peers;  /* owned */
	size_t n;
	struct kg_evloop *loop;        /* not owned */
	void *ctx;
	/* An accepted answer (signed by that red, to a pending knock). */
	void (*on_answer)(void *ctx, size_t red, const struct kg_skanswer *a,
			  const struct kg_sknock *req, void *cookie);
	/* A hop pushed by that red, parsed, naming that red and this green,
	 * signed by that red (the grant and the hop number are the
	 * caller's to check). NULL: hops are dropped. */
	void (*on_hop)(void *ctx, size_t red, const struct kg_skhop *h);
	/* A knock sent max_sends times without answer. */
	void (*on_gave_up)(void *ctx, size_t red, void *cookie);
};

/* Loads green's host key and the reds' certificates (checked against
 * [site] ca/crl with role red when ca is set), opens the socket (the site
 * link must be up: the socket binds its address) and watches it on loop.
 * 0 or -errno with e set; on error io is closed. */
int green_red_io_open(struct green_red_io *io, const struct green_site_conf *s,
		      struct kg_evloop *loop, struct kg_err *e);
void green_red_io_close(struct green_red_io *io);
/* Signs and sends k to red index red (kept pending for resends and the
 * answer). 0 or -errno (-ENOSPC: too many pending). */
int green_red_io_send(struct green_red_io *io, size_t red,
		      const struct kg_sknock *k, uint64_t now_ms, void *cookie);
/* Signs and sends one batch of renewals (e[0..n-1], n 1..KG_SK_BATCH_MAX)
 * to red index red; each entry's answer reaches on_answer as a single
 * renew's would (its cookie, a kg_sknock for the entry), a batch never
 * answered reaches on_gave_up once per entry. 0 or -errno
 * (green_rb_request). */
int green_red_io_send_renews(struct green_red_io *io, size_t red,
			     const struct kg_sk_renew *e, void *const *cookies,
			     size_t n, uint64_t ts, uint64_t now_ms);
/* Resends due knocks and batches, reports given-up ones. A resend to a
 * red that sent nothing for a whole retry interval first relinks it
 * (green_site_relink), at most every KG_GREEN_RELINK_MS: WireGuard can
 * stay up on green's side while red cannot read or answer it
 * (docs/wireguard.md, "relink"). */
#define KG_GREEN_RELINK_MS 5000
void green_red_io_tick(struct green_red_io *io, uint64_t now_ms);
/* Index of a red by id, or -1. */
ssize_t green_red_io_find(const struct green_red_io *io, const char *id);

#endif
