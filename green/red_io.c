/* SPDX-License-Identifier: MIT */
/* The UDP socket to the reds and its event-loop glue (red_io.h). */
#include "red_io.h"
#include "evloop.h"
#include "log.h"
#include "pki.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static X509 *load_cert(const char *path, const struct kg_pki *pki,
		       struct kg_err *e)
{
	enum kg_pki_status st;
	X509 *x = NULL;
	FILE *f;

	if (pki) {
		st = kg_pki_verify_pem_file(pki, path, KG_ROLE_RED, 0, &x);
		if (st != KG_PKI_OK)
			kg_err_set(e, "%s: red certificate refused: %s", path,
				   kg_pki_status_name(st));
		return st == KG_PKI_OK ? x : NULL;
	}
	f = fopen(path, "re");
	if (f) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!x)
		kg_err_set(e, "%s: cannot read a PEM certificate", path);
	return x;
}

static int load_peers(struct green_red_io *io, const struct green_site_conf *s,
		      struct kg_err *e)
{
	struct kg_pki *pki = NULL;
	int r = 0;

	if (s->ca && *s->ca &&
	    (r = kg_pki_load(&pki, s->ca, s->crl && *s->crl ? s->crl : NULL, e)))
		return r;
	io->peers = calloc(s->n_reds, sizeof(*io->peers));
	if (!io->peers) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->n_reds; i++, io->n++) {
		struct green_red_peer *p = &io->peers[i];

		p->red = s->reds[i];
		p->red.cert = NULL;
		if (!(p->cert = load_cert(s->reds[i].cert, pki, e))) {
			r = -EINVAL;
			goto out;
		}
		r = kg_rc_init(&p->rc, s->id, p->red.id, io->key, p->cert,
			       2 * (size_t)s->max_grants, s->max_sends, s->retry_ms);
		/* a batch per 16 grants, twice over (a renewal round and its
		 * resends may overlap the next) */
		if (!r && (r = green_rb_init(&p->rb,
					     2 * (size_t)s->max_grants / KG_SK_BATCH_MAX + 4)))
			kg_rc_free(&p->rc);
		if (r) {
			kg_err_set(e, "red %s: %s", p->red.id, strerror(-r));
			X509_free(p->cert);
			goto out;
		}
	}
out:
	kg_pki_free(pki);
	return r;
}

static ssize_t peer_by_addr(const struct green_red_io *io,
			    const struct kg_addr *a)
{
	for (size_t i = 0; i < io->n; i++)
		if (kg_addr_eq(&io->peers[i].red.site_address, a))
			return (ssize_t)i;
	return -1;
}

/* A batch answer: each entry handed on as the answer to its renewal. */
static void batch_answer(struct green_red_io *io, size_t i, const uint8_t *buf,
			 size_t len, const char *src)
{
	static struct kg_skrenews_answer ba;
	static struct green_rb_pending done;
	enum kg_sk_err why;
	enum kg_rc_result res = green_rb_answer(&io->peers[i].rb, &io->peers[i].rc,
						buf, len, &ba, &done, &why);

	if (res != KG_RC_OK) {
		kg_log_event(KG_LOG_NOTICE, "red_answer", "result", "dropped",
			     "reason", res == KG_RC_MALFORMED ? kg_sk_err_name(why) :
			     kg_rc_result_name(res), "red", io->peers[i].red.id,
			     "src", src);
		return;
	}
	for (size_t j = 0; j < ba.n; j++) {
		struct kg_skanswer a = {
			.result = ba.r[j].result, .port = ba.r[j].port,
			.lease = ba.r[j].lease, .reason = ba.r[j].reason,
			.timestamp = ba.timestamp,
		};
		struct kg_sknock req;

		strcpy(a.red_id, ba.red_id);
		strcpy(a.green_id, ba.green_id);
		memcpy(a.knock_hash, ba.knock_hash, KG_SK_HASH_LEN);
		green_rb_entry_knock(&done.b, j, &req);
		io->on_answer(io->ctx, i, &a, &req, done.cookies[j]);
	}
}

static void hop_dropped(const struct green_red_peer *p, const char *why,
			const char *src)
{
	kg_log_event(KG_LOG_NOTICE, "hop", "result", "dropped", "reason", why,
		     "red", p->red.id, "src", src);
}

/* A hop push: unasked, so nothing pending to match it against first;
 * only the red's site address on the site link reaches this socket
 * (green's table), and the signature is checked before anything else
 * is looked at. */
