/* SPDX-License-Identifier: MIT */
/*
 * Green's control server driven over socketpairs with the daemon's side
 * faked: certificates are byte strings, a "card signature" is an HMAC keyed
 * by the certificate's hash (only the holder of that certificate's key can
 * make it), sessions and services are recorded. The real client library
 * runs in a thread for the full exchange.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client/ctrl_client.h"
#include "crypto.h"
#include "green/ctrl_server.h"
#include "transcript.h"

#define ALICE_CERT "CERT alice"
#define BOB_CERT "CERT bob"
#define REVOKED_CERT "CERT revoked"

static int64_t fake_ms;
static int64_t clock_ms(void *ctx) { (void)ctx; return fake_ms; }

struct fake {
	struct kg_addr alice_tun, bob_tun;
	uint8_t alice_pub[32], bob_pub[32], green_pub[32];
	uint64_t ended_id;
	enum kg_sess_end ended_why;
	int n_ended, n_live, n_reproved, n_open;
};

static struct fake F;

static void cert_key(const char *der, size_t len, uint8_t key[32])
{
	kg_sha256(der, len, key);
}

static int f_lookup(void *ctx, const struct kg_addr *t, struct kg_ctrl_peer *p)
{
	(void)ctx;
	memset(p, 0, sizeof(*p));
	if (kg_addr_eq(t, &F.alice_tun)) {
		p->session_id = 42;
		strcpy(p->user, "alice");
		memcpy(p->client_wg_pub, F.alice_pub, 32);
		kg_sha256(ALICE_CERT, strlen(ALICE_CERT), p->spki_pin);
		return 0;
	}
	if (kg_addr_eq(t, &F.bob_tun)) {
		p->session_id = 43;
		strcpy(p->user, "bob");
		memcpy(p->client_wg_pub, F.bob_pub, 32);
		kg_sha256(BOB_CERT, strlen(BOB_CERT), p->spki_pin);
		return 0;
	}
	if (t->family == AF_INET && t->b[0] == 10 && t->b[2] == 1 &&
	    t->b[3] >= 20) {
		p->session_id = 1000 + t->b[3];
		strcpy(p->user, "carol");
		return 0;
	}
	return -ENOENT;
}

static int f_verify_cert(void *ctx, const uint8_t *der, size_t len,
			 void **cert, uint8_t spki[32], const char **reason)
{
	uint8_t *key;

	(void)ctx;
	if (len == strlen(REVOKED_CERT) && !memcmp(der, REVOKED_CERT, len)) {
		*reason = "revoked";
		return -EACCES;
	}
	if (len < 5 || memcmp(der, "CERT ", 5)) {
		*reason = "malformed";
		return -EACCES;
	}
	key = malloc(32);
	cert_key((const char *)der, len, key);
	memcpy(spki, key, 32);
	*cert = key;
	return 0;
}

static int f_verify_sig(void *ctx, void *cert, const uint8_t digest[32],
			const uint8_t *sig, size_t len)
{
	uint8_t mac[32];

	(void)ctx;
	kg_hmac_sha256(cert, digest, 32, mac);
	return len == 32 && kg_memeq(mac, sig, 32) ? 0 : -EBADMSG;
}

static void f_cert_free(void *ctx, void *cert) { (void)ctx; free(cert); }

static int f_session_live(void *ctx, uint64_t id, struct kg_ctrl_live *out)
{
	(void)ctx;
	(void)id;
	F.n_live++;
	out->idle_timeout = 600;
	out->expires = 3600;
	out->reproof_interval = 300;
	out->services[0] = "web";
	out->services[1] = "ssh";
	out->n_services = 2;
	return 0;
}

static struct kg_ctrl_server *srv;

static void f_session_end(void *ctx, uint64_t id, enum kg_sess_end why)
{
	(void)ctx;
	F.ended_id = id;
	F.ended_why = why;
	F.n_ended++;
	/* the daemon's cleanup may call back into the server: the
	 * connection is already closing, so nothing happens twice */
	assert_int_equal(kg_ctrl_server_end_session(srv, id, KG_CODE_CLOSE),
			 -ENOENT);
}

