/* SPDX-License-Identifier: MIT */
/*
 * Which services green knows and which user may use which. Services come
 * from green's config, one section each:
 *
 *   [service web]
 *   red = red1                 # red host id that serves it
 *   address = 203.0.113.2      # red's inside address
 *
 * A user's allowed services come from the `services` list of their user
 * record (users.d/NAME.conf). A name in a user's list that green does not
 * know is refused at load (a typo must not pass silently).
 *
 * Memory: struct kg_policy owns copies of all names; kg_policy_free().
 * Functions return 0 or -errno: -EINVAL with e set for a bad config value,
 * -ENOMEM, -EEXIST for a duplicate, -ENOENT for an unknown name.
 */
#ifndef KG_POLICY_H
#define KG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "ctrl.h"
#include "err.h"

struct kg_service {
	char name[KG_CTRL_MAX_NAME + 1];
	char red_id[64];
	struct kg_addr red_addr;
};

struct kg_policy_user {
	char *name;
	char **services;    /* names of known services */
	size_t n;
	uint32_t next;      /* name index chain: user + 1, 0 ends */
};

struct kg_policy {
	struct kg_service *svc;
	size_t n_svc;
	struct kg_policy_user *users;   /* owned, cap_users allocated */
	size_t n_users, cap_users;
	/* users by name, so that setting every user of a reload is linear
	 * in their number: chains from head (user + 1, 0 ends), n_head a
	 * power of two >= n_users (owned; NULL while there are none) */
	uint32_t *head;
	size_t n_head;
};

void kg_policy_init(struct kg_policy *p);
void kg_policy_free(struct kg_policy *p);

/* Reads every [service NAME] section of c (keys red, address only). */
int kg_policy_load_services(struct kg_policy *p, const struct kg_conf *c,
			    struct kg_err *e);
/* Sets (or replaces) user's list; every name must be a known service. */
int kg_policy_set_user(struct kg_policy *p, const char *user,
		       const char *const *services, size_t n, struct kg_err *e);
/* The same from a user record's [user NAME] services key. */
int kg_policy_load_user(struct kg_policy *p, const struct kg_conf *rec,
			const char *user, struct kg_err *e);
/* Drops a user (removed record); -ENOENT if unknown. */
int kg_policy_remove_user(struct kg_policy *p, const char *user);

const struct kg_service *kg_policy_service(const struct kg_policy *p,
					   const char *name);
/* Is user allowed service? False for unknown users or services. */
bool kg_policy_allows(const struct kg_policy *p, const char *user,
		      const char *service);
/* The answer listing user's services: up to cap names (pointers into p,
 * valid until p changes) in config order; *n gets the count. */
void kg_policy_user_services(const struct kg_policy *p, const char *user,
			     const char **names, size_t cap, size_t *n);

#endif
