/* SPDX-License-Identifier: MIT */
/*
 * The signed second knock (green to red) and red's signed answer: the one
 * place their bytes are built and parsed (docs/protocol.md, "Signed knock
 * (green to red)"). No I/O, no globals: unit tests and fuzz_sknock link it
 * directly.
 *
 * A packet is BODY || u8 siglen || DER ECDSA P-256 signature. BODY starts
 * with "KGSK", a version and a type, so a knock can never be taken for an
 * answer. The signed digest is SHA-256(BODY); the same digest is the
 * knock's identity ("knock hash") that red's answer carries and that the
 * replay cache keys on. The signature is outside it on purpose: ECDSA
 * signatures are malleable and randomized, the body is not.
 *
 * Signing and verifying belong to the callers (pki/pki.h): this module
 * only says which bytes, so it stays pure.
 */
#ifndef KG_SKNOCK_H
#define KG_SKNOCK_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define KG_SK_MAGIC "KGSK"
#define KG_SK_VERSION 1
#define KG_SK_ID_MAX 32          /* host ids and service names */
#define KG_SK_NONCE_LEN 16
#define KG_SK_HASH_LEN 32
#define KG_SK_SIG_MIN 8
#define KG_SK_SIG_MAX 72         /* DER P-256 */
#define KG_SK_LIFETIME_MAX 86400
#define KG_SK_HELD_MAX 32
#define KG_SK_BODY_MAX 192
#define KG_SK_PACKET_MAX (KG_SK_BODY_MAX + 1 + KG_SK_SIG_MAX)

enum kg_sk_type {
	KG_SK_TYPE_KNOCK = 1,
	KG_SK_TYPE_ANSWER = 2,
	KG_SK_TYPE_RENEWS = 3,        /* many renewals, signed once */
	KG_SK_TYPE_RENEWS_ANSWER = 4, /* one result per renewal, in order */
	KG_SK_TYPE_HOP = 5,           /* red's push: a hopping grant moved */
};

/* Batched renewals (docs/protocol.md, "Batched renewals"): at most
 * KG_SK_BATCH_MAX entries, so a batch and its answer stay one datagram
 * well inside the site link's MTU. */
#define KG_SK_BATCH_MAX 16
#define KG_SK_BATCH_BODY_MAX 1200
#define KG_SK_BATCH_PACKET_MAX (KG_SK_BATCH_BODY_MAX + 1 + KG_SK_SIG_MAX)
enum kg_sk_action { KG_SK_OPEN = 1, KG_SK_RENEW = 2, KG_SK_CLOSE = 3 };
enum kg_sk_result { KG_SK_GRANTED = 1, KG_SK_CLOSED = 2, KG_SK_REFUSED = 3 };

/* Why red refused an authentic knock (carried in a refusal answer). */
enum kg_sk_reason {
	KG_SK_R_NONE = 0,
	KG_SK_R_WRONG_RED,        /* names another red */
	KG_SK_R_BEFORE_START,     /* stamped before red started */
	KG_SK_R_OUTSIDE_WINDOW,   /* timestamp too far from red's clock */
	KG_SK_R_REPLAY,           /* this exact knock was seen already */
	KG_SK_R_STALE_SEQUENCE,   /* older than the session's last request */
	KG_SK_R_UNKNOWN_SERVICE,
	KG_SK_R_BAD_CLIENT,       /* client address outside the tunnel range */
	KG_SK_R_POOL_EXHAUSTED,
	KG_SK_R_NO_GRANT,         /* renew of a grant red does not hold */
	KG_SK_R_BUSY,             /* a table is full: refuse, never evict */
	KG_SK_R_INTERNAL,         /* nftables failed */
	KG_SK_R_SEQUENCE_REUSED,  /* same sequence, different request */
	KG_SK_R_COUNT
};

