/* SPDX-License-Identifier: MIT */
/*
 * Green's side of the signed second knock: builds and signs open, renew
 * and close knocks for one red, keeps them pending, resends a lost one a
 * bounded number of times, and accepts only answers that red signed and
 * that carry the hash of a knock still pending (docs/architecture.md
 * "Idempotent signed knocks").
 *
 * The pure part (kg_rc_*) does no I/O: time is passed in, packets are
 * handed out, so unit tests drive it. kg_rc_sock_* are the UDP send and
 * receive functions for green's event loop (and the test tool).
 */
#ifndef KG_RED_CLIENT_H
#define KG_RED_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/x509.h>

#include "addr.h"
#include "sknock.h"

struct kg_hostkey;

struct kg_rc_pending {
	bool used;
	uint8_t hash[KG_SK_HASH_LEN];     /* the knock's identity */
	uint8_t pkt[KG_SK_PACKET_MAX];    /* resent as is: same hash */
	size_t len;
	struct kg_sknock k;
	uint64_t next_ms;                 /* when to resend */
	unsigned sent;
	void *cookie;                     /* caller's, returned with the answer */
	uint32_t next;                    /* hash chain: slot + 1, 0 ends */
};

struct kg_red_client {
	char green_id[KG_SK_ID_MAX + 1];
	char red_id[KG_SK_ID_MAX + 1];
	const struct kg_hostkey *key;     /* green's host key, not owned */
	X509 *red_cert;                   /* red's certificate, not owned */
	struct kg_rc_pending *p;          /* owned */
	size_t cap;
	uint32_t *head;                   /* owned: chains by knock hash */
	size_t n_head;                    /* a power of two >= cap */
	unsigned max_sends;               /* first send + retries */
	unsigned retry_ms;
	uint64_t sig_checks;              /* answers whose signature was checked */
};

enum kg_rc_result {
	KG_RC_OK = 0,
	KG_RC_MALFORMED,       /* not an answer (kg_sk_err in *why) */
	KG_RC_WRONG_HOSTS,     /* names another red or green */
	KG_RC_BAD_SIGNATURE,   /* not signed by red's certificate */
	KG_RC_NOT_PENDING,     /* answers nothing we asked (or asked already) */
};

/* 0, -EINVAL (ids), -ENOMEM. key and red_cert must outlive rc. */
int kg_rc_init(struct kg_red_client *rc, const char *green_id,
	       const char *red_id, const struct kg_hostkey *key,
	       X509 *red_cert, size_t cap, unsigned max_sends,
	       unsigned retry_ms);
void kg_rc_free(struct kg_red_client *rc);

/* Starts a request: k's action, session, seq, client, service and
 * lifetime are the caller's (seq: one more than the session's last
 * request for this service; a retry is the same pending knock); ids,
 * timestamp (k's if set: wall clock, Unix s; else now_ms/1000) and a
 * fresh nonce are set here. now_ms schedules the resends: the daemon
 * passes the monotonic clock there (a wall-clock step must not fire or
 * stall every resend) and stamps k itself. Signs it,
 * records it pending and points *pkt and *len at the bytes to send (valid
 * while pending). 0, -ENOSPC (too many pending), -EINVAL, -EIO. */
int kg_rc_request(struct kg_red_client *rc, const struct kg_sknock *k,
		  uint64_t now_ms, void *cookie, const uint8_t **pkt,
		  size_t *len);

/* Resends due at now_ms: calls send(ctx, pkt, len) for each; a knock
 * sent max_sends times without answer is dropped and reported through
 * gave_up(ctx, pending) (may be NULL). Returns ms until the next resend
 * is due (UINT32_MAX if none). */
uint32_t kg_rc_tick(struct kg_red_client *rc, uint64_t now_ms,
		    void (*send)(void *ctx, const uint8_t *pkt, size_t len),
		    void (*gave_up)(void *ctx, const struct kg_rc_pending *p),
		    void *ctx);

/* Saved knock bytes (a captured knock, for the test tool) made pending
 * as if just sent at now_ms, so its answer is accepted; the client takes
 * the green and red ids the knock names. 0, -ENOSPC, -EINVAL (does not
 * parse). */
int kg_rc_adopt(struct kg_red_client *rc, const uint8_t *pkt, size_t len,
		uint64_t now_ms);

/* An answer received: parse, ids, pending match (a hash lookup, so junk
 * and answers to nothing cost no signature check), then red's
 * signature. On KG_RC_OK fills *a and *req (the knock answered),
 * *cookie, and forgets the pending knock (a second copy is then
 * KG_RC_NOT_PENDING). A bad signature leaves the knock pending. */
enum kg_rc_result kg_rc_answer(struct kg_red_client *rc, const uint8_t *pkt,
			       size_t len, struct kg_skanswer *a,
			       struct kg_sknock *req, void **cookie,
			       enum kg_sk_err *why);
const char *kg_rc_result_name(enum kg_rc_result r);
size_t kg_rc_n_pending(const struct kg_red_client *rc);

/* UDP: a socket bound to local (port may be 0) for sending knocks and
 * receiving answers; with ifname (may be NULL) also bound to that device
 * (SO_BINDTODEVICE), so nothing arriving on another interface reaches it
 * even if the table let it in. green's table must let red's answers
 * reach it. 0 or -errno. */
int kg_rc_sock_open(const struct kg_addr *local, uint16_t port,
		    const char *ifname, int *fd);
int kg_rc_sock_send(int fd, const struct kg_addr *red, uint16_t port,
		    const uint8_t *pkt, size_t len);
/* One datagram into buf; *src its sender. Bytes read, or -errno
 * (-EAGAIN on a non-blocking socket with nothing queued). */
ssize_t kg_rc_sock_recv(int fd, uint8_t *buf, size_t cap,
			struct kg_addr *src);

#endif
