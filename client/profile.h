/* SPDX-License-Identifier: MIT */
/*
 * The user's client profile: a directory holding profile.conf and ca.pem
 * (format in docs/pki.md, written by provisioning/kg-user-enroll):
 *
 *   [profile]
 *   user, green_id, green_address, knock_port, green_wg_public_key
 *   (base64), green_wg_port, green_tunnel_address, control_port,
 *   knock_key (64 hex), tunnel_address, tunnel_address6 (optional: the
 *   IPv6 tunnel address green's user record gives), ca (relative to the
 *   directory),
 *   knock_slot (optional, seconds, default 60: must match green's)
 *   [green NAME] (optional, any number up to KG_PROFILE_MAX_GREENS - 1):
 *   a further green the user is enrolled at, tried in file order after
 *   [profile]'s: green_address, knock_port, green_wg_public_key,
 *   green_wg_port, green_tunnel_address, control_port, knock_key,
 *   tunnel_address, tunnel_address6 (each green hands out its own
 *   tunnel addresses)
 *
 *   [forward] (optional): SERVICE = [ADDR:]PORT, the stable local port
 *   `connect SERVICE` listens on for that service (forward.h)
 */
#ifndef KG_CLIENT_PROFILE_H
#define KG_CLIENT_PROFILE_H

#include <limits.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "crypto.h"
#include "err.h"

#define KG_PROFILE_MAX_GREENS 8

/* One green the user is enrolled at: where it is, its keys, the user's
 * knock key and tunnel address there. */
struct kg_profile_green {
	char green_id[64];
	struct kg_addr green_address;
	uint16_t knock_port;
	uint8_t green_wg_pub[KG_KEY_LEN];
	uint16_t green_wg_port;
	struct kg_addr green_tunnel;
	uint16_t control_port;
	uint8_t knock_key[KG_KEY_LEN];    /* secret: kg_profile_wipe */
	struct kg_addr tunnel_address;
	struct kg_addr tunnel_address6;   /* family 0: IPv4 only */
};

/* The fields from green_id to tunnel_address are the green in use
 * (greens[cur], copied by kg_profile_use): every step reads them. */
#define KG_PROFILE_FWD_MAX 16

struct kg_profile {
	char dir[PATH_MAX];
	char user[64];
	char green_id[64];
	struct kg_addr green_address;
	uint16_t knock_port;
	uint8_t green_wg_pub[KG_KEY_LEN];
	uint16_t green_wg_port;
	struct kg_addr green_tunnel;
	uint16_t control_port;
	uint8_t knock_key[KG_KEY_LEN];    /* secret: kg_profile_wipe */
	struct kg_addr tunnel_address;
	struct kg_addr tunnel_address6;   /* family 0: IPv4 only */
	char ca_path[PATH_MAX];
	uint32_t knock_slot;
	struct kg_profile_green greens[KG_PROFILE_MAX_GREENS];
	size_t n_greens;                  /* >= 1 after a successful parse */
	size_t cur;
	/* [forward]: default local ports, as written (checked by connect) */
	char fwd_service[KG_PROFILE_FWD_MAX][33];
	char fwd_value[KG_PROFILE_FWD_MAX][64];
	size_t n_fwd;
};

/* From a parsed profile.conf (no I/O: tests drive it). dir is the
 * profile directory (for ca). -EINVAL with "FILE:LINE: ..." in e. */
int kg_profile_parse(struct kg_profile *p, const struct kg_conf *c,
		     const char *dir, struct kg_err *e);
/* Makes greens[i] (greens[0] if i is out of range) the green in use. */
void kg_profile_use(struct kg_profile *p, size_t i);
/* Reads DIR/profile.conf. Errors as kg_conf_load or kg_profile_parse. */
int kg_profile_load(struct kg_profile *p, const char *dir, struct kg_err *e);
void kg_profile_wipe(struct kg_profile *p);

#endif
