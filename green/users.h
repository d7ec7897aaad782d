/* SPDX-License-Identifier: MIT */
/*
 * Green's user records: one file per user in users_dir (docs/pki.md,
 * "Green's per-user record"):
 *
 *   [user alice]
 *   knock_key = <64 hex>          tunnel_address = 10.88.1.10
 *   spki_sha256 = <64 hex>        services = web, ssh
 *   mode = spa | sequence         (default spa)
 *   sequence = 7001/tcp, 7002/udp, 7003/tcp   (static sequence), or
 *   sequence = onetime:4          (4 ports derived per slot, see seq.h)
 *   wg_public_key = <base64>      (sequence mode: the static peer key)
 *
 * Bad records are refused whole with "FILE:LINE: ..." messages. Users also
 * own the rotating key-id table (lib/keyid.h) so a knock finds its user
 * with one lookup.
 */
#ifndef KG_GREEN_USERS_H
#define KG_GREEN_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "crypto.h"
#include "err.h"
#include "conf.h"
#include "keyid.h"
#include "lib/replay.h"

#define KG_USER_NAME_MAX 64
#define KG_SEQ_MAX 16

enum kg_user_mode { KG_MODE_SPA = 0, KG_MODE_SEQUENCE = 1 };

struct kg_seq_port {
	uint16_t port;
	uint8_t proto;             /* IPPROTO_TCP or IPPROTO_UDP */
};

struct kg_user {
	char name[KG_USER_NAME_MAX];
	uint8_t knock_key[KG_KEY_LEN];
	struct kg_addr tunnel;
	struct kg_addr tunnel6;    /* IPv6 tunnel address; family 0: none */
	uint8_t spki_sha256[KG_SHA256_LEN];
	char **services;           /* owned */
	size_t n_services;
	enum kg_user_mode mode;
	struct kg_seq_port seq[KG_SEQ_MAX];   /* static sequence */
	size_t seq_len;            /* static: ports in seq; onetime: length */
	bool seq_onetime;
	uint8_t wg_pub[KG_KEY_LEN];
	bool has_wg_pub;
	/* Run-time state, not from the record. */
	uint64_t last_ts_ms;       /* last accepted knock's timestamp */
	struct kg_rcache_share replay_share;   /* its replay cache entries */
	uint64_t seq_used_slot;    /* slot + 1 of the last one-time sequence used */
};

struct kg_users {
	struct kg_user *v;         /* owned; n entries of cap */
	size_t n, cap;
	struct kg_keyid_table *ids;   /* owned; NULL until kg_users_ids_update */
	uint32_t slot_s;
	uint64_t ids_slot;         /* slot the table was built for */
	size_t ids_n;              /* users it was built from */
	bool ids_built;
	/* Name, knock key, tunnel address and IPv6 tunnel address ->
	 * position + 1 (0 empty): four open-addressing tables of
	 * name_mask + 1 slots in one block, load <= 1/2, doubled as users
	 * are added: a lookup by name and the duplicate checks of a new
	 * record cost the same at 10 and at 100,000 users. Owned. */
	uint32_t *by_name;
	size_t name_mask;
};

/* Initialises an empty set; slot_s is the key-id slot length. */
void kg_users_init(struct kg_users *u, uint32_t slot_s);
/* Frees everything and wipes the keys. */
void kg_users_free(struct kg_users *u);

/* Adds the [user NAME] sections of one parsed file (no I/O; the fuzz
 * target drives it). -EINVAL with e = "FILE:LINE: ..." on any bad or
 * duplicate record (nothing from this file is then added), -ENOMEM. */
int kg_users_add_conf(struct kg_users *u, const struct kg_conf *c,
		      struct kg_err *e);
/* Loads every *.conf in dir (sorted by name). Errors as above, or the
 * -errno of reading dir. On error u holds no users. */
int kg_users_load_dir(struct kg_users *u, const char *dir, struct kg_err *e);

/* The user called name, or NULL: a hash lookup (by_name). */
struct kg_user *kg_users_find(const struct kg_users *u, const char *name);

/* Builds or refreshes the key-id table for now_s (see keyid.h); force after
 * the user set changed. 0, -ENOMEM, -EIO (table empty: all lookups miss). */
int kg_users_ids_update(struct kg_users *u, uint64_t now_s, bool force);
/* One lookup: the user whose id this is (and the id's slot), or NULL. */
struct kg_user *kg_users_by_id(const struct kg_users *u, uint64_t id,
			       uint64_t *slot);

#endif
