/* SPDX-License-Identifier: MIT */
/*
 * The apply seam (apply.h): each request turned into one nft batch or one
 * WireGuard call. The set names and element layouts (ruleset.c) are known
 * here and nowhere else in green.
 */
#include "apply.h"
#include "crypto.h"
#include "log.h"
#include "nft_dark.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 1024   /* netlink messages per batch */

int green_apply_open(struct kg_nft **out, const char *table, struct kg_err *e)
{
	return kg_nft_open(out, table, e);
}

void green_apply_close(struct kg_nft *nft)
{
	kg_nft_close(nft);
}

int green_apply_table_replace(struct kg_nft *nft, const char *text, bool check,
			      struct kg_err *e)
{
	return kg_nft_table_replace(nft, text, check, e);
}

int green_apply_dark(struct kg_nft *nft, const struct kg_nft_dark *d,
		     struct kg_err *e)
{
	return kg_nft_dark_install(nft, d, e);
}

static const char *open_set(const struct kg_addr *a)
{
	return a->family == AF_INET ? "wg_open4" : "wg_open6";
}

/* Refreshed by the kernel on every WireGuard packet from an open source,
 * timeout one lease (ruleset.c). */
static const char *seen_set(const struct kg_addr *a)
{
	return a->family == AF_INET ? "wg_seen4" : "wg_seen6";
}

/* Refreshed by the kernel on every packet a peer sends through the
 * tunnel, timeout one lease (ruleset.c). */
static const char *tun_seen_set(const struct kg_addr *a)
{
	return a->family == AF_INET ? "tun_seen4" : "tun_seen6";
}

static const char *tunnel_set(bool live)
{
	return live ? "peers_live" : "peers_pending";
}

/* Present afterwards with a fresh lease, existing before or not. */
static int refresh(struct kg_nft_batch *b, const char *set,
		   const struct kg_addr *a, uint64_t timeout_ms)
{
	return kg_nft_batch_refresh(b, set, a->b, kg_addr_len(a), NULL, 0,
				    timeout_ms);
}

/* The opening of src to one WireGuard port (its session's shard):
 * wg_open4/6 hold source . port, so a knock opens no other shard. */
static void open_key(struct kg_nft_key *k, const struct kg_addr *src,
		     uint16_t port)
{
	kg_nft_key_init(k);
	kg_nft_key_put(k, src->b, kg_addr_len(src));
	kg_nft_key_put_port(k, port);
}

static int open_refresh(struct kg_nft_batch *b, const struct kg_addr *src,
			uint16_t port, uint64_t timeout_ms)
{
	struct kg_nft_key k;

	open_key(&k, src, port);
	return kg_nft_batch_refresh(b, open_set(src), k.b, k.len, NULL, 0,
				    timeout_ms);
}

/* Deletes one element, its absence being fine (it may have timed out). */
static void del_elem(struct kg_nft *nft, const char *set,
		     const struct kg_addr *a)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem(nft, false, set, a->b, kg_addr_len(a), 0, &e);

	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "session cleanup: %s", e.msg);
}

/* A knock's opening: src to its shard's port and the tunnel address in
 * the pending or live set, both for lease_ms. Queued on b only. */
static int open_queue(struct kg_nft_batch *b, const struct kg_addr *src,
		      uint16_t port, const struct kg_addr *tunnel, bool live,
		      uint64_t lease_ms)
{
	int r = open_refresh(b, src, port, lease_ms);

	return !r && tunnel ? refresh(b, tunnel_set(live), tunnel, lease_ms) : r;
}

/* Sends b; a refusal is logged as "what: reason". 0 or -errno. */
static int send_logged(struct kg_nft_batch *b, const char *what)
{
	struct kg_err e = { "" };
	int r = kg_nft_batch_send(b, &e);

	if (r)
		kg_log(KG_LOG_ERR, "%s: %s", what, e.msg[0] ? e.msg : strerror(-r));
	return r;
}

int green_apply_src_open(struct kg_nft *nft, const struct kg_addr *src,
			 uint16_t port, const struct kg_addr *tunnel, bool live,
			 uint64_t lease_ms)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	int r;

	if (!b)
		return -ENOMEM;
	r = open_queue(b, src, port, tunnel, live, lease_ms);
	if (!r)
		r = send_logged(b, "knock: nft");
	else
		kg_log(KG_LOG_ERR, "knock: nft: %s", strerror(-r));
	kg_nft_batch_free(b);
	return r;
}