static void f_reproved(void *ctx, uint64_t id) { (void)ctx; (void)id; F.n_reproved++; }

static int f_open(void *ctx, uint64_t id, const char *user, const char *svc,
		  struct kg_ctrl_grant *g, uint16_t *code)
{
	(void)ctx;
	(void)id;
	F.n_open++;
	if (!strcmp(user, "alice") && !strcmp(svc, "slow"))
		return -EINPROGRESS;
	if (strcmp(user, "alice") || strcmp(svc, "web")) {
		*code = KG_CODE_NOT_ALLOWED;
		return -EACCES;
	}
	kg_addr_parse("203.0.113.2", &g->addr);
	g->port = 40001;
	g->lease = 60;
	return 0;
}

static const struct kg_ctrl_ops ops = {
	.lookup = f_lookup, .verify_cert = f_verify_cert,
	.verify_sig = f_verify_sig, .cert_free = f_cert_free,
	.session_live = f_session_live, .session_end = f_session_end,
	.reproved = f_reproved, .open_service = f_open,
};

static int setup(void **st)
{
	struct kg_ctrl_server_conf conf = {
		.io_timeout_ms = 2000, .reproof_interval_ms = 300000,
		.max_clients = 4,
	};

	(void)st;
	memset(&F, 0, sizeof(F));
	kg_addr_parse("10.88.1.10", &F.alice_tun);
	kg_addr_parse("10.88.1.11", &F.bob_tun);
	memset(F.alice_pub, 0xa1, 32);
	memset(F.bob_pub, 0xb0, 32);
	memset(F.green_pub, 0x66, 32);
	memcpy(conf.green_wg_pub, F.green_pub, 32);
	fake_ms = 1000;
	return kg_ctrl_server_new(&srv, &conf, &ops, clock_ms, NULL);
}

static int teardown(void **st)
{
	(void)st;
	kg_ctrl_server_free(srv);
	srv = NULL;
	return 0;
}

/* ---- raw client helpers (single thread: socketpairs buffer) ---- */

static int connect_as(const struct kg_addr *tun, int expect_rc)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(kg_ctrl_server_add(srv, sv[0], tun), expect_rc);
	return sv[1];
}

static void pump(void)
{
	for (int i = 0; i < 3; i++)
		assert_int_equal(kg_ctrl_server_run_once(srv, -1, 0), 0);
}

static void send_raw(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void send_m(int fd, const struct kg_ctrl_msg *m)
{
	uint8_t buf[KG_CTRL_MAX_FRAME];
	size_t n;

	assert_int_equal(kg_ctrl_build(m, buf, sizeof(buf), &n), 0);
	send_raw(fd, buf, n);
}

/* Reads one message (non-blocking after a pump); returns its type, 0 on
 * EOF, -1 if nothing is there. */
static uint8_t rbuf[KG_CTRL_MAX_FRAME];
static int recv_m(int fd, struct kg_ctrl_msg *m)
{
	size_t body;
	ssize_t r = recv(fd, rbuf, 4, MSG_DONTWAIT);

	if (r == 0)
		return 0;
	if (r < 0)
		return -1;
	assert_int_equal(r, 4);
	assert_int_equal(kg_ctrl_frame_len(rbuf, 4, KG_CTRL_MAX_BODY, &body), 0);
	assert_int_equal(recv(fd, rbuf + 4, body, MSG_DONTWAIT), (ssize_t)body);
	assert_int_equal(kg_ctrl_parse(rbuf + 4, body, m, NULL), 0);
	return m->type;
}

static void hmac_sign(const char *cert, const uint8_t digest[32], uint8_t sig[32])
{
	uint8_t key[32];

	cert_key(cert, strlen(cert), key);
	kg_hmac_sha256(key, digest, 32, sig);
}

static void hello(int fd, const char *cert)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_HELLO };

	m.cert = (struct kg_ctrl_view){ (const uint8_t *)cert, strlen(cert) };
	send_m(fd, &m);
	pump();
}

