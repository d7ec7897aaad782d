/* SPDX-License-Identifier: MIT */
/*
 * Green's control port: a non-blocking state machine per connection, many
 * clients at once, driven by poll (kg_ctrl_server_run_once) or by the
 * daemon's own loop (pollfds / handle / tick).
 *
 * Per connection:  hello -> proof -> live (-> closing)
 *   accept   the source address (the client's tunnel address) must belong
 *            to a session the knock opened (ops->lookup), else refused;
 *   hello    the certificate is checked (ops->verify_cert) and its SPKI
 *            SHA-256 must equal the pin of the user whose knock key opened
 *            the tunnel; green answers a fresh random challenge;
 *   proof    the card's signature over the transcript (challenge, both WG
 *            keys, tunnel address) is checked; ops->session_live makes the
 *            pending peer the session's peer; green sends session info,
 *            the user's services and the first service nonce;
 *   live     service requests (each signed over session id, green's current
 *            nonce and the name; a new nonce with every answer), a reproof
 *            every reproof_interval, close.
 * Any failure before live ends the pending session (ops->session_end), so
 * a client that fails or sends nothing leaves no peer and no port open.
 *
 * Limits: io_timeout bounds every wait for the client (hello, proof,
 * reproof answer, the rest of a started frame, flushing output); a frame
 * announcing more than KG_CTRL_MAX_BODY bytes is refused on its header;
 * output beyond KG_CTRL_SERVER_OUT_MAX (a client that does not read) drops
 * the connection; at most max_clients connections, one per session.
 *
 * Every decision is one log record: event=auth (accepted/rejected),
 * event=service, event=reproof, event=ctrl (connection refused, timeout,
 * malformed), with user, src, session and reason.
 */
#ifndef KG_CTRL_SERVER_H
#define KG_CTRL_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ctrl.h"
#include "session.h"

#define KG_CTRL_SERVER_OUT_MAX 16384

/* What green knows about the session a tunnel address belongs to. */
struct kg_ctrl_peer {
	uint64_t session_id;
	char user[KG_SESS_USER_MAX];
	uint8_t client_wg_pub[32];
	uint8_t spki_pin[32];     /* from the user record */
	bool live;
};

/* Filled by ops->session_live for the SESSION message. */
struct kg_ctrl_live {
	uint32_t idle_timeout, expires, reproof_interval;   /* seconds */
	const char *services[KG_CTRL_MAX_SERVICES];  /* valid until return */
	size_t n_services;
};

/* The checks done in another process (green's worker under -P,
 * docs/privsep.md): the monitor holds the certificate, issues the
 * challenges and nonces, verifies every signature over its own record of
 * the session and decides; this server only moves bytes. Each hook names
 * the connection by its peer (tunnel) address. 0 or a negative errno;
 * hello, proof and reproof -EACCES = refused (the monitor has logged why
 * and ended the session); service 0 = answered (*code, *g, next nonce),
 * -EINPROGRESS = red answers later (kg_ctrl_server_service_done_nonce). */
struct kg_ctrl_remote {
	int (*hello)(void *ctx, const struct kg_addr *tunnel,
		     const uint8_t *der, size_t len, uint8_t challenge[32]);
	int (*proof)(void *ctx, const struct kg_addr *tunnel,
		     const uint8_t *sig, size_t len, struct kg_ctrl_live *out,
		     uint8_t nonce[32]);
	int (*service)(void *ctx, const struct kg_addr *tunnel,
		       const uint8_t nonce[32], const char *name,
		       const uint8_t *sig, size_t len, struct kg_ctrl_grant *g,
		       uint16_t *code, uint8_t next[32]);
	int (*reproof_req)(void *ctx, const struct kg_addr *tunnel,
			   uint8_t challenge[32]);
	int (*reproof)(void *ctx, const struct kg_addr *tunnel,
		       const uint8_t *sig, size_t len);
	/* The connection ended (before live: the pending session ends). */
	void (*end)(void *ctx, const struct kg_addr *tunnel,
		    enum kg_sess_end why);
};

/* The daemon's side, faked in unit tests. Unless said otherwise a hook
 * returns 0 or a negative errno; reason outputs are static strings. */
