/* SPDX-License-Identifier: MIT */
/*
 * Red's privileged half under -P (docs/privsep.md). It forks the worker,
 * which takes the NFLOG socket and the IPS, keeps the host key, trust,
 * grants, replay cache and the nftables and conntrack sockets, and drops
 * every capability but CAP_NET_ADMIN. The worker is untrusted: a knock it
 * forwards is checked whole here (the knock port, the site link as its
 * input interface) and by red_knock (green's signature, window,
 * replay, policy, the source a green's link address), a ban against the
 * never-ban list and live grants here, a frame by lib/priv's parser.
 *
 * A worker that ends (crash, kill) ends red: the event loop stops,
 * daemon.c leaves the dark table and red exits 1 (the unit's
 * Restart=on-failure starts it again). Restarting would need CAP_SETUID kept
 * here; a dark host and a supervisor restart are the safer trade.
 */
#include "red.h"

#include <errno.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "ips.h"
#include "log.h"
#include "nflog.h"
#include "priv.h"

/* Never-ban prefixes and live grants, as for red_exempt but on the ban
 * key: an IPv6 /64 covering a protected address is refused too. */
static const char *protected(const struct red *r, const struct kg_addr *key)
{
	for (size_t i = 0; i < r->n_nb; i++)
		if (kg_ips_key_hits(&r->nb[i], key))
			return "never_ban";
	/* a counter per ban key (O(1)): the worker may ask for bans as
	 * often as spoofed sources make it */
	if (kg_grants_live_at(&r->st.grants, key))
		return "live_grant";
	return NULL;
}

static void reply(struct red *r, uint8_t type, uint32_t status)
{
	kg_priv_reply(r->worker_fd, type, status);
}

static void refuse(struct red *r, uint8_t type, const char *req,
		   const char *reason, const struct kg_addr *a, uint32_t status)
{
	kg_priv_refuse(r->worker_fd, type, req, reason, a, status);
}

static void on_ban(struct red *r, const struct kg_priv_req *q)
{
	const char *req = q->type == KG_PRIV_REQ_BAN ? "ban" : "unban";
	struct kg_addr key;
	const char *why;
	int rc;

	kg_addr_ban_key(&q->addr, &key);
	if (!kg_addr_eq(&key, &q->addr)) {
		refuse(r, q->type, req, "not_a_ban_key", &q->addr, EINVAL);
		return;
	}
	if (q->type == KG_PRIV_REQ_UNBAN) {
		rc = red_unban(r, &key);
		reply(r, q->type, rc && rc != -ENOENT ? (uint32_t)-rc : 0);
		return;
	}
	if ((why = protected(r, &key))) {
		refuse(r, q->type, req, why, &key, EPERM);
		return;
	}
	/* The worker may not choose a longer ban than the config's. */
	rc = red_ban(r, &key, q->seconds && q->seconds < r->cfg.ban_time ?
		     q->seconds : r->cfg.ban_time);
	reply(r, q->type, rc ? (uint32_t)-rc : 0);
}

/* Knocks come from the greens through the site link only (red's table
 * sends nothing else to the knock group): an input interface the worker
 * reports other than the site link's is a forged request. Every green
 * shares the one site interface. Looked up again on a mismatch, so an
 * interface made anew (with -n, by others) is followed. */
static bool on_site_link(struct red *r, uint32_t ifindex)
{
	if (ifindex && ifindex == r->site_ifindex)
		return true;
	r->site_ifindex = if_nametoindex(r->cfg.site.interface);
	return ifindex && ifindex == r->site_ifindex;
}

static void on_request(struct red *r, const uint8_t *buf, size_t n)
{
	struct kg_priv_req q;

	if (kg_priv_req_decode(buf, n, &q)) {
		refuse(r, n ? buf[0] : 0, NULL, "malformed", NULL, EBADMSG);
		return;
	}
	switch (q.type) {
	case KG_PRIV_REQ_KNOCK:
		if (q.dport != r->cfg.knock_port) {
			refuse(r, q.type, "knock", "not_knock_port", &q.addr,
			       EINVAL);
			return;
		}
		if (!on_site_link(r, q.ifindex)) {
			refuse(r, q.type, "knock", "not_site_link", &q.addr,
			       EACCES);
			return;
		}
		/* rx_us only feeds the record's us=; a lie there changes
		 * nothing but a number in the log. */
		reply(r, q.type, (uint32_t)red_knock(r, &q.addr, q.sport,
						     q.payload, q.payload_len,
						     (int64_t)q.rx_us));
		break;
	case KG_PRIV_REQ_BAN:
	case KG_PRIV_REQ_UNBAN:
		on_ban(r, &q);
		break;
	default:
		/* green's requests (ports, control, knock batches) */
		refuse(r, q.type, NULL, "not_for_red", &q.addr, EINVAL);
		break;
	}
}

static void on_worker(void *ctx, int fd, uint32_t events)
{
	struct red *r = ctx;
	uint8_t buf[KG_PRIV_FRAME_MAX];
	ssize_t n;

	(void)events;
	n = kg_priv_recv(fd, buf, sizeof(buf));
	if (n == -EMSGSIZE) {
		refuse(r, 0, NULL, "oversized", NULL, EMSGSIZE);
	} else if (n == -EAGAIN) {
		return;
	} else if (n <= 0) {
		kg_log_event(KG_LOG_ERR, "privsep", "result", "worker_gone",
			     "error", n ? strerror((int)-n) : "end_of_stream");
		kg_evloop_del_fd(r->loop, fd);
		r->worker_lost = true;
		kg_evloop_stop(r->loop);
	} else {
		on_request(r, buf, (size_t)n);
	}
}

static void worker_main(void *ctx, int sock)
{
	red_worker_main(ctx, sock);
}

int red_monitor_start(struct red *r, struct kg_err *e)
{
	static const int keep[] = { CAP_NET_ADMIN };
	char ws[16];
	int rc;

	r->n_nb = kg_red_never_ban(&r->cfg, r->nb, KG_RED_NEVER_BAN_MAX);
	/* test_worker is set only in test builds (-W). */
	if ((rc = kg_priv_spawn(worker_main, r, r->test_worker,
				&r->worker_pid, &r->worker_fd, e)))
		return rc;
	/* The NFLOG socket and the IPS are the worker's now. */
	kg_ips_free(r->ips);
	r->ips = NULL;
	kg_nflog_close(r->nflog);
	r->nflog = NULL;
	if ((rc = kg_priv_keep_caps(keep, 1, e)) ||
	    (rc = kg_evloop_add_fd(r->loop, r->worker_fd, on_worker, r)))
		return rc;
	snprintf(ws, sizeof(ws), "%d", (int)r->worker_pid);
	kg_log_event(KG_LOG_NOTICE, "privsep", "result", "started", "worker",
		     ws, "user", r->user, "test_worker", r->test_worker);
	return 0;
}

void red_monitor_stop(struct red *r)
{
	kg_priv_reap(&r->worker_pid, &r->worker_fd);
}