/* Parse refusals, one per field; names for log records. */
enum kg_sk_err {
	KG_SK_E_OK = 0,
	KG_SK_E_TRUNCATED,
	KG_SK_E_BAD_MAGIC,
	KG_SK_E_BAD_VERSION,
	KG_SK_E_BAD_TYPE,
	KG_SK_E_BAD_ACTION,
	KG_SK_E_BAD_GREEN_ID,
	KG_SK_E_BAD_RED_ID,
	KG_SK_E_BAD_FAMILY,
	KG_SK_E_BAD_SERVICE,
	KG_SK_E_BAD_LIFETIME,
	KG_SK_E_BAD_RESULT,
	KG_SK_E_BAD_REASON,
	KG_SK_E_BAD_GRANT,        /* port/lease inconsistent with the result */
	KG_SK_E_BAD_SIG_LEN,
	KG_SK_E_TRAILING,
	KG_SK_E_BAD_COUNT,        /* batch: 0 or more than KG_SK_BATCH_MAX */
	KG_SK_E_BAD_HOP,          /* hop number 0, port 0 or unchanged, overlap */
	KG_SK_E_COUNT
};

struct kg_sknock {
	uint8_t action;                       /* enum kg_sk_action */
	char green_id[KG_SK_ID_MAX + 1];
	char red_id[KG_SK_ID_MAX + 1];
	uint64_t session;
	uint32_t seq;
	struct kg_addr client;                /* the client's tunnel address */
	char service[KG_SK_ID_MAX + 1];
	uint32_t lifetime;                    /* seconds, 1..KG_SK_LIFETIME_MAX */
	uint64_t timestamp;                   /* unix seconds */
	uint8_t nonce[KG_SK_NONCE_LEN];
};

struct kg_skanswer {
	uint8_t result;                       /* enum kg_sk_result */
	char red_id[KG_SK_ID_MAX + 1];
	char green_id[KG_SK_ID_MAX + 1];
	uint8_t knock_hash[KG_SK_HASH_LEN];   /* SHA-256 of the knock's body */
	uint16_t port;                        /* granted only, else 0 */
	uint32_t lease;                       /* granted only: seconds from red's
						 decision, 1..KG_SK_LIFETIME_MAX;
						 else 0 */
	uint8_t reason;                       /* refused only, else 0 */
	uint64_t timestamp;
};

/* One renewal of a batch: the fields of a renew knock that differ per
 * grant. */
struct kg_sk_renew {
	uint64_t session;
	uint32_t seq;
	struct kg_addr client;
	char service[KG_SK_ID_MAX + 1];
	uint32_t lifetime;                    /* seconds, 1..KG_SK_LIFETIME_MAX */
};

struct kg_skrenews {
	char green_id[KG_SK_ID_MAX + 1];
	char red_id[KG_SK_ID_MAX + 1];
	uint64_t timestamp;                   /* unix seconds, the whole batch */
	uint8_t nonce[KG_SK_NONCE_LEN];
	uint8_t n;                            /* 1..KG_SK_BATCH_MAX */
	struct kg_sk_renew e[KG_SK_BATCH_MAX];
};

/* Red's result for one renewal: granted (port, lease) or refused
 * (reason), as in a single answer. */
struct kg_sk_renew_result {
	uint8_t result;                       /* KG_SK_GRANTED or KG_SK_REFUSED */
	uint16_t port;
	uint32_t lease;
	uint8_t reason;
};

struct kg_skrenews_answer {
	char red_id[KG_SK_ID_MAX + 1];
	char green_id[KG_SK_ID_MAX + 1];
	uint8_t knock_hash[KG_SK_HASH_LEN];   /* SHA-256 of the batch's body */
	uint64_t timestamp;
	uint8_t n;                            /* the batch's n */
	struct kg_sk_renew_result r[KG_SK_BATCH_MAX];
};

/* Red's push to green (type 5): a hopping grant moved to another port.
 * Unasked (it answers no knock); green takes it only from that red,
 * signed by it, for a grant it holds, with a hop number above the last
 * one it applied. */
struct kg_skhop {
	char red_id[KG_SK_ID_MAX + 1];
	char green_id[KG_SK_ID_MAX + 1];
	uint64_t session;
	char service[KG_SK_ID_MAX + 1];
	struct kg_addr client;                /* the client's tunnel address */
	uint32_t hop;                         /* 1, 2, ... within the grant */
	struct kg_addr addr;                  /* where the grant is now (red's
						 site address today) */
	uint16_t port;                        /* the new port, non-zero */
	uint16_t old_port;                    /* the port left, non-zero, != port */
	uint32_t overlap_ms;                  /* old port takes new connections
						 so long: 1..86400000 */
	uint64_t timestamp;                   /* red's clock, unix seconds */
	/* every port red holds for this grant's established flows (the
	 * current one included), so green holds the same ones */
	uint16_t held[KG_SK_HELD_MAX];
	uint8_t n_held;                       /* 1..KG_SK_HELD_MAX */
};