/* Answers a challenge with cert's key for alice's binding. */
static void prove(int fd, const char *cert, const uint8_t challenge[32],
		  uint8_t sig_out[32])
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_PROOF };
	struct kg_proof_binding b;
	uint8_t d[32];

	memcpy(b.challenge, challenge, 32);
	memcpy(b.client_wg_pub, F.alice_pub, 32);
	memcpy(b.green_wg_pub, F.green_pub, 32);
	b.tunnel = F.alice_tun;
	assert_int_equal(kg_transcript_card_proof_digest(&b, d), 0);
	hmac_sign(cert, d, sig_out);
	m.sig = (struct kg_ctrl_view){ sig_out, 32 };
	send_m(fd, &m);
	pump();
}

/* Alice through to live; returns her fd and the first service nonce. */
static int alice_live(uint8_t nonce[32])
{
	struct kg_ctrl_msg m;
	uint8_t sig[32];
	int fd = connect_as(&F.alice_tun, 0);

	hello(fd, ALICE_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_CHALLENGE);
	prove(fd, ALICE_CERT, m.nonce, sig);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_SESSION);
	assert_true(m.session_id == 42);
	memcpy(nonce, m.nonce, 32);
	return fd;
}

/* ---- tests ---- */

static void test_card_proof_makes_session_live_with_services(void **st)
{
	uint8_t nonce[32];
	int fd;

	(void)st;
	fd = alice_live(nonce);
	assert_int_equal(F.n_live, 1);
	assert_int_equal(F.n_ended, 0);
	close(fd);
	pump();
	/* a live client that goes away ends its session */
	assert_int_equal(F.n_ended, 1);
	assert_int_equal(F.ended_why, KG_END_CLOSE);
	assert_int_equal(kg_ctrl_server_count(srv), 0);
}

static void test_other_users_card_on_alices_tunnel_is_refused(void **st)
{
	struct kg_ctrl_msg m;
	int fd = connect_as(&F.alice_tun, 0);

	(void)st;
	hello(fd, BOB_CERT);   /* a valid certificate, but bob's key */
	assert_int_equal(recv_m(fd, &m), KG_CTRL_ERROR);
	assert_int_equal(m.code, KG_CODE_AUTH_FAILED);
	assert_int_equal(F.n_ended, 1);
	assert_true(F.ended_id == 42);
	assert_int_equal(F.ended_why, KG_END_AUTH_FAILED);
	assert_int_equal(F.n_live, 0);
	pump();
	assert_int_equal(recv_m(fd, &m), 0);   /* closed */
	close(fd);
}

static void test_revoked_certificate_is_refused(void **st)
{
	struct kg_ctrl_msg m;
	int fd = connect_as(&F.alice_tun, 0);

	(void)st;
	hello(fd, REVOKED_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_ERROR);
	assert_int_equal(F.ended_why, KG_END_AUTH_FAILED);
	assert_int_equal(F.n_live, 0);
	close(fd);
}

