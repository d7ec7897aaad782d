/* SPDX-License-Identifier: MIT */
/* The client's side of the first knock (format: docs/protocol.md). */
#ifndef KG_CLIENT_KNOCK_SEND_H
#define KG_CLIENT_KNOCK_SEND_H

#include <stdint.h>

#include "knock.h"
#include "profile.h"

/* Builds a knock for profile p stamped now_ms carrying client_pub, with a
 * fresh random nonce. 0 or -EIO. */
int kg_knock_build(const struct kg_profile *p,
		   const uint8_t client_pub[KG_KEY_LEN], uint64_t now_ms,
		   uint8_t out[KG_KNOCK_LEN]);
/* Builds one knock stamped with the wall clock and sends it as one UDP
 * datagram to green_address:knock_port. 0 or -errno of the socket. */
int kg_knock_send(const struct kg_profile *p,
		  const uint8_t client_pub[KG_KEY_LEN]);

#endif
