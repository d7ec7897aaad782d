/* SPDX-License-Identifier: MIT */
/*
 * Revocation: the CRL and the user records are reloaded on SIGHUP and when
 * inotify sees the CRL file or the users directory change (kg-user-revoke
 * rewrites both). Every session whose user record is gone (or now pins
 * another key), or whose certificate the new CRL refuses, ends at once.
 * A reload that fails keeps the old CRL and users: the error is logged.
 * The certificates clients proved with are cached here (by SPKI) for that
 * re-check.
 */
#include "revoke.h"
#include "bundle_load.h"
#include "gate.h"
#include "wg_peers.h"
#include "sessions_run.h"
#include "knock_ids.h"
#include "knock_rx.h"
#include "evloop.h"
#include "log.h"
#include "pki.h"
#include "seq.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#define SETTLE_MS 200   /* let a tool finish writing before reading */

/* Users' services into the policy; a name green does not know is logged
 * (not silent) and that user gets no services. */
static void policy_users(struct green_gate *gt)
{
	struct kg_err e = { "" };

	for (size_t i = 0; i < gt->users.n; i++) {
		struct kg_user *u = &gt->users.v[i];

		if (kg_policy_set_user(&gt->policy, u->name,
				       (const char *const *)u->services,
				       u->n_services, &e)) {
			kg_log_event(KG_LOG_ERR, "users", "result", "error",
				     "user", u->name, "reason", "unknown_service",
				     "error", e.msg);
			kg_policy_set_user(&gt->policy, u->name, NULL, 0, &e);
		}
	}
}

/* The config's [service] sections (plain structs) into the run policy. */
static int copy_services(struct kg_policy *to, const struct kg_policy *from)
{
	if (!from->n_svc)
		return 0;
	to->svc = calloc(from->n_svc, sizeof(*to->svc));
	if (!to->svc)
		return -ENOMEM;
	memcpy(to->svc, from->svc, from->n_svc * sizeof(*to->svc));
	to->n_svc = from->n_svc;
	return 0;
}

int gate_users_load(struct green_gate *gt, struct kg_err *e)
{
	struct kg_users nu;
	int r;

	kg_users_init(&nu, KG_KNOCK_SLOT_DEFAULT);
	r = kg_users_load_dir(&nu, gt->g->conf.gate->users_dir, e);
	if (!r)
		r = gate_shards_check_users(&gt->g->conf, &nu, e);
	if (r) {
		kg_users_free(&nu);
		return r;
	}
	/* Keep each user's last accepted knock time across reloads. */
	for (size_t i = 0; i < nu.n; i++) {
		struct kg_user *old = kg_users_find(&gt->users, nu.v[i].name);

		if (old) {
			nu.v[i].last_ts_ms = old->last_ts_ms;
			nu.v[i].replay_share = old->replay_share;
		}
	}
	kg_users_free(&gt->users);
	gt->users = nu;
	gt->checker.users = &gt->users;
	kg_users_ids_update(&gt->users, (uint64_t)time(NULL), true);
	gate_knock_ids_sync(gt, true);
	if (gt->seq)
		kg_seq_reset(gt->seq);
	kg_policy_free(&gt->policy);
	kg_policy_init(&gt->policy);
	if ((r = copy_services(&gt->policy, &gt->g->conf.gate->services))) {
		kg_err_set(e, "services: %s", strerror(-r));
		return r;
	}
	policy_users(gt);
	gate_seq_ports_sync(gt);
	return 0;
}

int gate_pki_load(struct green_gate *gt, struct kg_err *e)
{
	const struct green_gate_conf *gc = gt->g->conf.gate;
	struct kg_pki *p;
	int r = kg_pki_load(&p, gc->ca, gc->crl, e);

	if (r)
		return r;
	kg_pki_free(gt->pki);
	gt->pki = p;
	return 0;
}

/* A user's SPKI pin before the reload, by name (sorted: bsearch). */
struct old_pin {
	char name[KG_USER_NAME_MAX];
	uint8_t pin[32];
};

/* A remembered certificate for this reload, sorted by SPKI (then by its
 * place in the cache: the first one of an SPKI decides, as it always
 * did), and its verdict under the new CRL once asked (memoised: the
 * sessions of one card cost one verification). */
struct cert_ref {
	const struct green_cert_seen *c;
	size_t order;
	int verdict;                 /* -1 not asked, else enum kg_sess_end */
};

struct gate_reload_idx {
	struct old_pin *pins;        /* NULL: pins unknown (no memory) */
	size_t n_pins;
	struct cert_ref *certs;      /* NULL: scan gt->certs instead */
	size_t n_certs;
};