struct green_apply_opens {
	struct kg_nft_batch *b;
	size_t queued;
};

struct green_apply_opens *green_apply_opens_new(struct kg_nft *nft)
{
	struct green_apply_opens *o = calloc(1, sizeof(*o));

	if (o && !(o->b = kg_nft_batch_new(nft))) {
		free(o);
		return NULL;
	}
	return o;
}

int green_apply_opens_add(struct green_apply_opens *o,
			  const struct kg_addr *src, uint16_t port,
			  const struct kg_addr *tunnel, bool live,
			  uint64_t lease_ms)
{
	int r = open_queue(o->b, src, port, tunnel, live, lease_ms);

	if (!r)
		o->queued++;
	return r;
}

int green_apply_opens_send(struct green_apply_opens *o)
{
	int r = 0;

	if (!o)
		return 0;
	if (o->queued)
		r = send_logged(o->b, "knock: nft");
	kg_nft_batch_free(o->b);
	free(o);
	return r;
}

void green_apply_src_close(struct kg_nft *nft, const struct kg_addr *src,
			   uint16_t port)
{
	struct kg_nft_key k;
	struct kg_err e = { "" };
	int r;

	open_key(&k, src, port);
	r = kg_nft_elem(nft, false, open_set(src), k.b, k.len, 0, &e);
	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "session cleanup: %s", e.msg);
}

void green_apply_tunnel_close(struct kg_nft *nft, const struct kg_addr *tunnel,
			      bool live)
{
	del_elem(nft, tunnel_set(live), tunnel);
}

/* A delete that cannot fail for an element gone meanwhile (it timed out):
 * add (a no-op if present) then delete, in the same transaction. */
static int gone_key(struct kg_nft_batch *b, const char *set,
		    const uint8_t *key, size_t len)
{
	int r = kg_nft_batch_elem(b, true, set, key, len, NULL, 0, 1000);

	return r ? r : kg_nft_batch_elem(b, false, set, key, len, NULL, 0, 0);
}

static int gone(struct kg_nft_batch *b, const char *set, const struct kg_addr *a)
{
	return gone_key(b, set, a->b, kg_addr_len(a));
}

/* Queues what one ended session held (see green_apply_session_close). */
static int close_queue(struct kg_nft_batch *b, const struct kg_addr *tunnel,
		       bool pending, bool live, const struct kg_addr *src,
		       size_t n_src, uint16_t port)
{
	struct kg_nft_key k;
	int r = 0;

	if (tunnel && pending)
		r = gone(b, tunnel_set(false), tunnel);
	if (!r && tunnel && live)
		r = gone(b, tunnel_set(true), tunnel);
	for (size_t i = 0; !r && i < n_src; i++) {
		open_key(&k, &src[i], port);
		r = gone_key(b, open_set(&src[i]), k.b, k.len);
	}
	return r;
}

int green_apply_session_close(struct kg_nft *nft, const struct kg_addr *tunnel,
			      bool pending, bool live, const struct kg_addr *src,
			      size_t n_src, uint16_t port)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	int r = b ? 0 : -ENOMEM;

	if (!r)
		r = close_queue(b, tunnel, pending, live, src, n_src, port);
	if (!r)
		r = send_logged(b, "session cleanup");
	else
		kg_log(KG_LOG_ERR, "session cleanup: %s", strerror(-r));
	kg_nft_batch_free(b);
	return r;
}

struct green_apply_closes {
	struct kg_nft *nft;
	struct kg_nft_batch *b;
	size_t queued;
};

struct green_apply_closes *green_apply_closes_new(struct kg_nft *nft)
{
	struct green_apply_closes *c = calloc(1, sizeof(*c));

	if (c && !(c->b = kg_nft_batch_new(nft))) {
		free(c);
		return NULL;
	}
	if (c)
		c->nft = nft;
	return c;
}

static int closes_flush(struct green_apply_closes *c)
{
	if (!c->queued)
		return 0;
	c->queued = 0;
	return send_logged(c->b, "session cleanup");
}

