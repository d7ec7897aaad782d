/* SPDX-License-Identifier: MIT */
/*
 * Service grants (grants.c), step 4: a second knock to a red for a
 * session's client, the fwd_grants element while red's lease lasts,
 * renewals, and the close knock when the session or the grant ends.
 */
#ifndef KG_GREEN_GRANTS_H
#define KG_GREEN_GRANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ctrl.h"
#include "err.h"
#include "site.h"

/* Completion of an open is reported through
 * done(ctx, session, service, grant, code): grant NULL = refused with
 * code (KG_CODE_*). A renewal that moved the port (red restarted) is
 * reported through moved with the new grant. */
struct green_grants;
struct kg_nft;
struct kg_evloop;
struct green_grants_cb {
	void *ctx;
	void (*done)(void *ctx, uint64_t session, const char *service,
		     const struct kg_ctrl_grant *g, uint16_t code);
	void (*moved)(void *ctx, uint64_t session, const char *service,
		      const struct kg_ctrl_grant *g);
	/* Optional: is the session still there? Checked every tick, so a
	 * session that ended for any reason loses its grants (close knock,
	 * elements removed) within ~100 ms without a hook in every path. */
	bool (*alive)(void *ctx, uint64_t session);
};
/* Loads green's host key and the reds' certificates, opens the answer
 * socket, brings the site link up (green_site_up) and hooks the socket and
 * a timer into loop; client_ifname is green's client WireGuard interface
 * (forwarding is turned on there). Nothing copied from s is kept by
 * pointer, so a reload may free it. *out owned by the caller
 * (green_grants_free). 0 or -errno with e set. s, nft and loop must
 * outlive it. */
int green_grants_new(struct green_grants **out,
		     const struct green_site_conf *s, const char *client_ifname,
		     struct kg_nft *nft,
		     struct kg_evloop *loop, const struct green_grants_cb *cb,
		     struct kg_err *e);
/* Sends a close knock for every grant (best effort, no wait), removes
 * their fwd_grants elements, takes the site link down and frees
 * everything. NULL is fine. */
void green_grants_free(struct green_grants *gr);
/* A forked child's copy (privsep worker): frees the memory (the host key
 * cleared by OpenSSL) and closes the socket's copy, changing nothing in
 * the kernel or in the parent. NULL-safe. */
void green_grants_forget(struct green_grants *gr);
/* Asks red_id for service for the session's client (user: the session's,
 * copied, named in the grant records): -EINPROGRESS (done
 * is called later, always), -ENOENT (no such red), -ENOSPC (too many
 * grants), -EALREADY (a request for it is already waiting). A grant the
 * session already holds is answered at once (0, *out filled). */
int green_grants_open(struct green_grants *gr, uint64_t session,
		      const char *user, const struct kg_addr *client,
		      const char *service, const char *red_id,
		      struct kg_ctrl_grant *out);
/* The session ended (any cause): a close knock for each of its grants,
 * their fwd_grants elements removed. A request still waiting for red is
 * forgotten without calling done (the server dropped the session). */
void green_grants_end_session(struct green_grants *gr, uint64_t session);
/* Puts every live grant's element back (after a reload replaced the
 * table: sets start empty). */
void green_grants_restore(struct green_grants *gr);
size_t green_grants_count(const struct green_grants *gr);
/* Read-only, for the admin socket: cb for each grant of session (asked
 * or live): service, red id, port (0 while asked), seconds of red's lease
 * left. cb must not change gr. NULL gr: none. */
typedef void (*green_grant_cb)(void *ctx, const char *service,
			       const char *red, uint16_t port,
			       uint32_t lease_left_s);
void green_grants_foreach(const struct green_grants *gr, uint64_t session,
			  green_grant_cb cb, void *ctx);

#endif
