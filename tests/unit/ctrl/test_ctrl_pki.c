/* SPDX-License-Identifier: MIT */
/*
 * The control server with real certificates and real ECDSA: a lab made by
 * the provisioning scripts (kg-lab) in a temporary directory, the server's
 * "verify" hooks over pki/ (as the daemon wires them), the client library
 * signing with the users' software keys (what their virtual cards hold).
 * Proves the binding decisions end to end in one process: the right card
 * passes; another user's card, a card from another CA, a signature by the
 * wrong key and a revoked certificate get nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "client/ctrl_client.h"
#include "conf.h"
#include "green/ctrl_server.h"
#include "pki.h"

static char dir[] = "/tmp/kg-ctrl-pki-test.XXXXXX";
static struct kg_pki *pki;
static uint8_t alice_pin[32];
static struct kg_addr alice_tun;
static uint8_t client_pub[32], green_pub[32];
static int n_live, n_ended;
static enum kg_sess_end last_end;

static char *path(const char *rel)
{
	static char buf[8][512];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, rel);
	return p;
}

static int run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

/* ---- the daemon's hooks over pki/ ---- */

static int h_lookup(void *ctx, const struct kg_addr *t, struct kg_ctrl_peer *p)
{
	(void)ctx;
	memset(p, 0, sizeof(*p));
	if (!kg_addr_eq(t, &alice_tun))
		return -ENOENT;
	p->session_id = 7;
	strcpy(p->user, "alice");
	memcpy(p->client_wg_pub, client_pub, 32);
	memcpy(p->spki_pin, alice_pin, 32);
	return 0;
}

static int h_verify_cert(void *ctx, const uint8_t *der, size_t len,
			 void **cert, uint8_t spki[32], const char **reason)
{
	enum kg_pki_status st;
	X509 *x = NULL;

	(void)ctx;
	st = kg_pki_verify_der(pki, der, len, KG_ROLE_USER, 0, &x);
	if (st != KG_PKI_OK) {
		*reason = kg_pki_status_name(st);
		return -EACCES;
	}
	if (kg_pki_spki_sha256(x, spki)) {
		X509_free(x);
		*reason = "internal";
		return -EACCES;
	}
	*cert = x;
	return 0;
}

static int h_verify_sig(void *ctx, void *cert, const uint8_t digest[32],
			const uint8_t *sig, size_t len)
{
	(void)ctx;
	return kg_pki_verify_sig(cert, digest, sig, len) == KG_PKI_OK ? 0
								      : -EBADMSG;
}

static void h_cert_free(void *ctx, void *cert) { (void)ctx; X509_free(cert); }

static int h_live(void *ctx, uint64_t id, struct kg_ctrl_live *out)
{
	(void)ctx;
	(void)id;
	n_live++;
	out->idle_timeout = 600;
	out->expires = 3600;
	out->reproof_interval = 300;
	out->services[0] = "web";
	out->n_services = 1;
	return 0;
}

static void h_end(void *ctx, uint64_t id, enum kg_sess_end why)
{
	(void)ctx;
	(void)id;
	n_ended++;
	last_end = why;
}

static int h_open(void *ctx, uint64_t id, const char *user, const char *svc,
		  struct kg_ctrl_grant *g, uint16_t *code)
{
	(void)ctx;
	(void)id;
	(void)user;
	(void)svc;
	(void)g;
	*code = KG_CODE_UNAVAILABLE;
	return -EACCES;
}

static const struct kg_ctrl_ops ops = {
	.lookup = h_lookup, .verify_cert = h_verify_cert,
	.verify_sig = h_verify_sig, .cert_free = h_cert_free,
	.session_live = h_live, .session_end = h_end, .open_service = h_open,
};

/* ---- the client with a software "card" ---- */

struct run {
	int fd;
	uint8_t *der;
	int der_len;
	struct kg_hostkey *key;
	int rc;
	uint16_t code;
	volatile int done;
};

static int soft_sign(void *ctx, const uint8_t digest[32], uint8_t *sig,
		     size_t *len)
{
	return kg_hostkey_sign(ctx, digest, sig, len);
}

static void *client_thread(void *arg)
{
	struct run *r = arg;
	struct kg_ctrl_session_info info;
	struct kg_ctrl_client c;

	kg_ctrl_client_init(&c, r->fd, 5000, client_pub, green_pub, &alice_tun,
			    soft_sign, r->key);
	r->rc = kg_ctrl_client_auth(&c, r->der, (size_t)r->der_len, &info, NULL);
	r->code = c.code;
	if (r->rc == 0)
		kg_ctrl_client_close(&c);
	close(r->fd);
	r->done = 1;
	return NULL;
}

/* Runs one card proof on alice's tunnel with cert and key (lab paths);
 * returns the client's result, *code green's refusal code. */