int green_apply_closes_add(struct green_apply_closes *c,
			   const struct kg_addr *tunnel, bool pending, bool live,
			   const struct kg_addr *src, size_t n_src, uint16_t port)
{
	int r = close_queue(c->b, tunnel, pending, live, src, n_src, port);

	if (r) {
		/* Only out of memory gets here. The batch may hold part of
		 * this session: it is dropped (what it closed lapses within a
		 * lease, as every element does) and this one goes alone. */
		kg_log(KG_LOG_ERR, "session cleanup: queueing: %s", strerror(-r));
		kg_nft_batch_free(c->b);
		c->queued = 0;
		if (!(c->b = kg_nft_batch_new(c->nft)))
			return -ENOMEM;
		return green_apply_session_close(c->nft, tunnel, pending, live,
						 src, n_src, port);
	}
	c->queued += 2 * ((pending ? 1 : 0) + (live ? 1 : 0) + n_src);
	return c->queued >= CHUNK ? closes_flush(c) : 0;
}

int green_apply_closes_send(struct green_apply_closes *c)
{
	int r;

	if (!c)
		return 0;
	r = closes_flush(c);
	kg_nft_batch_free(c->b);
	free(c);
	return r;
}

bool green_apply_src_seen(struct kg_nft *nft, const struct kg_addr *src)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem_get(nft, seen_set(src), src->b, kg_addr_len(src),
				NULL, &e);

	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "roaming: %s", e.msg);
	return r != -ENOENT;
}

int green_apply_src_seen_left(struct kg_nft *nft, const struct kg_addr *src,
			      uint64_t *left_ms)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem_get(nft, seen_set(src), src->b, kg_addr_len(src),
				left_ms, &e);

	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "peer liveness: %s", e.msg);
	return r;
}

int green_apply_tunnel_seen(struct kg_nft *nft, const struct kg_addr *tunnel,
			    uint64_t *left_ms)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem_get(nft, tun_seen_set(tunnel), tunnel->b,
				kg_addr_len(tunnel), left_ms, &e);

	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "peer liveness: %s", e.msg);
	return r;
}

int green_apply_make_live(struct kg_nft *nft, const struct kg_addr *tunnel,
			  const struct kg_addr *src, size_t n_src, uint16_t port,
			  uint64_t lease_ms)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_err e = { "" };
	int r;

	if (!b)
		return -ENOMEM;
	/* The sources' openings restart their lease too: the next renewal
	 * may be a third of a lease away, the knock's lease nearly over. */
	r = refresh(b, tunnel_set(true), tunnel, lease_ms);
	for (size_t i = 0; !r && i < n_src; i++)
		r = open_refresh(b, &src[i], port, lease_ms);
	if (!r)
		r = kg_nft_batch_send(b, &e);
	kg_nft_batch_free(b);
	if (r) {
		kg_log(KG_LOG_ERR, "session live: nft: %s", e.msg);
		return r;
	}
	del_elem(nft, tunnel_set(false), tunnel);
	return 0;
}

/* A renewal of many sessions goes in batches of about CHUNK messages (a
 * refresh is 3): one ack a message, and a batch of 100,000 sessions'
 * acks would overflow the socket's receive buffer. Each batch is still
 * one transaction; a failed one is logged and the rest go on, so one
 * element gone meanwhile does not leave every other lease to lapse. */
int green_apply_renew(struct kg_nft *nft, const struct green_apply_lease *v,
		      size_t n, uint64_t lease_ms)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_err e = { "" };
	size_t queued = 0;
	int r = 0, first = 0;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = refresh(b, tunnel_set(v[i].live), &v[i].tunnel, lease_ms);
		for (size_t j = 0; !r && j < v[i].n_src; j++)
			r = open_refresh(b, &v[i].src[j], v[i].port,
					 lease_ms);
		queued += 3 * (1 + v[i].n_src);
		if (!r && (queued >= CHUNK || i + 1 == n)) {
			queued = 0;
			r = kg_nft_batch_send(b, &e);
		}
		if (r) {
			kg_log(KG_LOG_ERR, "renewing session elements: %s",
			       e.msg[0] ? e.msg : strerror(-r));
			first = first ? first : r;
			kg_nft_batch_free(b);
			if (!(b = kg_nft_batch_new(nft)))
				return -ENOMEM;
			queued = 0;
			e.msg[0] = 0;
		}
	}
	kg_nft_batch_free(b);
	return first;
}

/* A new WireGuard interface of that name; a leftover of an earlier
 * instance is removed first, so its peers do not survive. */
static int fresh_iface(const char *ifname, enum kg_wg_backend *backend,
		       struct kg_err *e)
{
	int r = kg_wg_iface_remove(ifname);

