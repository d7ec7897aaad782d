/* SPDX-License-Identifier: MIT */
#include "knock_send.h"
#include "time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "keyid.h"

int kg_knock_build(const struct kg_profile *p,
		   const uint8_t client_pub[KG_KEY_LEN], uint64_t now_ms,
		   uint8_t out[KG_KNOCK_LEN])
{
	uint8_t nonce[KG_AEAD_NONCE_LEN];
	uint64_t id;
	int rc = kg_random(nonce, sizeof(nonce));

	if (!rc)
		rc = kg_keyid_derive(p->knock_key, now_ms / 1000 / p->knock_slot, &id);
	if (!rc)
		rc = kg_knock_encode(p->knock_key, id, now_ms, nonce,
				     p->green_wg_pub, client_pub, out);
	return rc;
}

int kg_knock_send(const struct kg_profile *p,
		  const uint8_t client_pub[KG_KEY_LEN])
{
	uint8_t pkt[KG_KNOCK_LEN];
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, rc;

	rc = kg_knock_build(p, client_pub, (uint64_t)kg_wall_ms(), pkt);
	if (rc)
		return rc;
	sl = kg_addr_to_sockaddr(&p->green_address, p->knock_port, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	{
		ssize_t n = sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, sl);

		rc = n < 0 ? -errno : n == (ssize_t)sizeof(pkt) ? 0 : -EIO;
	}
	close(fd);
	return rc;
}
