/* SPDX-License-Identifier: MIT */
/*
 * The gate: what green opens and closes for users. One struct green_gate
 * hangs off struct green; each concern has its own file:
 *
 *   conf-gate.c     [wireguard] [knock] [pki] [session] [service NAME]
 *   gate.c          start / reload / stop of everything below
 *   knock_rx.c      step 1: knocks and sequences -> pending sessions
 *   knock_ids.c     step 1: the pre-filter's key ids in the kernel
 *   wg_peers.c      step 2: green's WireGuard interface(s): shards
 *   sessions_run.c  step 2: session decisions to the kernel, the
 *                   peer-dump poll, expiry, lease renewal
 *   ctrl_glue.c     steps 3 and 4: the control server's ops (card proof,
 *                   service request -> grants.c), its sockets in the loop
 *   revoke.c        CRL, user records and the certificate cache
 *   apply.c         the only way to nftables and WireGuard (apply.h)
 *
 * Fail closed: every nft element green adds has a timeout of at most one
 * lease (handshake_timeout); live sessions' elements are renewed well
 * before, so if green dies every opening lapses within one lease.
 */
#ifndef KG_GREEN_GATE_H
#define KG_GREEN_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "green.h"
#include "knock_check.h"
#include "policy.h"
#include "session.h"
#include "users.h"

struct kg_pki;
struct kg_seq;
struct kg_rcache;
struct kg_ctrl_server;
struct kg_nft_batch;

/* Parsed config of the gate's sections (conf-gate.c). */
struct green_gate_conf {
	/* [wireguard] */
	char *wg_private_key;        /* path of a base64 private key file */
	/* [knock]; without the section green runs dark only (no users, no
	 * WireGuard interface, nothing ever opened) */
	bool enabled;
	char *users_dir;
	uint32_t window_s;
	uint32_t replay_cache;
	bool sequence;
	uint32_t sequence_timeout_ms;
	bool prefilter;              /* key ids in the kernel (knock_ids.c) */
	/* [pki] */
	char *ca, *crl;
	char *bundle;                /* "" or where signed bundles arrive
				      * (bundle_load.c); its serial in
				      * BUNDLE.serial */
	/* [session] */
	struct kg_session_conf sess;
	/* [service NAME] */
	struct kg_policy services;   /* services only; users added at run */
};

/* A certificate a client proved with, kept to re-check on a CRL reload. */
struct green_cert_seen {
	uint8_t spki[32];
	void *x509;                  /* X509 *, owned */
	uint32_t next;               /* SPKI chain: entry + 1, 0 ends */
};

struct green_gate {
	struct green *g;
	char ifname[16];             /* shard 0's device, wg_interface */
	uint8_t wg_priv[32], wg_pub[32];
	bool iface_up;
	/* WireGuard shards (wg_peers.c): n_shards devices (0 means 1), a
	 * session's one picked by its IPv4 tunnel address's block of
	 * shard_prefix; shard_if[0] unused (ifname). */
	unsigned n_shards;
	uint16_t wg_port;            /* shard k listens on wg_port + k */
	struct kg_prefix shard_prefix;
	char shard_if[GREEN_WG_SHARDS_MAX][16];
	struct kg_users users;
	struct kg_rcache *replay;
	struct kg_knock_checker checker;
	uint64_t start_ms;
	struct kg_seq *seq;
	struct kg_sess_table sess;
	struct kg_policy policy;     /* services + users' lists */
	struct kg_pki *pki;
	/* The certificate cache (revoke.c): one entry an SPKI, found by
	 * chains from cert_head (n_cert_head, a power of two >= cap_certs);
	 * entries no session's user pins are dropped when it reaches
	 * cert_sweep_at. */
	struct green_cert_seen *certs;
	size_t n_certs, cap_certs;
	uint32_t *cert_head;
	size_t n_cert_head, cert_sweep_at;
	struct kg_ctrl_server *ctrl;
	int listen_fd, conn_epfd, inotify_fd;
	int64_t reload_due_ms;       /* inotify saw a change: reload then */
	int64_t bundle_due_ms;       /* a bundle arrived: check it then */
	int bundle_wd;               /* inotify watch of its directory */
	int64_t last_poll_ms, last_renew_ms;
	uint64_t *renew_ids;          /* the renewal round's sessions */
	size_t renew_n, renew_pos;    /* ... how many, how far */
	uint64_t peer_checks;         /* liveness questions (sessions_run.c) */
	uint64_t peer_dumps, peer_dump_us;  /* peer dumps read, their cost */
	struct kg_seq_port *seq_set;  /* what seq_ports holds now */
	size_t n_seq_set;
	struct gate_dying *dying;     /* peers of ended sessions, removed soon */
	struct gate_kids *kids;       /* knock_ids.c: what knock_ids holds */
	size_t n_dying;
	/* The new sessions of one NFLOG read (sessions_run.c): their
	 * openings in one nft batch, sent before the loop runs again. NULL
	 * outside a read (a knock is then applied at once). */
	struct green_apply_opens *opens;
	struct gate_open_q *oq;       /* GATE_OPENS_MAX entries */
	size_t n_oq;
};