static void one_hop(struct green_red_io *io, size_t i, const uint8_t *buf,
		    size_t len, const char *src)
{
	struct green_red_peer *p = &io->peers[i];
	uint8_t h[KG_SK_HASH_LEN];
	struct kg_sk_view v;
	struct kg_skhop hop;
	enum kg_sk_err why = kg_skhop_parse(buf, len, &hop, &v);

	if (why != KG_SK_E_OK)
		return hop_dropped(p, kg_sk_err_name(why), src);
	if (strcmp(hop.red_id, p->red.id))
		return hop_dropped(p, "wrong_red", src);
	if (strcmp(hop.green_id, p->rc.green_id))
		return hop_dropped(p, "wrong_green", src);
	kg_sk_digest(v.body, v.body_len, h);
	if (kg_pki_verify_sig(p->cert, h, v.sig, v.sig_len) != KG_PKI_OK)
		return hop_dropped(p, "bad_signature", src);
	/* red's site address in the client's family (IPv6 grants go to
	 * red's IPv6 end), or for an IPv6 grant an address in red's
	 * hop_prefix (address shuffling) */
	if (!kg_addr_eq(&hop.addr, hop.client.family == AF_INET6 ?
			&p->red.site_address6 : &p->red.site_address) &&
	    !(hop.client.family == AF_INET6 &&
	      p->red.hop_prefix.a.family == AF_INET6 &&
	      kg_prefix_contains(&p->red.hop_prefix, &hop.addr)))
		return hop_dropped(p, "address_move", src);
	if (io->on_hop)
		io->on_hop(io->ctx, i, &hop);
}

static void one_datagram(struct green_red_io *io, const uint8_t *buf,
			 size_t len, const struct kg_addr *src)
{
	char a[KG_ADDR_STRLEN];
	struct kg_skanswer ans;
	struct kg_sknock req;
	enum kg_rc_result res;
	enum kg_sk_err why;
	void *cookie = NULL;
	ssize_t i = peer_by_addr(io, src);

	kg_addr_str(src, a);
	if (i < 0) {
		kg_log_event(KG_LOG_NOTICE, "red_answer", "result", "dropped",
			     "reason", "unknown_source", "src", a);
		return;
	}
	/* Only red's key can send from its site address into this socket
	 * (allowed-ips, socket bound to the link): whatever it is, the
	 * link carries red's packets. */
	io->peers[i].heard_ms = kg_mono_ms();
	if (kg_sk_peek_type(buf, len) == KG_SK_TYPE_RENEWS_ANSWER) {
		batch_answer(io, (size_t)i, buf, len, a);
		return;
	}
	if (kg_sk_peek_type(buf, len) == KG_SK_TYPE_HOP) {
		one_hop(io, (size_t)i, buf, len, a);
		return;
	}
	res = kg_rc_answer(&io->peers[i].rc, buf, len, &ans, &req, &cookie, &why);
	if (res != KG_RC_OK) {
		kg_log_event(KG_LOG_NOTICE, "red_answer", "result", "dropped",
			     "reason", kg_rc_result_name(res), "red",
			     io->peers[i].red.id, "src", a);
		return;
	}
	io->on_answer(io->ctx, (size_t)i, &ans, &req, cookie);
}

static void on_readable(void *ctx, int fd, uint32_t events)
{
	struct green_red_io *io = ctx;
	uint8_t buf[KG_SK_BATCH_PACKET_MAX + 64];
	struct kg_addr src;
	ssize_t n;

	(void)events;
	/* A bounded batch per wakeup: a flood cannot starve the loop. */
	for (int k = 0; k < 64; k++) {
		n = kg_rc_sock_recv(fd, buf, sizeof(buf), &src);
		if (n < 0)
			break;
		one_datagram(io, buf, (size_t)n, &src);
	}
}

int green_red_io_open(struct green_red_io *io, const struct green_site_conf *s,
		      struct kg_evloop *loop, struct kg_err *e)
{
	int r;

