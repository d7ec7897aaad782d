/* SPDX-License-Identifier: MIT */
/*
 * Green's apply seam: the only code in green/ that changes nftables
 * elements, the table or WireGuard. Every request takes plain values (an
 * address, a key, a port, a timeout); none reaches into session, gate or
 * grant state, so a privileged monitor can serve the same list over a
 * socket later and re-check each request on its own.
 *
 * The channel is `nft` (green's netlink handle) or the WireGuard interface
 * name; both belong to the daemon (struct green, struct green_gate).
 *
 * Requests (what it changes; what a monitor must re-check before doing it):
 *
 *   green_apply_src_open    wg_open4/6 += source . port (the WireGuard
 *                           port of the session's shard), peers_pending or
 *                           peers_live += tunnel, lease timeout.
 *                           Re-check: a knock from that source it verified
 *                           itself; tunnel is the user's, not the caller's.
 *   green_apply_opens_*     the same for the new sessions of one NFLOG
 *                           read, one batch. Re-check: as src_open, each.
 *   green_apply_src_close   wg_open4/6 -= source . port.
 *                           Re-check: none needed (closing is always safe).
 *   green_apply_tunnel_close peers_pending or peers_live -= tunnel.
 *                           Re-check: none (closing is always safe).
 *   green_apply_session_close peers_pending and/or peers_live -= tunnel,
 *                           wg_open4/6 -= each source . port, in one batch.
 *                           Re-check: none (closing is always safe).
 *   green_apply_src_seen    reads wg_seen4/6 (no change).
 *   green_apply_tunnel_seen reads tun_seen4/6 (no change).
 *   green_apply_src_seen_left reads wg_seen4/6 (no change).
 *   green_apply_make_live   peers_live += tunnel, sources' openings
 *                           renewed, peers_pending -= tunnel.
 *                           Re-check: a card proof it verified itself for
 *                           that session (chain, CRL, pin, transcript).
 *   green_apply_renew       refreshes the leases of a list of sessions'
 *                           elements. Re-check: each is a session it knows
 *                           (renewal must never create an opening).
 *   green_apply_peer_add    WireGuard peer (key, tunnel/32) on the gate
 *                           interface. Re-check: as src_open (a verified
 *                           knock for that key; the user's tunnel address).
 *   green_apply_peers_add   several peers added, one set operation per
 *                           1,024. Re-check: as peer_add, each.
 *   green_apply_peer_del    WireGuard peer removed. Re-check: none.
 *   green_apply_peers_del   several peers removed, one set operation per
 *                           1,024. Re-check: none.
 *   green_apply_peers_read  reads the gate interface's peers (no change).
 *   green_apply_wg_up/down  the gate interface created with its private key
 *                           and port / removed; green_apply_shard_up the
 *                           same for a shard (wg_shards), with its route. Monitor-only (it holds the
 *                           key); never a worker request.
 *   green_apply_site_up/down  the site link's interface (to the reds),
 *                           configured whole from d / removed.
 *                           Monitor-only (it holds the site-link key).
 *   green_apply_grant_put   fwd_grants: (client, red, old port) out,
 *                           (client, red, port) in with timeout (add,
 *                           renew, move); port 0: only the removal.
 *                           Re-check: a service the policy allows that
 *                           user, red's signed answer for that port, the
 *                           client being that session's tunnel address;
 *                           a removal needs none.
 *   green_apply_ban/unban   banned4/6 +=/-= source. Re-check: the IPS
 *                           rules; never a never-ban address or the source
 *                           of a live session.
 *   green_apply_seq_ports   seq_ports: old (proto, port) list out, new in.
 *                           Re-check: the ports come from the user records
 *                           it loaded itself.
 *   green_apply_keyids_add/del knock_ids += / -= key ids (8 bytes,
 *                           big-endian) with timeouts. Re-check: the ids derive from the
 *                           knock keys it holds (a worker cannot add ids).
 *   green_apply_open/close  the netlink handle. Monitor-only.
 *   green_apply_table_replace  the whole table (start, reload; check only).
 *                           Monitor-only: rendered from its own config.
 *   green_apply_dark        the dark table. Monitor-only, also on a worker
 *                           crash.
 *
 * Errors: 0 or a negative errno; where a struct kg_err is passed, its msg
 * says what failed. Deletes of an element that is not there (timed out)
 * return 0 unless said otherwise.
 */
#ifndef KG_GREEN_APPLY_H
#define KG_GREEN_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "err.h"
#include "nft.h"
#include "nft_dark.h"
#include "seq.h"
#include "wg.h"

/* The netlink handle; *out owned by the caller (green_apply_close). */
int green_apply_open(struct kg_nft **out, const char *table, struct kg_err *e);
void green_apply_close(struct kg_nft *nft);

/* Replaces the table with text (check: validate only, nothing changed). */
int green_apply_table_replace(struct kg_nft *nft, const char *text, bool check,
			      struct kg_err *e);