/* Where the signed body and the signature lie inside a parsed packet
 * (views into the caller's buffer, not owned). */
struct kg_sk_view {
	const uint8_t *body;
	size_t body_len;
	const uint8_t *sig;
	size_t sig_len;
};

/* Stable short names for log records; never NULL ("?" if out of range). */
const char *kg_sk_err_name(enum kg_sk_err e);
const char *kg_sk_reason_name(unsigned r);
const char *kg_sk_action_name(unsigned a);

/* True if s is a valid host id / service name: 1..32 of [A-Za-z0-9._-]. */
int kg_sk_id_valid(const char *s);

/* Writes the body (the signed bytes) into out. 0, -EINVAL if a field is
 * out of range (names, action, family, lifetime), -EMSGSIZE if cap is too
 * small (KG_SK_BODY_MAX always suffices). */
int kg_sknock_encode_body(const struct kg_sknock *k, uint8_t *out, size_t cap,
			  size_t *len);
int kg_skanswer_encode_body(const struct kg_skanswer *a, uint8_t *out,
			    size_t cap, size_t *len);
int kg_skhop_encode_body(const struct kg_skhop *h, uint8_t *out, size_t cap,
			 size_t *len);

/* Appends u8 siglen || sig after a body of *len bytes in buf; 0,
 * -EINVAL on a bad signature length, -EMSGSIZE if no room. */
int kg_sk_append_sig(uint8_t *buf, size_t cap, size_t *len, const uint8_t *sig,
		     size_t sig_len);

/* The digest that is signed, and the knock's identity: SHA-256(body). */
void kg_sk_digest(const uint8_t *body, size_t len, uint8_t out[KG_SK_HASH_LEN]);

/* Parses an untrusted packet. On KG_SK_E_OK fills *k (or *a) and *v; on
 * any error the outputs are unspecified and must not be used. The type is
 * checked: a knock is never accepted as an answer nor the reverse. */
enum kg_sk_err kg_sknock_parse(const uint8_t *pkt, size_t len,
			       struct kg_sknock *k, struct kg_sk_view *v);
enum kg_sk_err kg_skanswer_parse(const uint8_t *pkt, size_t len,
				 struct kg_skanswer *a, struct kg_sk_view *v);
enum kg_sk_err kg_skhop_parse(const uint8_t *pkt, size_t len,
			      struct kg_skhop *h, struct kg_sk_view *v);

/* Batched renewals. Encoders: 0, -EINVAL (a field out of range, n not
 * 1..KG_SK_BATCH_MAX, a result neither granted nor refused or
 * inconsistent), -EMSGSIZE (cap too small; KG_SK_BATCH_BODY_MAX always
 * suffices). Parsers as kg_sknock_parse: every field checked, the type
 * too, outputs unspecified on error. */
int kg_skrenews_encode_body(const struct kg_skrenews *b, uint8_t *out,
			    size_t cap, size_t *len);
int kg_skrenews_answer_encode_body(const struct kg_skrenews_answer *a,
				   uint8_t *out, size_t cap, size_t *len);
enum kg_sk_err kg_skrenews_parse(const uint8_t *pkt, size_t len,
				 struct kg_skrenews *b, struct kg_sk_view *v);
enum kg_sk_err kg_skrenews_answer_parse(const uint8_t *pkt, size_t len,
					struct kg_skrenews_answer *a,
					struct kg_sk_view *v);

/* The type byte of an untrusted packet that starts like a signed-knock
 * body (magic and version), else 0: which parser to hand it to (the
 * parser checks the type again). */
uint8_t kg_sk_peek_type(const uint8_t *pkt, size_t len);

/* The identity of entry i of a batch whose body hashes to batch_hash:
 * SHA-256("KGSK-renew" || batch_hash || u8 i). Red keys each grant's
 * idempotency on it as on a single knock's hash, so a resent batch is
 * answered from the cache entry by entry. */
void kg_sk_entry_hash(const uint8_t batch_hash[KG_SK_HASH_LEN], unsigned i,
		      uint8_t out[KG_SK_HASH_LEN]);

#endif