	if (r)
		kg_log(KG_LOG_WARNING, "%s: removing old interface: %s",
		       ifname, strerror(-r));
	r = kg_wg_iface_create(ifname, backend);
	if (r)
		kg_err_set(e, "creating WireGuard interface %s: %s", ifname,
			   strerror(-r));
	return r;
}

/* Private key and port, no peers; the copy of the key is wiped. */
static int set_key_port(const char *ifname, const uint8_t priv[32],
			uint16_t port, struct kg_err *e)
{
	struct kg_wg_device d = { 0 };
	int r;

	d.has_private_key = true;
	memcpy(d.private_key, priv, 32);
	d.has_listen_port = true;
	d.listen_port = port;
	d.replace_peers = true;
	r = kg_wg_set(ifname, &d);
	kg_wipe(&d, sizeof(d));
	if (r)
		kg_err_set(e, "%s: setting key and port %u: %s", ifname, port,
			   strerror(-r));
	return r;
}

int green_apply_wg_up(const char *ifname, const uint8_t priv[32],
		      uint16_t port, const char *addr,
		      enum kg_wg_backend *backend, struct kg_err *e)
{
	int r = fresh_iface(ifname, backend, e);

	if (r)
		return r;
	if (!(r = set_key_port(ifname, priv, port, e)) &&
	    (r = kg_wg_iface_addr_up(ifname, addr, NULL)))
		kg_err_set(e, "%s: address %s / up: %s", ifname, addr, strerror(-r));
	if (r)
		kg_wg_iface_remove(ifname);
	return r;
}

/* A shard holds no address of green's: up, and the routes of its block. */
static int up_with_routes(const char *ifname, const char *route4,
			  const char *route6, struct kg_err *e)
{
	int r = kg_wg_iface_up(ifname);

	if (r)
		kg_err_set(e, "%s: up: %s", ifname, strerror(-r));
	else if ((r = kg_wg_iface_route(ifname, route4)))
		kg_err_set(e, "%s: route %s: %s", ifname, route4, strerror(-r));
	else if (route6 && (r = kg_wg_iface_route(ifname, route6)))
		kg_err_set(e, "%s: route %s: %s", ifname, route6, strerror(-r));
	return r;
}

int green_apply_shard_up(const char *ifname, const uint8_t priv[32],
			 uint16_t port, const char *route4, const char *route6,
			 enum kg_wg_backend *backend, struct kg_err *e)
{
	int r = fresh_iface(ifname, backend, e);

	if (r)
		return r;
	if (!(r = set_key_port(ifname, priv, port, e)))
		r = up_with_routes(ifname, route4, route6, e);
	if (r)
		kg_wg_iface_remove(ifname);
	return r;
}

bool green_apply_iface_exists(const char *ifname)
{
	return if_nametoindex(ifname) || kg_wg_uapi_exists(ifname);
}

void green_apply_wg_down(const char *ifname)
{
	int r = kg_wg_iface_remove(ifname);

	if (r)
		kg_log(KG_LOG_ERR, "%s: removing interface: %s", ifname,
		       strerror(-r));
}

int green_apply_addr_add(const char *ifname, const char *addr)
{
	return kg_wg_iface_addr_add(ifname, addr);
}

int green_apply_peer_add(const char *ifname, const uint8_t key[32],
			 const struct kg_addr *tunnel,
			 const struct kg_addr *tunnel6)
{
	struct kg_prefix p[2] = { { .a = *tunnel, .len = 32 } };
	size_t n = 1;

	if (tunnel6 && tunnel6->family == AF_INET6)
		p[n++] = (struct kg_prefix){ .a = *tunnel6, .len = 128 };
	return kg_wg_peer_put(ifname, key, p, n, NULL, 0);
}

/* Peers in set operations of at most 1,024 (one UAPI or netlink message
 * each): fill(ctx, i, peer) writes peer i into a zeroed slot. 0 or the
 * first -errno of a set (-ENOENT ignored when remove: already gone). */
#define PEERS_PER_SET 1024
static int set_peers_chunked(const char *ifname, size_t n, bool remove,
			     void (*fill)(const void *ctx, size_t i,
					  struct kg_wg_peer *p),
			     const void *ctx)
{
	int first = 0;

	for (size_t i = 0; i < n; i += PEERS_PER_SET) {
		size_t k = n - i < PEERS_PER_SET ? n - i : PEERS_PER_SET;
		struct kg_wg_device d = { 0 };
		struct kg_wg_peer *p = calloc(k, sizeof(*p));
		int r;

		if (!p)
			return -ENOMEM;
		for (size_t j = 0; j < k; j++)
			fill(ctx, i + j, &p[j]);
		d.peers = p;
		d.n_peers = k;
		r = kg_wg_set(ifname, &d);
		free(p);
		if (r && !(remove && r == -ENOENT) && !first)
			first = r;
	}
	return first;
}