static void test_replayed_proof_from_earlier_session_fails(void **st)
{
	struct kg_ctrl_msg m = { 0 };
	uint8_t old_sig[32], nonce[32];
	int fd = alice_live(nonce);

	(void)st;
	close(fd);
	pump();
	F.n_live = 0;
	/* the attacker holds that signature and a later pending session */
	{
		int fd2 = connect_as(&F.alice_tun, 0);
		struct kg_ctrl_msg p = { .type = KG_CTRL_PROOF };
		uint8_t first_challenge[32];

		hello(fd2, ALICE_CERT);
		assert_int_equal(recv_m(fd2, &m), KG_CTRL_CHALLENGE);
		memcpy(first_challenge, m.nonce, 32);
		close(fd2);
		pump();
		fd2 = connect_as(&F.alice_tun, 0);
		hello(fd2, ALICE_CERT);
		assert_int_equal(recv_m(fd2, &m), KG_CTRL_CHALLENGE);
		assert_memory_not_equal(m.nonce, first_challenge, 32);
		/* sign the first challenge (as recorded earlier), send it now */
		{
			struct kg_proof_binding b;
			uint8_t d[32];

			memcpy(b.challenge, first_challenge, 32);
			memcpy(b.client_wg_pub, F.alice_pub, 32);
			memcpy(b.green_wg_pub, F.green_pub, 32);
			b.tunnel = F.alice_tun;
			kg_transcript_card_proof_digest(&b, d);
			hmac_sign(ALICE_CERT, d, old_sig);
		}
		p.sig = (struct kg_ctrl_view){ old_sig, 32 };
		send_m(fd2, &p);
		pump();
		assert_int_equal(recv_m(fd2, &m), KG_CTRL_ERROR);
		assert_int_equal(m.code, KG_CODE_AUTH_FAILED);
		assert_int_equal(F.n_live, 0);
		assert_int_equal(F.ended_why, KG_END_AUTH_FAILED);
		close(fd2);
	}
}

static void test_silent_client_times_out_and_leaves_nothing(void **st)
{
	struct kg_ctrl_msg m;
	int fd = connect_as(&F.alice_tun, 0);

	(void)st;
	pump();
	assert_int_equal(kg_ctrl_server_next_timeout_ms(srv), 2000);
	fake_ms += 1999;
	pump();
	assert_int_equal(F.n_ended, 0);
	fake_ms += 1;
	pump();
	assert_int_equal(F.n_ended, 1);
	assert_int_equal(F.ended_why, KG_END_AUTH_TIMEOUT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_CLOSE);
	assert_int_equal(m.code, KG_CODE_TIMEOUT);
	pump();
	assert_int_equal(kg_ctrl_server_count(srv), 0);
	close(fd);
}