static int attempt(const char *cert_rel, const char *key_rel, uint16_t *code)
{
	struct kg_ctrl_server_conf conf = { .io_timeout_ms = 5000, .max_clients = 2 };
	struct kg_ctrl_server *srv;
	struct run r = { 0 };
	struct kg_err e;
	pthread_t th;
	FILE *f = fopen(path(cert_rel), "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	int sv[2];

	assert_non_null(x);
	fclose(f);
	r.der_len = i2d_X509(x, &r.der);
	X509_free(x);
	assert_true(r.der_len > 0);
	assert_int_equal(kg_hostkey_load(&r.key, path(key_rel), &e), 0);
	memcpy(conf.green_wg_pub, green_pub, 32);
	assert_int_equal(kg_ctrl_server_new(&srv, &conf, &ops, NULL, NULL), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(kg_ctrl_server_add(srv, sv[0], &alice_tun), 0);
	r.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, client_thread, &r), 0);
	while (!r.done || kg_ctrl_server_count(srv))
		assert_int_equal(kg_ctrl_server_run_once(srv, -1, 20), 0);
	pthread_join(th, NULL);
	kg_ctrl_server_free(srv);
	kg_hostkey_free(r.key);
	OPENSSL_free(r.der);
	*code = r.code;
	return r.rc;
}

static int setup(void **st)
{
	struct kg_conf c;
	struct kg_err e;

	(void)st;
	if (!mkdtemp(dir) ||
	    run("bash %s/provisioning/kg-lab %s >/dev/null 2>&1", KG_TEST_TOP, dir))
		return -1;
	if (kg_pki_load(&pki, path("green/ca.pem"), path("green/crl.pem"), &e) ||
	    kg_conf_load(&c, path("green/users.d/alice.conf"), &e))
		return -1;
	if (kg_conf_hex(&c, "user alice", "spki_sha256", true, alice_pin, 32, &e))
		return -1;
	kg_conf_free(&c);
	kg_addr_parse("10.88.1.10", &alice_tun);
	memset(client_pub, 0xc1, 32);
	memset(green_pub, 0x9e, 32);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	kg_pki_free(pki);
	run("rm -rf %s", dir);
	return 0;
}

static void test_alices_card_on_alices_tunnel_goes_live(void **st)
{
	uint16_t code;

	(void)st;
	n_live = n_ended = 0;
	assert_int_equal(attempt("users/alice/alice.pem", "users/alice/alice.key",
				 &code), 0);
	assert_int_equal(n_live, 1);
	assert_int_equal(last_end, KG_END_CLOSE);
}

static void test_bobs_card_on_alices_tunnel_gets_nothing(void **st)
{
	uint16_t code;

	(void)st;
	n_live = n_ended = 0;
	assert_int_equal(attempt("users/bob/bob.pem", "users/bob/bob.key", &code),
			 -EACCES);
	assert_int_equal(code, KG_CODE_AUTH_FAILED);
	assert_int_equal(n_live, 0);
	assert_int_equal(n_ended, 1);
	assert_int_equal(last_end, KG_END_AUTH_FAILED);
}

static void test_card_from_another_ca_gets_nothing(void **st)
{
	uint16_t code;

	(void)st;
	n_live = 0;
	assert_int_equal(attempt("users/mallory/mallory.pem",
				 "users/mallory/mallory.key", &code), -EACCES);
	assert_int_equal(n_live, 0);
	assert_int_equal(last_end, KG_END_AUTH_FAILED);
}

static void test_alices_certificate_with_another_key_gets_nothing(void **st)
{
	uint16_t code;

	(void)st;
	n_live = 0;
	assert_int_equal(attempt("users/alice/alice.pem", "users/bob/bob.key",
				 &code), -EACCES);
	assert_int_equal(n_live, 0);
}

static void test_revoked_certificate_gets_nothing(void **st)
{
	struct kg_err e;
	uint16_t code;

	(void)st;
	assert_int_equal(run("bash %s/provisioning/kg-user-revoke --ca %s --green %s"
			     " --red %s alice >/dev/null 2>&1", KG_TEST_TOP,
			     path("ca"), path("green"), path("red")), 0);
	kg_pki_free(pki);
	assert_int_equal(kg_pki_load(&pki, path("green/ca.pem"),
				     path("green/crl.pem"), &e), 0);
	n_live = 0;
	assert_int_equal(attempt("users/alice/alice.pem", "users/alice/alice.key",
				 &code), -EACCES);
	assert_int_equal(n_live, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alices_card_on_alices_tunnel_goes_live),
		cmocka_unit_test(test_bobs_card_on_alices_tunnel_gets_nothing),
		cmocka_unit_test(test_card_from_another_ca_gets_nothing),
		cmocka_unit_test(test_alices_certificate_with_another_key_gets_nothing),
		cmocka_unit_test(test_revoked_certificate_gets_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