/* tunnel6.c: IPv6 tunnel addresses beside the IPv4 ones. The user's
 * IPv6 tunnel address when green has a tunnel_prefix6 and the address
 * lies in it, else NULL (the user gets IPv4 only). Not owned. */
const struct kg_addr *gate_tunnel6(const struct green_gate *gt,
				   const struct kg_user *u);
/* The tunnel address a grant on red red_id is asked for, for session s
 * of user: the IPv6 one when green, the user and that red all have IPv6
 * (tunnel_prefix6, tunnel_address6, [red] site_address6), else s's IPv4
 * one. Never NULL; not owned. */
const struct kg_addr *gate_grant_client(const struct green_gate *gt,
					const struct kg_session *s,
					const char *red_id);

/* When a session ends with a message to its client (a refused proof, a
 * missed reproof, the client closing, a revocation, an expiry), the peer
 * stays GATE_PEER_GRACE_MS after the openings are closed, so the message
 * just written to the connection still leaves through the tunnel;
 * nothing can come in over it (wg_open, peers_* and grants are gone
 * already). */
#define GATE_PEER_GRACE_MS 300
struct gate_dying {
	uint8_t key[32];
	int64_t due_ms;
	unsigned shard;
};

/* conf-gate.c: section parsers (fill c->gate, allocated on first use). */
int green_conf_wireguard(struct green_conf *c, const struct kg_conf *conf,
			 struct kg_err *e);
int green_conf_knock(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e);
int green_conf_pki(struct green_conf *c, const struct kg_conf *conf,
		   struct kg_err *e);
int green_conf_session(struct green_conf *c, const struct kg_conf *conf,
		       struct kg_err *e);
int green_conf_services(struct green_conf *c, const struct kg_conf *conf,
			struct kg_err *e);
void green_gate_conf_free(struct green_gate_conf *gc);

/* gate.c. start: after the table is installed, before READY; -errno with
 * e set is fatal. reload: after a SIGHUP swapped g->conf (table maybe
 * replaced: elements are put back). stop: removes every peer, the
 * interface, and frees g->gate (NULL-safe). */
int green_gate_start(struct green *g, struct kg_err *e);
void green_gate_reload(struct green *g, bool table_replaced);
void green_gate_stop(struct green *g);
/* Would banning src's ban key (an IPv6 /64) hit a protected address: a
 * source of a session (pending or live), a red, the site link or the
 * tunnel range? Such keys are never banned (IPS exemption): only a valid
 * knock makes a session, and junk spoofed from a connected client's
 * address, or its neighbour in the /64, must not cut it off. Works
 * without a gate too (the infrastructure part). */
bool green_gate_exempt(struct green *g, const struct kg_addr *src);

#endif