static void test_slow_client_does_not_block_another(void **st)
{
	struct kg_ctrl_msg m;
	uint8_t half[6] = { 0, 0, 0, 20, 1, KG_CTRL_HELLO };
	uint8_t nonce[32];
	int slow = connect_as(&F.bob_tun, 0), fast;

	(void)st;
	send_raw(slow, half, sizeof(half));   /* starts a frame, stalls */
	pump();
	fake_ms += 500;
	fast = alice_live(nonce);             /* served meanwhile */
	assert_int_equal(F.n_live, 1);
	fake_ms += 1500;                       /* slow's frame deadline */
	pump();
	assert_int_equal(recv_m(slow, &m), KG_CTRL_CLOSE);
	assert_true(F.ended_id == 43);
	assert_int_equal(F.ended_why, KG_END_AUTH_TIMEOUT);
	assert_int_equal(F.n_ended, 1);        /* alice untouched */
	close(slow);
	close(fast);
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* 200 connections stalled mid-frame do not delay a fresh client; they
 * all end at their deadline. (Prints the time the fresh one took.) */
static void test_many_stalled_clients_do_not_delay_another(void **st)
{
	struct kg_ctrl_server_conf conf = { .io_timeout_ms = 2000,
					    .max_clients = 256 };
	uint8_t half[6] = { 0, 0, 0, 20, 1, KG_CTRL_HELLO };
	struct timespec t0, t1;
	struct kg_addr t;
	uint8_t nonce[32];
	int fds[200], fast;
	double base;
	char a[32];

	(void)st;
	kg_ctrl_server_free(srv);
	memcpy(conf.green_wg_pub, F.green_pub, 32);
	assert_int_equal(kg_ctrl_server_new(&srv, &conf, &ops, clock_ms, NULL), 0);
	/* baseline: the same client with nobody else connected */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fast = alice_live(nonce);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	base = ms_between(&t0, &t1);
	close(fast);
	pump();
	F.n_live = F.n_ended = 0;
	for (int i = 0; i < 200; i++) {
		snprintf(a, sizeof(a), "10.88.%d.%d", 1 + i / 200, 20 + i % 200);
		kg_addr_parse(a, &t);
		fds[i] = connect_as(&t, 0);
		send_raw(fds[i], half, sizeof(half));
	}
	pump();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fast = alice_live(nonce);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("card proof exchange: alone %.2f ms, beside 200 stalled "
		      "clients %.2f ms (x%.1f)\n", base, ms_between(&t0, &t1),
		      ms_between(&t0, &t1) / (base > 0 ? base : 1));
	assert_int_equal(F.n_live, 1);
	assert_int_equal(F.n_ended, 0);
	fake_ms += 2000;
	pump();
	assert_int_equal(F.n_ended, 200);
	assert_int_equal(kg_ctrl_server_count(srv), 1);
	for (int i = 0; i < 200; i++)
		close(fds[i]);
	close(fast);
}

static void test_oversize_message_is_refused_on_its_header(void **st)
{
	struct kg_ctrl_msg m;
	uint8_t hdr[4] = { 0, 1, 0, 0 };      /* 65536 bytes announced */
	int fd = connect_as(&F.alice_tun, 0);

	(void)st;
	send_raw(fd, hdr, 4);
	pump();
	assert_int_equal(recv_m(fd, &m), KG_CTRL_ERROR);
	assert_int_equal(m.code, KG_CODE_PROTOCOL);
	assert_int_equal(F.ended_why, KG_END_AUTH_FAILED);
	close(fd);
}

static void test_message_out_of_order_is_refused(void **st)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_PROOF };
	uint8_t sig[32] = { 0 };
	int fd = connect_as(&F.alice_tun, 0);

	(void)st;
	m.sig = (struct kg_ctrl_view){ sig, 32 };
	send_m(fd, &m);                        /* proof before hello */
	pump();
	assert_int_equal(recv_m(fd, &m), KG_CTRL_ERROR);
	assert_int_equal(m.code, KG_CODE_PROTOCOL);
	assert_int_equal(F.n_ended, 1);
	close(fd);
}

static void test_unknown_tunnel_address_and_second_connection_refused(void **st)
{
	struct kg_addr other;
	uint8_t nonce[32];
	int fd, fd2, fd3;

	(void)st;
	kg_addr_parse("10.88.9.99", &other);
	fd = connect_as(&other, -EPERM);
	close(fd);
	fd2 = alice_live(nonce);
	fd3 = connect_as(&F.alice_tun, -EBUSY);
	close(fd3);
	assert_int_equal(kg_ctrl_server_count(srv), 1);
	assert_int_equal(F.n_ended, 0);
	close(fd2);
}

static void send_service(int fd, const uint8_t nonce[32], const char *svc,
			 const char *cert)
{
	struct kg_ctrl_msg m = { .type = KG_CTRL_SERVICE_REQ };
	uint8_t d[32], sig[32];

	assert_int_equal(kg_transcript_service_digest(42, nonce, svc, d), 0);
	hmac_sign(cert, d, sig);
	memcpy(m.nonce, nonce, 32);
	m.service = (struct kg_ctrl_view){ (const uint8_t *)svc, strlen(svc) };
	m.sig = (struct kg_ctrl_view){ sig, 32 };
	send_m(fd, &m);
	pump();
}

