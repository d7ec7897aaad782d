/* SPDX-License-Identifier: MIT */
/*
 * Green's side of the inside network: the WireGuard site link to the red
 * hosts (site.c), the UDP socket and signed-knock clients that talk to
 * them (red_io.c); the service grants opened through them are grants.h.
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
	struct kg_addr site_address6;  /* its IPv6 end (IPv6 grants); family
					  0: none */
	/* red's hop_prefix (address shuffling): IPv6 grants may move to
	 * any address in it; family 0: none */
	struct kg_prefix hop_prefix;
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
	struct kg_prefix address6;     /* its IPv6 end, fd89::1/64; family 0:
					  none */
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
/* Drops red's WireGuard peer on the site link ifname and puts it back as
 * green_site_up made it, so the next packet to red starts a fresh
 * handshake (keys, handshake state and timers of the old peer gone). For
 * a link that carries green's knocks but brings nothing back (why:
 * docs/wireguard.md, "relink"). 0 or -errno (the peer may then be missing: the
 * next relink puts it back). */
int green_site_relink(const char *ifname, const struct green_red *red);
void green_site_down(const char *ifname);
/* Turns IPv4 forwarding on for packets arriving on ifname only. */
int green_site_forwarding(const char *ifname);
/* Turns IPv6 forwarding on (Linux has no per-interface switch for it:
 * net.ipv6.conf.all.forwarding). For a green with IPv6 tunnel addresses
 * only; its table still forwards nothing but fwd_grants6. 0 or -errno. */
int green_site_forwarding6(void);

#endif