/* Replaces the table with the dark one described by d. */
int green_apply_dark(struct kg_nft *nft, const struct kg_nft_dark *d,
		     struct kg_err *e);

/* Opens WireGuard port port (the session's shard's) to src, and tunnel in
 * the live or pending set when not NULL, for a lease, in one batch;
 * present afterwards whether it was before or not. Every opening below
 * is keyed on source . port the same way: only that port is open. */
int green_apply_src_open(struct kg_nft *nft, const struct kg_addr *src,
			 uint16_t port, const struct kg_addr *tunnel, bool live,
			 uint64_t lease_ms);
/* The same for several knocks of one wakeup (one NFLOG read): queued,
 * then sent in one batch by green_apply_opens_send (which frees o;
 * NULL-safe). new: NULL if out of memory. add: 0 or -ENOMEM (the caller
 * then opens that one alone). send: 0 or -errno (logged); nftables
 * applies a batch whole or not at all, so on an error none is open. */
struct green_apply_opens;
struct green_apply_opens *green_apply_opens_new(struct kg_nft *nft);
int green_apply_opens_add(struct green_apply_opens *o,
			  const struct kg_addr *src, uint16_t port,
			  const struct kg_addr *tunnel, bool live,
			  uint64_t lease_ms);
int green_apply_opens_send(struct green_apply_opens *o);
void green_apply_src_close(struct kg_nft *nft, const struct kg_addr *src,
			   uint16_t port);
void green_apply_tunnel_close(struct kg_nft *nft, const struct kg_addr *tunnel,
			      bool live);
/* What an ended session held, in one batch (one round trip): tunnel out
 * of peers_pending (pending) and/or peers_live (live), each of src's
 * opening to port out of wg_open4/6; elements already gone are fine. */
int green_apply_session_close(struct kg_nft *nft, const struct kg_addr *tunnel,
			      bool pending, bool live, const struct kg_addr *src,
			      size_t n_src, uint16_t port);
/* The same for several sessions (an expiry pass): queued, sent in batches
 * of about 1,024 messages, the rest by green_apply_closes_send (which
 * frees c; NULL-safe). new: NULL if out of memory. 0 or the first
 * -errno (logged). */
struct green_apply_closes;
struct green_apply_closes *green_apply_closes_new(struct kg_nft *nft);
int green_apply_closes_add(struct green_apply_closes *c,
			   const struct kg_addr *tunnel, bool pending, bool live,
			   const struct kg_addr *src, size_t n_src, uint16_t port);
int green_apply_closes_send(struct green_apply_closes *c);
/* True if src sent WireGuard packets within the last lease (or on a
 * lookup error other than "absent", which is logged). */
bool green_apply_src_seen(struct kg_nft *nft, const struct kg_addr *src);

/* As green_apply_src_seen, with the element's time left (its timeout is
 * one lease) in *left_ms: 0, -ENOENT if src sent nothing within a lease,
 * another -errno (logged). */
int green_apply_src_seen_left(struct kg_nft *nft, const struct kg_addr *src,
			      uint64_t *left_ms);
/* When tunnel's peer last sent a packet through the tunnel: 0 with the
 * element's time left (its timeout is one lease) in *left_ms; -ENOENT if
 * nothing within a lease; another -errno (logged) if the kernel could not
 * be asked. */
int green_apply_tunnel_seen(struct kg_nft *nft, const struct kg_addr *tunnel,
			    uint64_t *left_ms);

int green_apply_make_live(struct kg_nft *nft, const struct kg_addr *tunnel,
			  const struct kg_addr *src, size_t n_src, uint16_t port,
			  uint64_t lease_ms);

/* One session's elements to renew (green_apply_renew). */
struct green_apply_lease {
	struct kg_addr tunnel;
	bool live;
	const struct kg_addr *src;   /* borrowed for the call */
	size_t n_src;
	uint16_t port;               /* the session's WireGuard port */
};
int green_apply_renew(struct kg_nft *nft, const struct green_apply_lease *v,
		      size_t n, uint64_t lease_ms);

/* The gate's WireGuard interface: created (an old one of that name is
 * removed first, with its peers), keyed, addressed "a.b.c.d/len", up.
 * *backend says which; on an error nothing of it is left.
 * green_apply_wg_down removes it. */
int green_apply_wg_up(const char *ifname, const uint8_t priv[32],
		      uint16_t port, const char *addr,
		      enum kg_wg_backend *backend, struct kg_err *e);
void green_apply_wg_down(const char *ifname);
/* A WireGuard shard (green_shard_of): another device with the same key
 * on its own port, up without an address, routes route4 ("A.B.C.D/LEN",
 * its block of the tunnel prefix) and route6 (NULL: none) through it.
 * An old one of that name is removed first; on an error nothing of it is
 * left. Monitor-only, like green_apply_wg_up. */
int green_apply_shard_up(const char *ifname, const uint8_t priv[32],
			 uint16_t port, const char *route4, const char *route6,
			 enum kg_wg_backend *backend, struct kg_err *e);