struct peers_add_ctx {
	const uint8_t (*keys)[32];
	const struct kg_addr *tunnels, *tunnels6;
};

/* As green_apply_peer_add: the tunnel addresses as allowed-ips. */
static void fill_add(const void *ctx, size_t i, struct kg_wg_peer *q)
{
	const struct peers_add_ctx *c = ctx;

	memcpy(q->public_key, c->keys[i], 32);
	q->replace_allowed_ips = true;
	q->allowed[0] = (struct kg_prefix){ .a = c->tunnels[i], .len = 32 };
	q->n_allowed = 1;
	if (c->tunnels6[i].family == AF_INET6)
		q->allowed[q->n_allowed++] = (struct kg_prefix){
			.a = c->tunnels6[i], .len = 128 };
	q->has_keepalive = true;
}

static void fill_del(const void *ctx, size_t i, struct kg_wg_peer *q)
{
	const uint8_t (*keys)[32] = ctx;

	memcpy(q->public_key, keys[i], 32);
	q->remove = true;
}

int green_apply_peers_add(const char *ifname, const uint8_t (*keys)[32],
			  const struct kg_addr *tunnels,
			  const struct kg_addr *tunnels6, size_t n)
{
	struct peers_add_ctx c = { keys, tunnels, tunnels6 };

	return set_peers_chunked(ifname, n, false, fill_add, &c);
}

int green_apply_peer_del(const char *ifname, const uint8_t key[32])
{
	int r = kg_wg_peer_remove(ifname, key);

	return r == -ENOENT ? 0 : r;
}

int green_apply_peers_del(const char *ifname, const uint8_t (*keys)[32],
			  size_t n)
{
	return set_peers_chunked(ifname, n, true, fill_del, keys);
}

int green_apply_peers_read(const char *ifname, struct kg_wg_device *out)
{
	return kg_wg_get(ifname, out);
}

void green_apply_peers_free(struct kg_wg_device *d)
{
	kg_wg_device_free(d);
}

int green_apply_site_up(const char *ifname, const struct kg_wg_device *d,
			const char *addr, enum kg_wg_backend *backend,
			struct kg_err *e)
{
	int r = kg_wg_iface_create(ifname, backend);

	if (r == -EEXIST) {
		/* A previous instance died without cleaning up: start over. */
		kg_wg_iface_remove(ifname);
		r = kg_wg_iface_create(ifname, backend);
	}
	if (r) {
		kg_err_set(e, "site link %s: %s", ifname, strerror(-r));
		return r;
	}
	if ((r = kg_wg_set(ifname, d)))
		kg_err_set(e, "site link %s: configuring WireGuard: %s",
			   ifname, strerror(-r));
	else if ((r = kg_wg_iface_addr_up(ifname, addr, NULL)))
		kg_err_set(e, "site link %s: address %s: %s", ifname, addr,
			   strerror(-r));
	if (r)
		kg_wg_iface_remove(ifname);
	return r;
}

int green_apply_site_down(const char *ifname)
{
	return kg_wg_iface_remove(ifname);
}

int green_apply_site_peer_reset(const char *ifname, const struct kg_wg_peer *p)
{
	struct kg_wg_device d = { .peers = (struct kg_wg_peer *)p, .n_peers = 1 };
	int r = kg_wg_peer_remove(ifname, p->public_key);

	return r ? r : kg_wg_set(ifname, &d);
}

static void grant_key(struct kg_nft_key *k, const struct kg_addr *client,
		      const struct kg_addr *red, uint16_t port)
{
	kg_nft_key_init(k);
	kg_nft_key_put(k, client->b, kg_addr_len(client));
	kg_nft_key_put(k, red->b, kg_addr_len(red));
	kg_nft_key_put_port(k, port);
}

/* An IPv6 client's grant (its IPv6 tunnel address to red's IPv6 site
 * address) lives in fwd_grants6. */
static const char *grant_set(const struct kg_addr *client)
{
	return client->family == AF_INET6 ? "fwd_grants6" : "fwd_grants";
}