static int pin_cmp(const void *a, const void *b)
{
	return strcmp(((const struct old_pin *)a)->name,
		      ((const struct old_pin *)b)->name);
}

static int cert_cmp(const void *a, const void *b)
{
	const struct cert_ref *x = a, *y = b;
	int c = memcmp(x->c->spki, y->c->spki, 32);

	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* The first certificate of spki in the sorted list, or NULL. */
static struct cert_ref *cert_of(const struct gate_reload_idx *x, const uint8_t spki[32])
{
	size_t lo = 0, hi = x->n_certs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (memcmp(x->certs[mid].c->spki, spki, 32) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n_certs && !memcmp(x->certs[lo].c->spki, spki, 32)
	       ? &x->certs[lo] : NULL;
}

static const uint8_t *pin_of(const struct gate_reload_idx *x, const char *user)
{
	struct old_pin key, *p;

	if (!x->pins)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", user);
	p = bsearch(&key, x->pins, x->n_pins, sizeof(key), pin_cmp);
	return p ? p->pin : NULL;
}

/* Before the reload: each session's user's pin (O(S log S)); the
 * certificate list sorted by SPKI is made after it (certs_index). */
struct gate_reload_idx *gate_reload_begin(struct green_gate *gt)
{
	struct gate_reload_idx *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->pins = calloc(gt->sess.n + 1, sizeof(*x->pins));
	for (size_t i = 0; x->pins && i < gt->sess.n; i++) {
		struct kg_user *u = kg_users_find(&gt->users, gt->sess.s[i].user);
		struct old_pin *p = &x->pins[x->n_pins++];

		/* a user unknown before pins nothing: the session ends */
		snprintf(p->name, sizeof(p->name), "%s", gt->sess.s[i].user);
		if (u)
			memcpy(p->pin, u->spki_sha256, 32);
	}
	if (x->pins)
		qsort(x->pins, x->n_pins, sizeof(*x->pins), pin_cmp);
	return x;
}

static void certs_index(struct green_gate *gt, struct gate_reload_idx *x)
{
	x->certs = calloc(gt->n_certs + 1, sizeof(*x->certs));
	if (!x->certs)
		return;
	for (size_t i = 0; i < gt->n_certs; i++)
		x->certs[i] = (struct cert_ref){ &gt->certs[i], i, -1 };
	x->n_certs = gt->n_certs;
	qsort(x->certs, x->n_certs, sizeof(*x->certs), cert_cmp);
}

static void reload_idx_free(struct gate_reload_idx *x)
{
	if (x) {
		free(x->pins);
		free(x->certs);
		free(x);
	}
}

/* Is the certificate c (a client proved with it) refused by the new CRL? */
static enum kg_sess_end cert_verdict(struct green_gate *gt,
				     const struct green_cert_seen *c)
{
	unsigned char *der = NULL;
	enum kg_pki_status st;
	int len = i2d_X509(c->x509, &der);

	if (len <= 0)
		return KG_END_NONE;
	st = kg_pki_verify_der(gt->pki, der, (size_t)len, KG_ROLE_USER, 0, NULL);
	OPENSSL_free(der);
	return st == KG_PKI_OK ? KG_END_NONE : KG_END_REVOKED;
}

/* Why s must end under the reloaded users and CRL, or KG_END_NONE. A
 * record that now pins another key or tunnel address than before the
 * reload (the pin known) no longer covers the session. */
static enum kg_sess_end judge(struct green_gate *gt, const struct kg_session *s,
			      const struct gate_reload_idx *x)
{
	struct kg_user *u = kg_users_find(&gt->users, s->user);
	const uint8_t *pin = pin_of(x, s->user);
	struct cert_ref *r;

	if (!u || !kg_memeq(u->tunnel.b, s->tunnel.b, 16) ||
	    (pin && !kg_memeq(pin, u->spki_sha256, 32)))
		return KG_END_REMOVED;
	if (!x->certs) {
		/* no memory for the index: the cache scanned */
		for (size_t i = 0; i < gt->n_certs; i++)
			if (kg_memeq(gt->certs[i].spki, u->spki_sha256, 32))
				return cert_verdict(gt, &gt->certs[i]);
		return KG_END_NONE;
	}
	if (!(r = cert_of(x, u->spki_sha256)))
		return KG_END_NONE;
	if (r->verdict < 0)
		r->verdict = (int)cert_verdict(gt, r->c);
	return (enum kg_sess_end)r->verdict;
}

/* After the reload: every session judged once (O(S log S) with the
 * indexes), those that must end ended (O(1) each). */
size_t gate_reload_judge(struct green_gate *gt, struct gate_reload_idx *x)
{
	static const struct gate_reload_idx none;
	size_t ended = 0;

	if (x)
		certs_index(gt, x);
	for (size_t i = 0; i < gt->sess.n;) {
		struct kg_session *s = &gt->sess.s[i];
		enum kg_sess_end end = judge(gt, s, x ? x : &none);

		if (end == KG_END_NONE) {
			i++;
			continue;
		}
		gate_session_end(gt, s->id, end, true);
		ended++;
	}
	reload_idx_free(x);
	return ended;
}

void gate_revoke_reload(struct green_gate *gt, const char *why)
{
	struct kg_err e = { "" };
	struct gate_reload_idx *x = gate_reload_begin(gt);
	char n[24];

	if (gate_pki_load(gt, &e) || gate_users_load(gt, &e)) {
		kg_log_event(KG_LOG_ERR, "revocation", "result", "error",
			     "reason", why, "error", e.msg);
		reload_idx_free(x);
		return;
	}
	snprintf(n, sizeof(n), "%zu", gate_reload_judge(gt, x));
	kg_log_event(KG_LOG_NOTICE, "revocation", "result", "reloaded",
		     "reason", why, "users", "ok", "ended", n);
}

static void on_inotify(void *ctx, int fd, uint32_t events)
{
	struct green_gate *gt = ctx;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const char *crl_base = strrchr(gt->g->conf.gate->crl, '/');
	const char *bundle_base = strrchr(gt->g->conf.gate->bundle, '/');
	bool hit = false, bundle = false;
	ssize_t n;

	(void)events;
	crl_base = crl_base ? crl_base + 1 : gt->g->conf.gate->crl;
	bundle_base = bundle_base ? bundle_base + 1 : "";
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			/* The users dir: anything; the CRL's dir: the CRL. */
			if (ev->wd == 1 || (ev->len && !strcmp(ev->name, crl_base)))
				hit = true;
			/* a bundle arrives by rename or a closed write */
			if (ev->wd == gt->bundle_wd && ev->len && bundle_base[0] &&
			    !strcmp(ev->name, bundle_base) &&
			    (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
				bundle = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (hit && !gt->reload_due_ms)
		gt->reload_due_ms = gate_now_ms() + SETTLE_MS;
	if (bundle && !gt->bundle_due_ms)
		gt->bundle_due_ms = gate_now_ms() + 1;
}

int gate_watch_start(struct green_gate *gt)
{
	const struct green_gate_conf *gc = gt->g->conf.gate;
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			      IN_DELETE | IN_CREATE;
	char *crl = strdup(gc->crl);
	int r = 0;

	if (!crl)
		return -ENOMEM;
	gt->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* Watch descriptor 1 is the users dir (first added). */
	if (gt->inotify_fd < 0 ||
	    inotify_add_watch(gt->inotify_fd, gc->users_dir, mask) != 1 ||
	    inotify_add_watch(gt->inotify_fd, dirname(crl), mask) < 0)
		r = -errno;
	free(crl);
	gt->bundle_wd = -1;
	if (!r && gc->bundle[0]) {
		char *b = strdup(gc->bundle);

		gt->bundle_wd = b ? inotify_add_watch(gt->inotify_fd, dirname(b),
						      IN_CLOSE_WRITE | IN_MOVED_TO) : -1;
		if (gt->bundle_wd < 0)
			r = b ? -errno : -ENOMEM;
		free(b);
	}
	if (!r)
		r = kg_evloop_add_fd(gt->g->loop, gt->inotify_fd, on_inotify, gt);
	if (r)
		kg_log(KG_LOG_WARNING, "inotify: %s: reload by SIGHUP only", strerror(-r));
	return r;
}

void gate_watch_stop(struct green_gate *gt)
{
	if (gt->inotify_fd < 0)
		return;
	if (gt->g->loop)
		kg_evloop_del_fd(gt->g->loop, gt->inotify_fd);
	close(gt->inotify_fd);
	gt->inotify_fd = -1;
}

void gate_watch_tick(struct green_gate *gt)
{
	if (gt->bundle_due_ms && gate_now_ms() >= gt->bundle_due_ms) {
		gt->bundle_due_ms = 0;
		gate_bundle_check(gt, "arrived");
	}
	if (gt->reload_due_ms && gate_now_ms() >= gt->reload_due_ms) {
		gt->reload_due_ms = 0;
		gate_revoke_reload(gt, "files_changed");
	}
}

/* The certificate cache: a verified certificate by SPKI, kept so a
 * reloaded CRL can be checked against live sessions. */
#define CERT_SWEEP_MIN 64

/* The SPKI is a SHA-256 of a key the CA certified: its first bytes are
 * a hash already. */
static size_t cert_bucket(const struct green_gate *gt, const uint8_t spki[32])
{
	uint64_t h;

	memcpy(&h, spki, sizeof(h));
	return (size_t)(h ^ (h >> 32)) & (gt->n_cert_head - 1);
}

static ptrdiff_t cert_slot(const struct green_gate *gt, const uint8_t spki[32])
{
	if (!gt->n_cert_head)
		return -1;
	for (uint32_t i = gt->cert_head[cert_bucket(gt, spki)]; i;
	     i = gt->certs[i - 1].next)
		if (kg_memeq(gt->certs[i - 1].spki, spki, 32))
			return (ptrdiff_t)(i - 1);
	return -1;
}

void *gate_cert_find(const struct green_gate *gt, const uint8_t spki[32])
{
	ptrdiff_t i = cert_slot(gt, spki);

	return i < 0 ? NULL : gt->certs[i].x509;
}

/* The chains made anew over the n_certs entries. */
static void certs_rehash(struct green_gate *gt)
{
	if (!gt->cert_head)
		return;
	memset(gt->cert_head, 0, gt->n_cert_head * sizeof(*gt->cert_head));
	for (size_t i = 0; i < gt->n_certs; i++) {
		size_t b = cert_bucket(gt, gt->certs[i].spki);

		gt->certs[i].next = gt->cert_head[b];
		gt->cert_head[b] = (uint32_t)(i + 1);
	}
}

/* Drops the certificates whose SPKI no session's user pins: a reload
 * judges a session by the certificate of its user's pin only, so these
 * are never asked for (a card that proves again is remembered again).
 * O(S + C). Out of memory: nothing dropped. */
static void certs_sweep(struct green_gate *gt)
{
	bool *keep = calloc(gt->n_certs + 1, sizeof(*keep));
	size_t k = 0;

	if (!keep)
		return;
	for (size_t i = 0; i < gt->sess.n; i++) {
		const struct kg_user *u = kg_users_find(&gt->users,
							gt->sess.s[i].user);
		ptrdiff_t c = u ? cert_slot(gt, u->spki_sha256) : -1;

		if (c >= 0)
			keep[c] = true;
	}
	for (size_t i = 0; i < gt->n_certs; i++) {
		if (keep[i])
			gt->certs[k++] = gt->certs[i];
		else
			X509_free(gt->certs[i].x509);
	}
	gt->n_certs = k;
	free(keep);
	certs_rehash(gt);
}

/* Room for one entry more: array and index doubled (rehashed). 0 or
 * -ENOMEM (nothing changed). */
static int certs_reserve(struct green_gate *gt)
{
	if (gt->n_certs == gt->cap_certs) {
		size_t cap = gt->cap_certs ? 2 * gt->cap_certs : 16;
		struct green_cert_seen *v = realloc(gt->certs, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		gt->certs = v;
		gt->cap_certs = cap;
	}
	if (gt->n_certs + 1 > gt->n_cert_head) {
		size_t n = gt->n_cert_head ? 2 * gt->n_cert_head : 16;
		uint32_t *h = calloc(n, sizeof(*h));

		if (!h)
			return -ENOMEM;
		free(gt->cert_head);
		gt->cert_head = h;
		gt->n_cert_head = n;
		certs_rehash(gt);
	}
	return 0;
}

void gate_cert_remember(struct green_gate *gt, void *x509,
			const uint8_t spki[32])
{
	ptrdiff_t i = cert_slot(gt, spki);
	struct green_cert_seen *c;
	size_t b;

	if (i >= 0) {
		X509_up_ref(x509);
		X509_free(gt->certs[i].x509);
		gt->certs[i].x509 = x509;
		return;
	}
	/* bounded: twice what the sessions pinned at the last sweep */
	if (gt->n_certs >= gt->cert_sweep_at) {
		certs_sweep(gt);
		gt->cert_sweep_at = 2 * gt->n_certs > CERT_SWEEP_MIN
				    ? 2 * gt->n_certs : CERT_SWEEP_MIN;
	}
	if (certs_reserve(gt))
		return;
	X509_up_ref(x509);
	c = &gt->certs[gt->n_certs];
	memcpy(c->spki, spki, 32);
	c->x509 = x509;
	b = cert_bucket(gt, spki);
	c->next = gt->cert_head[b];
	gt->cert_head[b] = (uint32_t)(++gt->n_certs);
}

void gate_certs_free(struct green_gate *gt)
{
	for (size_t i = 0; i < gt->n_certs; i++)
		X509_free(gt->certs[i].x509);
	free(gt->certs);
	free(gt->cert_head);
	gt->certs = NULL;
	gt->cert_head = NULL;
	gt->n_certs = gt->cap_certs = gt->n_cert_head = 0;
	gt->cert_sweep_at = 0;
}