static void test_service_requests_need_fresh_nonce_and_card(void **st)
{
	struct kg_ctrl_msg m;
	uint8_t nonce[32], used[32];
	int fd = alice_live(nonce);

	(void)st;
	send_service(fd, nonce, "web", ALICE_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_GRANT);
	assert_int_equal(m.grant.port, 40001);
	memcpy(used, nonce, 32);
	memcpy(nonce, m.nonce, 32);
	assert_memory_not_equal(used, nonce, 32);
	/* replaying the same signed request: stale nonce, nothing opened */
	send_service(fd, used, "web", ALICE_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_REFUSED);
	assert_int_equal(m.code, KG_CODE_STALE_NONCE);
	assert_int_equal(F.n_open, 1);
	memcpy(nonce, m.nonce, 32);
	/* signed by another key */
	send_service(fd, nonce, "web", BOB_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_REFUSED);
	assert_int_equal(m.code, KG_CODE_BAD_SIGNATURE);
	memcpy(nonce, m.nonce, 32);
	/* policy */
	send_service(fd, nonce, "ssh", ALICE_CERT);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_REFUSED);
	assert_int_equal(m.code, KG_CODE_NOT_ALLOWED);
	assert_int_equal(F.n_open, 2);
	assert_int_equal(F.n_ended, 0);
	close(fd);
}

static void test_service_answered_later_holds_further_requests(void **st)
{
	struct kg_ctrl_grant g = { .port = 40002 };
	struct kg_ctrl_msg m;
	uint8_t nonce[32];
	int fd = alice_live(nonce);

	(void)st;
	kg_addr_parse("203.0.113.2", &g.addr);
	send_service(fd, nonce, "slow", ALICE_CERT);
	/* a second request (stale: the nonce has not turned) waits */
	send_service(fd, nonce, "web", ALICE_CERT);
	assert_int_equal(recv_m(fd, &m), -1);
	assert_int_equal(F.n_open, 1);
	assert_int_equal(kg_ctrl_server_service_done(srv, 42, "web", &g, 0),
			 -ENOENT);
	assert_int_equal(kg_ctrl_server_service_done(srv, 42, "slow", &g, 0), 0);
	pump();
	assert_int_equal(recv_m(fd, &m), KG_CTRL_GRANT);
	assert_int_equal(m.grant.port, 40002);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_REFUSED);
	assert_int_equal(m.code, KG_CODE_STALE_NONCE);
	assert_int_equal(F.n_open, 1);
	close(fd);
}

static void test_unanswered_reproof_ends_session(void **st)
{
	struct kg_ctrl_msg m;
	uint8_t nonce[32];
	int fd = alice_live(nonce);

	(void)st;
	fake_ms += 300000;
	pump();
	assert_int_equal(recv_m(fd, &m), KG_CTRL_REPROOF_REQ);
	fake_ms += 1999;
	pump();
	assert_int_equal(F.n_ended, 0);
	fake_ms += 1;
	pump();
	assert_int_equal(F.n_ended, 1);
	assert_int_equal(F.ended_why, KG_END_REPROOF_MISSED);
	assert_int_equal(recv_m(fd, &m), KG_CTRL_CLOSE);
	assert_int_equal(m.code, KG_CODE_REPROOF_MISSED);
	close(fd);
}

static void test_green_ends_session_and_tells_client(void **st)
{
	struct kg_ctrl_msg m;
	uint8_t nonce[32];
	int fd = alice_live(nonce);

	(void)st;
	assert_int_equal(kg_ctrl_server_end_session(srv, 42, KG_CODE_REVOKED), 0);
	pump();
	assert_int_equal(recv_m(fd, &m), KG_CTRL_CLOSE);
	assert_int_equal(m.code, KG_CODE_REVOKED);
	assert_int_equal(F.n_ended, 0);       /* green's own decision */
	assert_int_equal(kg_ctrl_server_end_session(srv, 42, KG_CODE_REVOKED),
			 -ENOENT);
	close(fd);
}

/* The listening socket is bound to one address only; a TCP peer whose
 * address has no session is refused and logged before anything is read. */