/* Is there an interface (or a wireguard-go socket) named ifname? */
bool green_apply_iface_exists(const char *ifname);
/* One more address on an interface green made (the IPv6 tunnel or site
 * address). Start-time, monitor-only. 0 or -errno. */
int green_apply_addr_add(const char *ifname, const char *addr);
/* tunnel6 (may be NULL): the user's IPv6 tunnel address, allowed beside
 * tunnel (/32 and /128). */
int green_apply_peer_add(const char *ifname, const uint8_t key[32],
			 const struct kg_addr *tunnel,
			 const struct kg_addr *tunnel6);
/* n peers added in one set operation (per 1,024), peer i with keys[i],
 * tunnels[i] and tunnels6[i] (an AF_INET6 address or family 0: none).
 * On an error some may be in place: the caller adds them one by one to
 * learn which fail (adding an existing peer is a no-op). 0 or the first
 * -errno. */
int green_apply_peers_add(const char *ifname, const uint8_t (*keys)[32],
			  const struct kg_addr *tunnels,
			  const struct kg_addr *tunnels6, size_t n);
int green_apply_peer_del(const char *ifname, const uint8_t key[32]);
/* n peers removed in one set operation (per 1,024); absent ones are
 * fine. 0 or the first -errno. */
int green_apply_peers_del(const char *ifname, const uint8_t (*keys)[32],
			  size_t n);
/* *out owned by the caller: green_apply_peers_free. */
int green_apply_peers_read(const char *ifname, struct kg_wg_device *out);
void green_apply_peers_free(struct kg_wg_device *d);

/* The site link's interface: created (an old one of that name removed
 * first), configured as d (key, port, peers), addressed "a.b.c.d/len",
 * up; on an error nothing of it is left. green_apply_site_down removes
 * it (the error is returned, not logged). */
int green_apply_site_up(const char *ifname, const struct kg_wg_device *d,
			const char *addr, enum kg_wg_backend *backend,
			struct kg_err *e);
int green_apply_site_down(const char *ifname);
/* Removes the site link's peer p->public_key and adds p again (two
 * WireGuard sets: one transaction cannot both drop a peer's keys and keep
 * the peer). 0 or the first -errno. */
int green_apply_site_peer_reset(const char *ifname, const struct kg_wg_peer *p);

/* fwd_grants or fwd_grants6 by the client's family (and fwd_held or
 * fwd_held6, for its established flows): client -> red's
 * site address, port. old_port, when not 0
 * and not port, is removed in the same batch (-ENOENT if it had gone,
 * the new one then not added: retry with old_port 0). port 0: only the
 * delete. timeout_ms: at least one second is applied. */
int green_apply_grant_put(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *red, uint16_t old_port,
			  uint16_t port, uint64_t timeout_ms, struct kg_err *e);

/* A hop: the new place (red . port) into fwd_grants and fwd_held with
 * lease_ms, the old one (old_red . old_port) re-added to fwd_grants with
 * overlap_ms (its fwd_held element stays), one batch. red and old_red
 * differ only when red shuffled an IPv6 grant's address. 0 or -errno (e
 * set). */
int green_apply_grant_hop(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *old_red,
			  const struct kg_addr *red, uint16_t old_port,
			  uint16_t port, uint64_t lease_ms, uint64_t overlap_ms,
			  struct kg_err *e);
/* fwd_held: ports a grant held, refreshed with timeout_ms (a renewal),
 * one batch; or removed one by one (a missing one is fine). */
int green_apply_held_put(struct kg_nft *nft, const struct kg_addr *client,
			 const struct kg_addr *red, const uint16_t *ports,
			 size_t n, uint64_t timeout_ms, struct kg_err *e);
void green_apply_held_del(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *red, const uint16_t *ports,
			  size_t n);

int green_apply_ban(struct kg_nft *nft, const struct kg_addr *src,
		    unsigned seconds);
/* -ENOENT if it was not banned (not logged). */
int green_apply_unban(struct kg_nft *nft, const struct kg_addr *src);

/* seq_ports: old[] out one by one (a missing one is fine), new[] in one
 * batch. */
void green_apply_seq_ports(struct kg_nft *nft, const struct kg_seq_port *old,
			   size_t n_old, const struct kg_seq_port *new_,
			   size_t n_new);

/* knock_ids: n ids, a batch per 1024 netlink messages (refresh[i]:
 * re-added with a fresh timeout, as kg_nft_batch_refresh; else a plain
 * add). On an error some may be in. */
int green_apply_keyids_add(struct kg_nft *nft, const uint64_t *ids,
			   const uint64_t *timeout_ms, const bool *refresh,
			   size_t n);
/* Deletes n ids, a batch per 1024; a failed batch (an element gone
 * meanwhile aborts it) one by one, a missing one being fine. */
void green_apply_keyids_del(struct kg_nft *nft, const uint64_t *ids, size_t n);

#endif
