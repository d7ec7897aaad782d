/* SPDX-License-Identifier: MIT */
/*
 * knockgate-red's state and the seams between its files: daemon.c (life
 * cycle, event loop), trust.c (CA, CRL, greens' certificates, host key),
 * knock_handler.c (a knock from NFLOG to nftables and the answer),
 * apply.c (the small request interface to nftables and conntrack: map,
 * extend, unmap, ban), site.c (the WireGuard link with green).
 */
#ifndef KG_RED_H
#define KG_RED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "check.h"
#include "config.h"
#include "err.h"
#include "grants.h"
#include "nflog.h"

struct kg_nft;
struct kg_ips;
struct kg_evloop;
struct kg_pki;
struct kg_hostkey;

struct red {
	const char *config_path;
	struct kg_red_config cfg;
	struct kg_pki *pki;
	X509 *green_cert[KG_RED_MAX_GREENS];
	struct kg_hostkey *key;
	struct kg_red_state st;
	struct kg_nft *nft;
	struct kg_nflog *nflog;
	struct kg_ips *ips;
	struct kg_evloop *loop;
	pid_t wg_pid;                 /* wireguard-go we started, 0 if none */
	bool no_site;                 /* -n: the site link is made by others */
	bool owns_table;              /* holds the NFLOG groups: dark table at exit */
	uint64_t n_knocks;
};

/* daemon.c: runs until SIGTERM/SIGINT. Startup errors returned (e set). */
int red_run(struct red *r, struct kg_err *e);

/* trust.c: loads CA+CRL, checks each green's certificate (role green) and
 * loads red's host key. At start any error is fatal; on reload the caller
 * keeps the old trust if this fails. Logs one record per green. */
int red_trust_load(struct red *r, struct kg_err *e);
void red_trust_free(struct red *r);

/* knock_handler.c: one packet from the knock NFLOG group. */
void red_on_knock(struct red *r, const struct kg_nflog_pkt *p);

/* apply.c: nftables changes for a plan; 0 or -errno (e set). */
int red_apply(struct red *r, const struct kg_plan *p, struct kg_err *e);
/* A lease that ended: the elements are gone by themselves; cut flows. */
void red_lease_ended(const struct kg_grant *g, void *arg);
int red_ban(void *ctx, const struct kg_addr *key, unsigned seconds);
int red_unban(void *ctx, const struct kg_addr *key);
bool red_exempt(void *ctx, const struct kg_addr *src);

/* site.c: brings the WireGuard site link up (wireguard-go, keys, address,
 * route to the tunnel range) and down. */
int red_site_up(struct red *r, struct kg_err *e);
void red_site_down(struct red *r);

#endif