struct kg_ctrl_ops {
	void *ctx;
	/* Session for a tunnel address; -ENOENT if none. */
	int (*lookup)(void *ctx, const struct kg_addr *tunnel,
		      struct kg_ctrl_peer *out);
	/* Checks a DER certificate (CA, validity, CRL, EKU); on 0 sets an
	 * opaque *cert (freed with cert_free) and its SPKI SHA-256; else
	 * -EACCES with *reason (e.g. kg_pki_status_name()). */
	int (*verify_cert)(void *ctx, const uint8_t *der, size_t len,
			   void **cert, uint8_t spki[32], const char **reason);
	/* ECDSA over digest with the certificate's key; -EBADMSG if bad. */
	int (*verify_sig)(void *ctx, void *cert, const uint8_t digest[32],
			  const uint8_t *sig, size_t sig_len);
	void (*cert_free)(void *ctx, void *cert);
	/* Pending -> live (the peer becomes the session's peer). */
	int (*session_live)(void *ctx, uint64_t id, struct kg_ctrl_live *out);
	/* The server ended the session: remove peer and port openings. */
	void (*session_end)(void *ctx, uint64_t id, enum kg_sess_end why);
	/* A reproof passed; activity (a control message) seen. */
	void (*reproved)(void *ctx, uint64_t id);
	void (*activity)(void *ctx, uint64_t id);
	/* Policy + second knock: 0 with *out filled (granted), -EACCES with
	 * *code set (refused), or -EINPROGRESS when red's answer comes later:
	 * the daemon then calls kg_ctrl_server_service_done (it must, also
	 * when red never answers), and the connection's further requests
	 * wait until it does. */
	int (*open_service)(void *ctx, uint64_t id, const char *user,
			    const char *service, struct kg_ctrl_grant *out,
			    uint16_t *code);
	/* Optional, for an epoll loop (lib/evloop.h): a connection fd to
	 * watch for input (on) or to forget (before it is closed). The loop
	 * calls kg_ctrl_server_handle(s, fd, POLLIN) on input and
	 * kg_ctrl_server_tick() from a timer (it also flushes output). */
	void (*watch)(void *ctx, int fd, bool on);
	/* Optional: when set, the checks go there and verify_cert,
	 * verify_sig, cert_free, session_live, session_end, reproved,
	 * activity and open_service are not called (may be NULL). */
	const struct kg_ctrl_remote *remote;
};

struct kg_ctrl_server_conf {
	uint8_t green_wg_pub[32];
	uint32_t io_timeout_ms;
	uint32_t reproof_interval_ms;   /* 0 = never */
	size_t max_clients;
};

struct kg_ctrl_server;

/* now_ms NULL = CLOCK_MONOTONIC. *out owned by the caller:
 * kg_ctrl_server_free (closes every connection without callbacks).
 * 0, -EINVAL, -ENOMEM. */
int kg_ctrl_server_new(struct kg_ctrl_server **out,
		       const struct kg_ctrl_server_conf *conf,
		       const struct kg_ctrl_ops *ops,
		       int64_t (*now_ms)(void *ctx), void *clock_ctx);
void kg_ctrl_server_free(struct kg_ctrl_server *s);

/* A TCP socket listening on addr:port only (green's tunnel address; bound
 * even before the address exists, IP_FREEBIND), non-blocking. 0 or -errno. */
int kg_ctrl_listen(const struct kg_addr *addr, uint16_t port, int backlog,
		   int *fd);

/* Accepts every waiting connection from the listening socket. */
void kg_ctrl_server_accept(struct kg_ctrl_server *s, int listen_fd);
/* Takes ownership of a connected stream fd whose peer is tunnel (used by
 * accept, and by tests with socketpairs). Refused connections are closed
 * at once; returns 0 if kept, -EPERM/-EBUSY/-ENOMEM if closed. */
int kg_ctrl_server_add(struct kg_ctrl_server *s, int fd,
		       const struct kg_addr *tunnel);

size_t kg_ctrl_server_count(const struct kg_ctrl_server *s);
/* Fills up to cap pollfds (one per connection); returns how many. */
size_t kg_ctrl_server_pollfds(const struct kg_ctrl_server *s,
			      struct pollfd *p, size_t cap);
/* Handles poll results for one fd from pollfds. */
void kg_ctrl_server_handle(struct kg_ctrl_server *s, int fd, short revents);
/* Timeouts and due reproofs; call after events and when the timeout
 * from next_timeout_ms expires. */
void kg_ctrl_server_tick(struct kg_ctrl_server *s);
/* Milliseconds until tick has work; -1 if none. */
int kg_ctrl_server_next_timeout_ms(const struct kg_ctrl_server *s);
/* One poll round over listen_fd (-1 = none) and every connection, at most
 * timeout_ms (-1 = until something happens). 0 or -errno of poll. */
int kg_ctrl_server_run_once(struct kg_ctrl_server *s, int listen_fd,
			    int timeout_ms);

/* Green ends a session (revocation, idle, ...): tells the client (CLOSE
 * with code), closes the connection; no ops->session_end. -ENOENT if the
 * session has no connection. */
int kg_ctrl_server_end_session(struct kg_ctrl_server *s, uint64_t id,
			       uint16_t code);

/* Completes a service request open_service left in progress: g for a
 * grant, or g NULL and code (KG_CODE_*) for a refusal. -ENOENT if that
 * session has no such request waiting (it ended meanwhile). */
int kg_ctrl_server_service_done(struct kg_ctrl_server *s, uint64_t id,
				const char *service,
				const struct kg_ctrl_grant *g, uint16_t code);
/* The same with the next service nonce given (remote mode: the monitor
 * issued it); nonce NULL = a fresh random one. */
int kg_ctrl_server_service_done_nonce(struct kg_ctrl_server *s, uint64_t id,
				      const char *service,
				      const struct kg_ctrl_grant *g,
				      uint16_t code, const uint8_t *nonce);
/* Tells session id's client that a granted service now lives at g (red
 * restarted and granted a new port): a MOVED message, unasked. -ENOENT if
 * the session has no live connection. */
int kg_ctrl_server_push_moved(struct kg_ctrl_server *s, uint64_t id,
			      const char *service,
			      const struct kg_ctrl_grant *g);

#endif