	io->fd = -1;
	io->loop = loop;
	snprintf(io->site_if, sizeof(io->site_if), "%s", s->interface);
	if ((r = kg_hostkey_load(&io->key, s->host_key, e)) ||
	    (r = load_peers(io, s, e)))
		goto fail;
	/* Knocks and answers travel inside the site link only: the socket
	 * is bound to green's link address and to the link's interface, so
	 * knocks leave through it and nothing from elsewhere is read. The
	 * link must be up (green_site_up) before this. */
	if ((r = kg_rc_sock_open(&s->address.a, s->answer_port, s->interface,
				 &io->fd))) {
		char a[KG_ADDR_STRLEN];

		kg_err_set(e, "answer socket on %s:%u dev %s: %s",
			   kg_addr_str(&s->address.a, a), s->answer_port,
			   s->interface, strerror(-r));
		goto fail;
	}
	if (fcntl(io->fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		kg_err_set(e, "answer socket: %s", strerror(errno));
		goto fail;
	}
	if ((r = kg_evloop_add_fd(loop, io->fd, on_readable, io))) {
		kg_err_set(e, "event loop: %s", strerror(-r));
		goto fail;
	}
	return 0;
fail:
	green_red_io_close(io);
	return r;
}

void green_red_io_close(struct green_red_io *io)
{
	if (io->fd >= 0) {
		if (io->loop)
			kg_evloop_del_fd(io->loop, io->fd);
		close(io->fd);
	}
	for (size_t i = 0; i < io->n; i++) {
		kg_rc_free(&io->peers[i].rc);
		green_rb_free(&io->peers[i].rb);
		X509_free(io->peers[i].cert);
	}
	free(io->peers);
	kg_hostkey_free(io->key);
	io->fd = -1;
	io->peers = NULL;
	io->n = 0;
	io->key = NULL;
}

/* A send the kernel refused (link down, no route) is logged: it would
 * otherwise show only as red_silent after the last resend. */
static void send_logged(struct green_red_io *io, size_t red,
			const uint8_t *pkt, size_t len)
{
	struct green_red_peer *p = &io->peers[red];
	int r = kg_rc_sock_send(io->fd, &p->red.site_address, p->red.knock_port,
				pkt, len);
	char a[KG_ADDR_STRLEN];

	if (r)
		kg_log_event(KG_LOG_WARNING, "red_knock", "result", "send_failed",
			     "red", p->red.id, "dst",
			     kg_addr_str(&p->red.site_address, a),
			     "error", strerror(-r));
}

int green_red_io_send(struct green_red_io *io, size_t red,
		      const struct kg_sknock *k, uint64_t now_ms, void *cookie)
{
	struct green_red_peer *p = &io->peers[red];
	const uint8_t *pkt;
	size_t len;
	int r = kg_rc_request(&p->rc, k, now_ms, cookie, &pkt, &len);

	if (r)
		return r;
	/* A lost first send is what the resends are for. */
	send_logged(io, red, pkt, len);
	return 0;
}

int green_red_io_send_renews(struct green_red_io *io, size_t red,
			     const struct kg_sk_renew *e, void *const *cookies,
			     size_t n, uint64_t ts, uint64_t now_ms)
{
	struct green_red_peer *p = &io->peers[red];
	const uint8_t *pkt;
	size_t len;
	int r = green_rb_request(&p->rb, &p->rc, e, cookies, n, ts, now_ms,
				 &pkt, &len);

	if (r)
		return r;
	send_logged(io, red, pkt, len);
	return 0;
}

struct tick_ctx {
	struct green_red_io *io;
	size_t red;
	uint64_t now_ms;
};

/* Nothing from red for a whole retry interval while a knock waits: the
 * link may be a WireGuard session only green believes in (a handshake
 * that crossed red's, red's peer state lost). Starting the peer afresh
 * costs one handshake; waiting for WireGuard's own timers costs up to
 * 15 s, far past the resends. */
static void relink_if_silent(struct green_red_io *io, size_t i, uint64_t now)
{
	struct green_red_peer *p = &io->peers[i];
	char silent[24];
	int r;

	if (now - p->heard_ms <= p->rc.retry_ms ||
	    (p->relinked_ms && now - p->relinked_ms < KG_GREEN_RELINK_MS))
		return;
	p->relinked_ms = now;
	r = green_site_relink(io->site_if, &p->red);
	snprintf(silent, sizeof(silent), "%llu",
		 p->heard_ms ? (unsigned long long)(now - p->heard_ms) : 0ULL);
	kg_log_event(r ? KG_LOG_ERR : KG_LOG_NOTICE, "site", "result",
		     r ? "error" : "relinked", "reason", "red_silent", "red",
		     p->red.id, "interface", io->site_if, "silent_ms",
		     p->heard_ms ? silent : "always", "error",
		     r ? strerror(-r) : NULL);
}

static void resend(void *ctx, const uint8_t *pkt, size_t len)
{
	struct tick_ctx *t = ctx;

	relink_if_silent(t->io, t->red, t->now_ms);
	send_logged(t->io, t->red, pkt, len);
}

static void gave_up(void *ctx, const struct kg_rc_pending *pend)
{
	struct tick_ctx *t = ctx;
	char n[8];

	snprintf(n, sizeof(n), "%u", pend->sent);
	kg_log_event(KG_LOG_WARNING, "red_knock", "result", "no_answer",
		     "red", t->io->peers[t->red].red.id, "service",
		     pend->k.service, "sends", n);
	t->io->on_gave_up(t->io->ctx, t->red, pend->cookie);
}

static void batch_gave_up(void *ctx, const struct kg_sknock *req, void *cookie)
{
	struct tick_ctx *t = ctx;

	kg_log_event(KG_LOG_WARNING, "red_knock", "result", "no_answer",
		     "red", t->io->peers[t->red].red.id, "service",
		     req->service, "batch", "yes");
	t->io->on_gave_up(t->io->ctx, t->red, cookie);
}

void green_red_io_tick(struct green_red_io *io, uint64_t now_ms)
{
	for (size_t i = 0; i < io->n; i++) {
		struct tick_ctx t = { io, i, now_ms };

		kg_rc_tick(&io->peers[i].rc, now_ms, resend, gave_up, &t);
		green_rb_tick(&io->peers[i].rb, &io->peers[i].rc, now_ms,
			      resend, batch_gave_up, &t);
	}
}

ssize_t green_red_io_find(const struct green_red_io *io, const char *id)
{
	for (size_t i = 0; i < io->n; i++)
		if (!strcmp(io->peers[i].red.id, id))
			return (ssize_t)i;
	return -1;
}
