/* SPDX-License-Identifier: MIT */
/*
 * The daemons' side of the admin socket (lib/ctl_admin.h): a Unix
 * SOCK_SEQPACKET socket, mode 0600, one request per connection. Each
 * peer's uid is checked by SO_PEERCRED right after accept, before
 * anything is read: a peer that is not root is refused and logged
 * (event=ctl result=refused reason=not_root), so only root ever waits on
 * a read (at most KG_CTL_ADMIN_WAIT_MS) or gets an answer. Malformed
 * requests are answered KG_CTL_BAD_REQUEST and logged with the parser's
 * reason. The daemon's serve callback answers with kg_ctl_admin_answer.
 */
#ifndef KG_CTL_ADMIN_SERVER_H
#define KG_CTL_ADMIN_SERVER_H

#include <stddef.h>

#include "ctl_admin.h"
#include "err.h"
#include "strbuf.h"

#define KG_CTL_ADMIN_WAIT_MS 500

/* Listens at path (its parent directory made 0755 if missing): a stale
 * socket (nobody listening) is replaced, a live one is not (-EADDRINUSE).
 * *fd is the caller's. 0 or -errno with e set. */
int kg_ctl_admin_listen(const char *path, int *fd, struct kg_err *e);

typedef void (*kg_ctl_admin_serve_fn)(void *ctx,
				      const struct kg_ctl_admin_req *req,
				      int fd);
/* Call when lfd is readable: accepts up to a few connections, checks,
 * reads and parses each request and calls serve for the good ones; closes
 * every connection. */
void kg_ctl_admin_accept(int lfd, kg_ctl_admin_serve_fn serve, void *ctx);
/* The answer: status, then text (len bytes), in messages of at most
 * KG_CTL_ADMIN_CHUNK bytes. Errors are ignored (the peer went away). */
void kg_ctl_admin_answer(int fd, enum kg_ctl_admin_status st,
			 const char *text, size_t len);
void kg_ctl_admin_answer_str(int fd, enum kg_ctl_admin_status st,
			     const char *s);
/* A built answer: o's text with KG_CTL_OK, logged "ok"; or, if building
 * it failed (kg_sb_error), "out of memory" with KG_CTL_FAILED, logged
 * "error". Frees o either way. */
void kg_ctl_admin_answer_sb(const struct kg_ctl_admin_req *q, int fd,
			    struct kg_sb *o);
/* One record for a served request: event=ctl op=... arg=... result=...
 * detail=... (arg and detail may be NULL). */
void kg_ctl_admin_log(const struct kg_ctl_admin_req *q, const char *result,
		      const char *detail);

#endif
