/* SPDX-License-Identifier: MIT */
/*
 * The client <-> green control protocol (docs/protocol.md, "Control
 * protocol"), spoken over TCP on green's tunnel address. A frame is a u32
 * big-endian body length then the body: u8 version (1), u8 type, fields.
 *
 * This file is the one place control bytes are parsed. kg_ctrl_parse()
 * takes one frame body and fills a struct kg_ctrl_msg whose byte fields
 * are views into that body (no copy: valid as long as the caller's
 * buffer). It does no I/O and keeps no state, so the fuzzer and unit tests
 * drive it directly. kg_ctrl_build() writes one whole frame (header
 * included) into a caller buffer.
 *
 * Errors: parse returns 0 or -EBADMSG with *reason set to a short stable
 * name ("truncated", "trailing_bytes", ...) that callers log; build returns
 * 0, -EINVAL (a field out of the protocol's bounds) or -EMSGSIZE (no room).
 */
#ifndef KG_CTRL_H
#define KG_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define KG_CTRL_VERSION 1
#define KG_CTRL_HDR_LEN 4
#define KG_CTRL_MAX_BODY 8192      /* largest body either side accepts */
#define KG_CTRL_MAX_FRAME (KG_CTRL_HDR_LEN + KG_CTRL_MAX_BODY)
#define KG_CTRL_MAX_CERT 4096      /* DER user certificate */
#define KG_CTRL_MIN_SIG 8
#define KG_CTRL_MAX_SIG 72         /* DER ECDSA P-256 */
#define KG_CTRL_NONCE_LEN 32       /* challenges and service nonces */
#define KG_CTRL_MAX_NAME 32        /* service name: [a-z0-9_.-]{1,32} */
#define KG_CTRL_MAX_SERVICES 64
#define KG_CTRL_MAX_TEXT 200       /* error text, printable ASCII */

enum kg_ctrl_type {
	KG_CTRL_HELLO = 1,         /* client: certificate */
	KG_CTRL_CHALLENGE = 2,     /* green: fresh challenge */
	KG_CTRL_PROOF = 3,         /* client: card signature */
	KG_CTRL_SESSION = 4,       /* green: session info + services */
	KG_CTRL_SERVICE_REQ = 5,   /* client: service + card signature */
	KG_CTRL_GRANT = 6,         /* green: where the service is */
	KG_CTRL_REFUSED = 7,       /* green: service refused, why */
	KG_CTRL_CLOSE = 8,         /* either: end the session */
	KG_CTRL_REPROOF_REQ = 9,   /* green: prove the card again */
	KG_CTRL_REPROOF = 10,      /* client: card signature */
	KG_CTRL_ERROR = 11,        /* green: protocol error, then close */
	KG_CTRL_MOVED = 12,        /* green: a granted service moved (red
				      restarted): its new place, unasked */
};

/* Reasons carried by REFUSED, CLOSE and ERROR (u16 on the wire). */
enum kg_ctrl_code {
	KG_CODE_NONE = 0,
	KG_CODE_CLOSE = 1,          /* a side asked to close */
	KG_CODE_IDLE = 2,
	KG_CODE_LIFETIME = 3,
	KG_CODE_PEER_SILENT = 4,
	KG_CODE_REPROOF_MISSED = 5,
	KG_CODE_REVOKED = 6,
	KG_CODE_REMOVED = 7,
	KG_CODE_AUTH_FAILED = 8,    /* certificate, pin or signature */
	KG_CODE_TIMEOUT = 9,
	KG_CODE_PROTOCOL = 10,      /* malformed or unexpected message */
	KG_CODE_NOT_ALLOWED = 11,   /* policy: not this user's service */
	KG_CODE_UNKNOWN_SERVICE = 12,
	KG_CODE_STALE_NONCE = 13,
	KG_CODE_BAD_SIGNATURE = 14,
	KG_CODE_UNAVAILABLE = 15,   /* red did not answer or refused */
	KG_CODE_BUSY = 16,          /* too many clients / already connected */
	KG_CODE_NO_SESSION = 17,    /* no knock opened this tunnel address */
	KG_CODE_INTERNAL = 18,
	KG_CODE_MAX_ = 18,
};

/* Stable short name for a code ("idle", "revoked", ...), never NULL. */
const char *kg_ctrl_code_name(uint16_t code);
/* Stable short name for a type ("hello", ...), never NULL. */
const char *kg_ctrl_type_name(uint8_t type);

struct kg_ctrl_view {
	const uint8_t *p;   /* not owned */
	size_t len;
};

struct kg_ctrl_grant {
	struct kg_addr addr;   /* red's address for this service */
	uint16_t port;
	uint32_t lease;        /* seconds left when green sent it: a
				  duration, so no two clocks must agree
				  (docs/protocol.md) */
};

/* One parsed message. Which fields are set depends on type; views point
 * into the parsed body. For building, fill the same struct. */
struct kg_ctrl_msg {
	uint8_t type;
	struct kg_ctrl_view cert;        /* HELLO */
	struct kg_ctrl_view sig;         /* PROOF, SERVICE_REQ, REPROOF */
	struct kg_ctrl_view service;     /* SERVICE_REQ, GRANT, REFUSED, MOVED */
	struct kg_ctrl_view text;        /* ERROR */
	uint8_t nonce[KG_CTRL_NONCE_LEN];/* CHALLENGE, REPROOF_REQ: challenge;
					    SERVICE_REQ: the nonce used;
					    SESSION, GRANT, REFUSED: next one */
	uint64_t session_id;             /* SESSION */
	uint32_t idle_timeout;           /* SESSION, seconds */
	uint32_t expires;                /* SESSION: seconds from now */
	uint32_t reproof_interval;       /* SESSION, seconds */
	uint16_t code;                   /* REFUSED, CLOSE, ERROR */
	struct kg_ctrl_grant grant;      /* GRANT, MOVED */
	size_t n_services;               /* SESSION */
	struct kg_ctrl_view services[KG_CTRL_MAX_SERVICES];
};

/* Frame header check on the first bytes received: 0 with *body_len set
 * when the 4-byte header is there (the body may still be incomplete),
 * -EAGAIN if fewer than 4 bytes, -EMSGSIZE if the length is 0 or above
 * max_body (a peer announcing an oversize message is refused before its
 * bytes are read). */
int kg_ctrl_frame_len(const uint8_t *buf, size_t have, size_t max_body,
		      size_t *body_len);

/* Parses one frame body (without the 4-byte header). m is overwritten. */
int kg_ctrl_parse(const uint8_t *body, size_t len, struct kg_ctrl_msg *m,
		  const char **reason);

/* Writes m as a whole frame into buf; *out_len gets its length. */
int kg_ctrl_build(const struct kg_ctrl_msg *m, uint8_t *buf, size_t cap,
		  size_t *out_len);

/* True if s (n bytes) is a valid service name. */
bool kg_ctrl_name_ok(const uint8_t *s, size_t n);

#endif