/* Established flows of a grant are checked against fwd_held (fwd_held6
 * for an IPv6 client). */
static const char *held_set(const struct kg_addr *client)
{
	return client->family == AF_INET6 ? "fwd_held6" : "fwd_held";
}

int green_apply_grant_put(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *red, uint16_t old_port,
			  uint16_t port, uint64_t timeout_ms, struct kg_err *e)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_nft_key k;
	int r = b ? 0 : -ENOMEM;

	if (!r && client->family != red->family)
		r = -EAFNOSUPPORT;
	if (!r && old_port && old_port != port) {
		grant_key(&k, client, red, old_port);
		r = kg_nft_batch_elem(b, false, grant_set(client), k.b, k.len, NULL, 0, 0);
	}
	/* Refreshed: a plain re-add would leave its expiry alone (see
	 * kg_nft_batch_refresh). */
	if (!r && port) {
		grant_key(&k, client, red, port);
		r = kg_nft_batch_refresh(b, grant_set(client), k.b, k.len, NULL, 0,
					 timeout_ms > 1000 ? timeout_ms : 1000);
		/* established flows: checked against fwd_held */
		if (!r)
			r = kg_nft_batch_refresh(b, held_set(client), k.b, k.len, NULL, 0,
						 timeout_ms > 1000 ? timeout_ms : 1000);
	}
	if (!r)
		r = kg_nft_batch_send(b, e);
	kg_nft_batch_free(b);
	return r;
}

int green_apply_grant_hop(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *old_red,
			  const struct kg_addr *red, uint16_t old_port,
			  uint16_t port, uint64_t lease_ms, uint64_t overlap_ms,
			  struct kg_err *e)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_nft_key k;
	int r = b ? 0 : -ENOMEM;

	if (!r && (client->family != red->family ||
		   client->family != old_red->family))
		r = -EAFNOSUPPORT;
	if (lease_ms < 1000)
		lease_ms = 1000;
	if (overlap_ms > lease_ms)
		overlap_ms = lease_ms;
	if (!r) {
		grant_key(&k, client, red, port);
		r = kg_nft_batch_refresh(b, grant_set(client), k.b, k.len, NULL, 0, lease_ms);
	}
	if (!r)
		r = kg_nft_batch_refresh(b, held_set(client), k.b, k.len, NULL, 0, lease_ms);
	if (!r) {
		grant_key(&k, client, old_red, old_port);
		r = kg_nft_batch_refresh(b, grant_set(client), k.b, k.len, NULL, 0,
					 overlap_ms ? overlap_ms : 1);
	}
	if (!r)
		r = kg_nft_batch_send(b, e);
	kg_nft_batch_free(b);
	return r;
}

int green_apply_held_put(struct kg_nft *nft, const struct kg_addr *client,
			 const struct kg_addr *red, const uint16_t *ports,
			 size_t n, uint64_t timeout_ms, struct kg_err *e)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_nft_key k;
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < n; i++) {
		grant_key(&k, client, red, ports[i]);
		r = kg_nft_batch_refresh(b, held_set(client), k.b, k.len, NULL, 0,
					 timeout_ms > 1000 ? timeout_ms : 1000);
	}
	if (!r)
		r = kg_nft_batch_send(b, e);
	kg_nft_batch_free(b);
	return r;
}

void green_apply_held_del(struct kg_nft *nft, const struct kg_addr *client,
			  const struct kg_addr *red, const uint16_t *ports,
			  size_t n)
{
	struct kg_nft_key k;
	struct kg_err e = { "" };

	for (size_t i = 0; i < n; i++) {
		grant_key(&k, client, red, ports[i]);
		kg_nft_elem(nft, false, held_set(client), k.b, k.len, 0, &e);
	}
}

static const char *ban_set(const struct kg_addr *a)
{
	return a->family == AF_INET ? "banned4" : "banned6";
}

int green_apply_ban(struct kg_nft *nft, const struct kg_addr *src,
		    unsigned seconds)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem(nft, true, ban_set(src), src->b, kg_addr_len(src),
			    (uint64_t)seconds * 1000, &e);

	if (r)
		kg_log(KG_LOG_ERR, "ban: %s", e.msg);
	return r;
}

