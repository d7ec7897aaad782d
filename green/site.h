/* SPDX-License-Identifier: MIT */
/*
 * Green's side of the inside network: the WireGuard site link to the red
 * hosts (site.c), the UDP socket and signed-knock clients that talk to
 * them (red_io.c) and the service grants opened through them (grants.c).
 * Config: [site] and one [red NAME] section per red (conf-site.c).
 *
 *   client --(green's wg)--> green --(site link)--> red 10.89.0.2:port
 *
 * Green forwards a client's packet to a red only while the element
 * (client tunnel address . red site address . granted port) is in
 * fwd_grants; the element's timeout is the lease, refreshed on renewal.
 */
#ifndef KG_GREEN_SITE_H
#define KG_GREEN_SITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "conf.h"
#include "crypto.h"
#include "ctrl.h"
#include "err.h"
#include "sknock.h"

/* One [red NAME] section. */
struct green_red {
	char id[KG_SK_ID_MAX + 1];
	struct kg_addr address;        /* inside address: knocks, site endpoint */
	uint16_t knock_port;           /* red's knock port (62202) */
	struct kg_addr site_address;   /* red's end of the site link */
	uint16_t site_port;            /* red's site WireGuard port (51821) */
	uint8_t site_public_key[KG_KEY_LEN];
	char *cert;                    /* red's host certificate (PEM path) */
};

/* [site]; enabled only when the section exists. */
struct green_site_conf {
	bool enabled;
	char id[KG_SK_ID_MAX + 1];     /* green's host id (green1) */
	char *interface;               /* the site link's WireGuard interface */
	char *private_key;             /* path: base64 WireGuard private key */
	uint16_t listen_port;
	struct kg_prefix address;      /* green's end, 10.89.0.1/30 */
	char *host_key;                /* path: green's ECDSA host key (PEM) */
	char *ca, *crl;                /* optional: check red certs (role red) */
	uint16_t answer_port;          /* UDP port red's answers come to */
	unsigned lease;                /* seconds asked per grant */
	unsigned retry_ms, max_sends;  /* knock resends */
	unsigned max_grants;
	struct green_red *reds;
	size_t n_reds;
};

struct green_conf;
/* [site] and [red NAME] sections into c->site. 0 or -errno with e set. */
int green_conf_site(struct green_conf *c, const struct kg_conf *conf,
		    struct kg_err *e);
int green_conf_red(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e);
void green_conf_site_free(struct green_site_conf *s);
const struct green_red *green_site_red(const struct green_site_conf *s,
				       const char *id);
/* The input-chain rules letting each red's answers and site-link
 * WireGuard packets in (nothing when [site] is absent). */
void green_ruleset_site(FILE *f, const struct green_site_conf *s);

/* site.c: creates, configures and removes the site link interface.
 * Start-time only. 0 or -errno with e set. */
int green_site_up(const struct green_site_conf *s, struct kg_err *e);
void green_site_down(const char *ifname);
/* Turns IPv4 forwarding on for packets arriving on ifname only. */
int green_site_forwarding(const char *ifname);

/* grants.c: service grants. Completion of an open is reported through
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
/* Asks red_id for service for the session's client: -EINPROGRESS (done
 * is called later, always), -ENOENT (no such red), -ENOSPC (too many
 * grants), -EALREADY (a request for it is already waiting). A grant the
 * session already holds is answered at once (0, *out filled). */
int green_grants_open(struct green_grants *gr, uint64_t session,
		      const struct kg_addr *client, const char *service,
		      const char *red_id, struct kg_ctrl_grant *out);
/* The session ended (any cause): a close knock for each of its grants,
 * their fwd_grants elements removed. A request still waiting for red is
 * forgotten without calling done (the server dropped the session). */
void green_grants_end_session(struct green_grants *gr, uint64_t session);
/* Puts every live grant's element back (after a reload replaced the
 * table: sets start empty). */
void green_grants_restore(struct green_grants *gr);
size_t green_grants_count(const struct green_grants *gr);

/* grants_glue.c: the daemon's side. start: after green_gate_start (the
 * control server's open_service goes to red from then on); nothing when
 * [site] is absent. 0 or -errno with e set. reload: after the gate's.
 * stop: before the gate's (close knocks while the table is there). */
struct green;
int green_grants_start(struct green *g, struct kg_err *e);
void green_grants_reload(struct green *g, bool table_replaced);
void green_grants_stop(struct green *g);

#endif