static void test_listen_binds_one_address_and_refuses_unknown_source(void **st)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct kg_ctrl_msg m;
	struct kg_addr lo;
	int lfd, cfd, got = -1;

	(void)st;
	kg_addr_parse("127.0.0.1", &lo);
	assert_int_equal(kg_ctrl_listen(&lo, 0, 8, &lfd), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	assert_int_equal(sin.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&sin, sl), 0);
	for (int i = 0; i < 50 && got < 0; i++) {
		assert_int_equal(kg_ctrl_server_run_once(srv, lfd, 10), 0);
		got = recv_m(cfd, &m);
	}
	assert_int_equal(got, KG_CTRL_ERROR);
	assert_int_equal(m.code, KG_CODE_NO_SESSION);
	assert_int_equal(kg_ctrl_server_count(srv), 0);
	assert_int_equal(F.n_ended, 0);
	close(cfd);
	close(lfd);
}

static void test_max_clients_refuses_the_next(void **st)
{
	struct kg_ctrl_msg m;
	struct kg_addr t;
	int fds[5];
	char a[32];

	(void)st;
	for (int i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "10.88.1.%d", 20 + i);
		kg_addr_parse(a, &t);
		fds[i] = connect_as(&t, i < 4 ? 0 : -EBUSY);
	}
	assert_int_equal(kg_ctrl_server_count(srv), 4);
	assert_int_equal(recv_m(fds[4], &m), KG_CTRL_ERROR);
	assert_int_equal(m.code, KG_CODE_BUSY);
	for (int i = 0; i < 5; i++)
		close(fds[i]);
	pump();
	assert_int_equal(kg_ctrl_server_count(srv), 0);
}

/* ---- the real client library against the server ---- */

struct client_run {
	int fd;
	int rc_auth, rc_web, rc_ssh, rc_wait, rc_close;
	uint16_t ssh_code;
	struct kg_ctrl_session_info info;
	struct kg_ctrl_grant g;
	unsigned reproofs;
	volatile int done;
};

static int card_sign(void *ctx, const uint8_t digest[32], uint8_t *sig,
		     size_t *len)
{
	(void)ctx;
	hmac_sign(ALICE_CERT, digest, sig);
	*len = 32;
	return 0;
}

static void *client_thread(void *arg)
{
	struct client_run *r = arg;
	struct kg_ctrl_client c;
	struct kg_ctrl_grant g2;

	kg_ctrl_client_init(&c, r->fd, 5000, F.alice_pub, F.green_pub,
			    &F.alice_tun, card_sign, NULL);
	r->rc_auth = kg_ctrl_client_auth(&c, (const uint8_t *)ALICE_CERT,
					 strlen(ALICE_CERT), &r->info, NULL);
	r->rc_web = kg_ctrl_client_request(&c, "web", &r->g, NULL);
	r->rc_ssh = kg_ctrl_client_request(&c, "ssh", &g2, NULL);
	r->ssh_code = c.code;
	r->rc_wait = kg_ctrl_client_wait(&c, 300, NULL);
	r->reproofs = c.reproofs;
	r->rc_close = kg_ctrl_client_close(&c);
	close(r->fd);
	r->done = 1;
	return NULL;
}

static void test_client_library_full_exchange(void **st)
{
	struct client_run r = { 0 };
	bool advanced = false;
	pthread_t th;
	int sv[2];

	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(kg_ctrl_server_add(srv, sv[0], &F.alice_tun), 0);
	r.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, client_thread, &r), 0);
	while (!r.done || kg_ctrl_server_count(srv)) {
		/* once the session is live, ask for a reproof at once */
		if (!advanced && F.n_open == 2) {
			fake_ms += 300000;
			advanced = true;
		}
		assert_int_equal(kg_ctrl_server_run_once(srv, -1, 20), 0);
	}
	pthread_join(th, NULL);
	assert_int_equal(r.rc_auth, 0);
	assert_true(r.info.id == 42);
	assert_int_equal(r.info.n_services, 2);
	assert_string_equal(r.info.services[0], "web");
	assert_string_equal(r.info.services[1], "ssh");
	assert_int_equal(r.rc_web, 0);
	assert_int_equal(r.g.port, 40001);
	assert_int_equal(r.rc_ssh, -EACCES);
	assert_int_equal(r.ssh_code, KG_CODE_NOT_ALLOWED);
	assert_int_equal(r.rc_wait, 0);
	assert_int_equal(r.reproofs, 1);
	assert_int_equal(F.n_reproved, 1);
	assert_int_equal(r.rc_close, 0);
	assert_int_equal(F.ended_why, KG_END_CLOSE);
}