int green_apply_unban(struct kg_nft *nft, const struct kg_addr *src)
{
	struct kg_err e = { "" };
	int r = kg_nft_elem(nft, false, ban_set(src), src->b, kg_addr_len(src),
			    0, &e);

	if (r && r != -ENOENT)
		kg_log(KG_LOG_ERR, "unban: %s", e.msg);
	return r;
}

static int seq_elem(struct kg_nft_batch *b, bool add, const struct kg_seq_port *p)
{
	struct kg_nft_key k;
	int r;

	kg_nft_key_init(&k);
	if ((r = kg_nft_key_put(&k, &p->proto, 1)) ||
	    (r = kg_nft_key_put_port(&k, p->port)))
		return r;
	return kg_nft_batch_elem(b, add, "seq_ports", k.b, k.len, NULL, 0, 0);
}

void green_apply_seq_ports(struct kg_nft *nft, const struct kg_seq_port *old,
			   size_t n_old, const struct kg_seq_port *new_,
			   size_t n_new)
{
	struct kg_err e = { "" };
	struct kg_nft_batch *b;
	int r = 0;

	/* Old elements one by one: a missing one must not abort the rest. */
	for (size_t i = 0; i < n_old; i++) {
		b = kg_nft_batch_new(nft);
		if (b && !seq_elem(b, false, &old[i]))
			kg_nft_batch_send(b, &e);
		kg_nft_batch_free(b);
	}
	e.msg[0] = '\0';
	b = kg_nft_batch_new(nft);
	for (size_t i = 0; b && !r && i < n_new; i++)
		r = seq_elem(b, true, &new_[i]);
	if (!b || r || (r = kg_nft_batch_send(b, &e)))
		kg_log(KG_LOG_ERR, "sequence ports: %s", e.msg[0] ? e.msg : "out of memory");
	kg_nft_batch_free(b);
}

static void key_bytes(uint64_t id, uint8_t k[8])
{
	/* As on the wire (big-endian), which is how the payload is matched. */
	for (int i = 7; i >= 0; i--, id >>= 8)
		k[i] = (uint8_t)id;
}

/* Sends the queued batch if it holds CHUNK messages (or force). */
static int flush(struct kg_nft_batch *b, size_t *queued, bool force)
{
	struct kg_err e = { "" };
	int r;

	if (!*queued || (!force && *queued < CHUNK))
		return 0;
	*queued = 0;
	r = kg_nft_batch_send(b, &e);
	if (r)
		kg_log(KG_LOG_ERR, "knock ids: %s", e.msg);
	return r;
}

int green_apply_keyids_add(struct kg_nft *nft, const uint64_t *ids,
			   const uint64_t *timeout_ms, const bool *refresh_,
			   size_t n)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	size_t queued = 0;
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < n; i++) {
		uint8_t k[8];

		key_bytes(ids[i], k);
		r = refresh_[i] ?
			kg_nft_batch_refresh(b, "knock_ids", k, 8, NULL, 0,
					     timeout_ms[i]) :
			kg_nft_batch_elem(b, true, "knock_ids", k, 8, NULL, 0,
					  timeout_ms[i]);
		/* a refresh is three messages (kg_nft_batch_refresh) */
		queued += refresh_[i] ? 3 : 1;
		if (!r)
			r = flush(b, &queued, false);
	}
	if (!r)
		r = flush(b, &queued, true);
	kg_nft_batch_free(b);
	return r;
}

static void keyids_del_chunk(struct kg_nft *nft, const uint64_t *ids, size_t n)
{
	struct kg_nft_batch *b = kg_nft_batch_new(nft);
	struct kg_err e = { "" };
	uint8_t k[8];
	int r = b ? 0 : -ENOMEM;

	for (size_t i = 0; !r && i < n; i++) {
		key_bytes(ids[i], k);
		r = kg_nft_batch_elem(b, false, "knock_ids", k, 8, NULL, 0, 0);
	}
	if (!r && !kg_nft_batch_send(b, &e)) {
		kg_nft_batch_free(b);
		return;
	}
	kg_nft_batch_free(b);
	for (size_t i = 0; i < n; i++) {
		key_bytes(ids[i], k);
		r = kg_nft_elem(nft, false, "knock_ids", k, 8, 0, &e);
		if (r && r != -ENOENT)
			kg_log(KG_LOG_ERR, "knock ids: %s", e.msg);
	}
}

void green_apply_keyids_del(struct kg_nft *nft, const uint64_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i += CHUNK)
		keyids_del_chunk(nft, ids + i, n - i < CHUNK ? n - i : CHUNK);
}
