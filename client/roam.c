/* SPDX-License-Identifier: MIT */
#include "roam.h"
#include "time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "knock_send.h"
#include "session_run.h"
#include "wg.h"

#define NUDGE_DELAY_MS 200   /* green opens within ms of a knock */

static int source_towards_green(const struct kg_profile *p, struct kg_addr *out);

void kg_roam_init(struct kg_roam *r, const struct kg_profile *p,
		  const struct kg_tunnel *t, bool verbose)
{
	const char *env = getenv("KG_STALL_SECS");
	unsigned long v = env && *env ? strtoul(env, NULL, 10) : 0;

	memset(r, 0, sizeof(*r));
	r->p = p;
	r->t = t;
	r->verbose = verbose;
	r->stall_s = v > 0 && v <= 3600 ? (unsigned)v : KG_ROAM_STALL_S;
	r->next_check_ms = (uint64_t)kg_mono_ms() + KG_ROAM_CHECK_MS;
	r->have_src = source_towards_green(p, &r->src) == 0;
}

/* The local address the kernel picks to reach green (a connected UDP
 * socket sends nothing). 0 or -errno (-ENETUNREACH without a route). */
static int source_towards_green(const struct kg_profile *p, struct kg_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, rc = 0;

	memset(&ss, 0, sizeof(ss));
	len = kg_addr_to_sockaddr(&p->green_address, p->green_wg_port, &ss);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 ||
	    (len = sizeof(ss), getsockname(fd, (struct sockaddr *)&ss, &len) < 0)) {
		rc = -errno;
	} else {
		memset(out, 0, sizeof(*out));
		out->family = ss.ss_family;
		if (ss.ss_family == AF_INET)
			memcpy(out->b, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		else
			memcpy(out->b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
	close(fd);
	return rc;
}

/* Green's last handshake (epoch s, 0 = never) and received bytes. */
static int green_peer(const struct kg_roam *r, uint64_t *hs, uint64_t *rx)
{
	struct kg_wg_device d;
	int rc = kg_wg_get(r->t->ifname, &d);

	if (rc)
		return rc;
	rc = -ENOENT;
	for (size_t i = 0; i < d.n_peers; i++) {
		if (memcmp(d.peers[i].public_key, r->p->green_wg_pub, KG_KEY_LEN) == 0) {
			*hs = d.peers[i].last_handshake_sec;
			*rx = d.peers[i].rx_bytes;
			rc = 0;
			break;
		}
	}
	kg_wg_device_free(&d);
	return rc;
}

/* Green's endpoint again: forgets a remembered source address. */
static int reset_endpoint(const struct kg_roam *r)
{
	const struct kg_profile *p = r->p;
	struct sockaddr_storage ep;

	kg_addr_to_sockaddr(&p->green_address, p->green_wg_port, &ep);
	/* Only the endpoint: the allowed-ips include the granted services'
	 * red addresses, which a re-knock must not drop. */
	return kg_wg_peer_put(r->t->ifname, p->green_wg_pub, NULL, 0,
			      (struct sockaddr *)&ep, KG_KEEPALIVE_S);
}

static void knock(struct kg_roam *r, uint64_t now, const char *why)
{
	int rc = kg_knock_send(r->p, r->t->pub);
	int ep = reset_endpoint(r);

	r->last_knock_ms = now;
	r->knocks++;
	r->nudge_ms = now + NUDGE_DELAY_MS;
	if (ep && r->verbose)
		fprintf(stderr, "knockgate connect: setting green's endpoint on %s: %s\n",
			r->t->ifname, strerror(-ep));
	if (r->verbose)
		fprintf(stderr, "knockgate connect: %s: knocking again%s%s\n", why,
			rc ? ": " : "", rc ? strerror(-rc) : "");
}

void kg_roam_tick(struct kg_roam *r)
{
	uint64_t now = (uint64_t)kg_mono_ms(), hs = 0, rx = 0;
	uint64_t wall = (uint64_t)time(NULL);
	char why[160], a[KG_ADDR_STRLEN], b[KG_ADDR_STRLEN];
	struct kg_addr src;
	bool moved = false;
	int rc;

	if (r->nudge_ms && now >= r->nudge_ms) {
		r->nudge_ms = 0;
		kg_tunnel_nudge(r->p);
	}
	if (now < r->next_check_ms)
		return;
	r->next_check_ms = now + KG_ROAM_CHECK_MS;
	rc = green_peer(r, &hs, &rx);
	if (rc) {
		if (r->verbose)
			fprintf(stderr, "knockgate connect: reading %s: %s\n",
				r->t->ifname, strerror(-rc));
		return;
	}
	if (source_towards_green(r->p, &src) == 0) {
		if (r->have_src && !kg_addr_eq(&src, &r->src)) {
			moved = true;
			snprintf(why, sizeof(why), "source address changed from %s to %s",
				 kg_addr_str(&r->src, a), kg_addr_str(&src, b));
		}
		r->src = src;
		r->have_src = true;
	}
	if (moved) {
		r->moved_knocks = KG_ROAM_MOVED_KNOCKS;
		r->moved_rx = rx;
		r->moved_knocks--;
		knock(r, now, why);
		return;
	}
	/* After a move, green's answers from the new source end it. */
	if (r->moved_knocks > 0 && rx > r->moved_rx)
		r->moved_knocks = 0;
	if (now - r->last_knock_ms < KG_ROAM_KNOCK_MS && r->last_knock_ms)
		return;
	if (hs && wall > hs && wall - hs > r->stall_s) {
		snprintf(why, sizeof(why), "handshake stalled %llu s",
			 (unsigned long long)(wall - hs));
		knock(r, now, why);
	} else if (r->moved_knocks > 0) {
		r->moved_knocks--;
		snprintf(why, sizeof(why), "no answer from green since the source "
			 "address changed to %s", kg_addr_str(&r->src, a));
		knock(r, now, why);
	}
}