/* The connections' fd and session-id indexes through drops (each moves
 * the last connection into the hole): 150 clients, sessions ended by id
 * in a scrambled order, each close reaches that session's own socket
 * and no other; a second connection for an open session is refused, and
 * once its connection is gone the session may connect again. */
static void test_sessions_found_by_id_through_drops(void **st)
{
	struct kg_ctrl_msg m;
	struct kg_addr t;
	int fds[150];
	bool gone[150] = { false };
	char a[32];
	struct kg_ctrl_server_conf conf = { .io_timeout_ms = 2000,
					    .max_clients = 256 };

	(void)st;
	kg_ctrl_server_free(srv);
	memcpy(conf.green_wg_pub, F.green_pub, 32);
	assert_int_equal(kg_ctrl_server_new(&srv, &conf, &ops, clock_ms, NULL), 0);
	for (int i = 0; i < 150; i++) {
		snprintf(a, sizeof(a), "10.88.1.%d", 20 + i);
		kg_addr_parse(a, &t);
		fds[i] = connect_as(&t, 0);
	}
	kg_addr_parse("10.88.1.25", &t);
	close(connect_as(&t, -EBUSY));
	for (int k = 0; k < 150; k++) {
		int i = (k * 7) % 150;

		assert_int_equal(kg_ctrl_server_end_session(srv, 1000 + 20 + (uint64_t)i,
							    KG_CODE_REVOKED), 0);
		assert_int_equal(kg_ctrl_server_end_session(srv, 1000 + 20 + (uint64_t)i,
							    KG_CODE_REVOKED), -ENOENT);
		gone[i] = true;
		pump();
		assert_int_equal(recv_m(fds[i], &m), KG_CTRL_CLOSE);
		assert_int_equal(m.code, KG_CODE_REVOKED);
		/* another, still open, has heard nothing */
		for (int j = (i + 1) % 150; j != i; j = (j + 1) % 150)
			if (!gone[j]) {
				assert_int_equal(recv_m(fds[j], &m), -1);
				break;
			}
	}
	for (int i = 0; i < 150; i++)
		close(fds[i]);
	fake_ms += 5000;
	pump();
	assert_int_equal(kg_ctrl_server_count(srv), 0);
	fds[0] = connect_as(&t, 0);
	assert_int_equal(kg_ctrl_server_count(srv), 1);
	close(fds[0]);
}

int main(void)
{
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_card_proof_makes_session_live_with_services),
		T(test_other_users_card_on_alices_tunnel_is_refused),
		T(test_revoked_certificate_is_refused),
		T(test_replayed_proof_from_earlier_session_fails),
		T(test_silent_client_times_out_and_leaves_nothing),
		T(test_slow_client_does_not_block_another),
		T(test_many_stalled_clients_do_not_delay_another),
		T(test_oversize_message_is_refused_on_its_header),
		T(test_message_out_of_order_is_refused),
		T(test_unknown_tunnel_address_and_second_connection_refused),
		T(test_service_requests_need_fresh_nonce_and_card),
		T(test_service_answered_later_holds_further_requests),
		T(test_unanswered_reproof_ends_session),
		T(test_green_ends_session_and_tells_client),
		T(test_sessions_found_by_id_through_drops),
		T(test_listen_binds_one_address_and_refuses_unknown_source),
		T(test_max_clients_refuses_the_next),
		T(test_client_library_full_exchange),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
