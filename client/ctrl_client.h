/* SPDX-License-Identifier: MIT */
/*
 * Client side of the control protocol (docs/protocol.md, "Control
 * protocol") over a connected TCP socket to green's tunnel address. The
 * card is reached only through the signer callback, so the PIV code (or
 * a test's fake) plugs in: it gets the SHA-256 of a transcript and returns
 * a DER ECDSA signature.
 *
 * Calls block, each wait bounded by io_timeout_ms. A reproof request from
 * green that arrives while the client waits for something else is answered
 * on the way (card presence is checked by green at any time).
 *
 * Errors: 0, or -EACCES (green refused: c->code says why, a KG_CODE_*),
 * -ECONNRESET (green closed the session: c->code), -ETIMEDOUT, -EPROTO
 * (green sent something malformed or unexpected), the signer's error, or
 * -errno of the socket. e (may be NULL) gets a sentence.
 * Memory: the caller owns the struct and the fd (closed by neither call).
 */
#ifndef KG_CTRL_CLIENT_H
#define KG_CTRL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctrl.h"
#include "err.h"
#include "transcript.h"

/* Signs digest with the card's key: sig has room for KG_CTRL_MAX_SIG
 * bytes; *sig_len gets the DER length. 0 or -errno (e.g. card removed). */
typedef int (*kg_ctrl_signer_fn)(void *ctx, const uint8_t digest[32],
				 uint8_t *sig, size_t *sig_len);

struct kg_ctrl_session_info {
	uint64_t id;
	uint32_t idle_timeout, expires, reproof_interval;
	size_t n_services;
	char services[KG_CTRL_MAX_SERVICES][KG_CTRL_MAX_NAME + 1];
};

struct kg_ctrl_client {
	int fd;
	int io_timeout_ms;
	kg_ctrl_signer_fn sign;
	void *sign_ctx;
	struct kg_proof_binding b;     /* keys and tunnel address */
	uint64_t session_id;
	uint8_t nonce[KG_CTRL_NONCE_LEN];
	uint16_t code;                 /* last refusal or close reason */
	unsigned reproofs;             /* answered so far */
	/* Optional: green moved a granted service (MOVED); called from any
	 * wait. service is NUL-terminated, valid during the call. */
	void (*on_moved)(void *ctx, const char *service,
			 const struct kg_ctrl_grant *g);
	void *moved_ctx;
	uint8_t in[KG_CTRL_MAX_FRAME];
};

void kg_ctrl_client_init(struct kg_ctrl_client *c, int fd, int io_timeout_ms,
			 const uint8_t client_wg_pub[32],
			 const uint8_t green_wg_pub[32],
			 const struct kg_addr *tunnel, kg_ctrl_signer_fn sign,
			 void *sign_ctx);

/* Hello with the card's certificate (DER), challenge, proof; on 0 *info
 * is the session and its services. */
int kg_ctrl_client_auth(struct kg_ctrl_client *c, const uint8_t *cert,
			size_t cert_len, struct kg_ctrl_session_info *info,
			struct kg_err *e);

/* A service request signed by the card; on 0 *g is where it is. */
int kg_ctrl_client_request(struct kg_ctrl_client *c, const char *service,
			   struct kg_ctrl_grant *g, struct kg_err *e);

/* Waits up to timeout_ms for green (reproof requests are answered);
 * 0 when the time passed with the session still up, -ECONNRESET when
 * green ended it (c->code). For the connect command's keep-alive loop. */
int kg_ctrl_client_wait(struct kg_ctrl_client *c, int timeout_ms,
			struct kg_err *e);

/* Tells green to end the session (best effort; 0 or -errno). */
int kg_ctrl_client_close(struct kg_ctrl_client *c);

#endif
