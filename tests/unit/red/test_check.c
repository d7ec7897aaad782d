/* SPDX-License-Identifier: MIT */
/* Red's decision on one knock: authenticity (dropped, never answered),
 * then named red, window, replay and idempotency (answered refusals).
 * Signed with the test vector key of docs/protocol.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>

#include "check.h"
#include "pki.h"
#include "sk_vectors.h"

#ifndef VEC_DIR
#error VEC_DIR must name tests/unit/red
#endif

#define NOW 1795315200
/* Red's monotonic clock at wall time t: far from the wall clock on
 * purpose, so a lease computed from the wrong clock shows. */
#define MONO(t) ((t) - NOW + 5000)

static const char conf_text[] =
	"[red]\n"
	"id = red1\n"
	"addresses = 203.0.113.2\n"
	"ca = ca.pem\ncrl = crl.pem\nhost_key = host.key\nhost_cert = host.pem\n"
	"window = 30\nmax_lease = 300\n"
	"never_ban = 203.0.113.1\n"
	"[site]\nprivate_key = site.key\npeer_public_key = AAAA\n"
	"peer_endpoint = 203.0.113.1:51821\n"
	"[green green1]\naddress = 203.0.113.1\ncert = green.pem\n"
	"[service web]\nport = 8080\npool = 40000-40099\n";

static struct kg_red_config cfg;
static struct kg_red_state st;
static X509 *cert;
static struct kg_hostkey *key;
static struct kg_addr green_addr;

static int setup(void **state)
{
	struct kg_conf c;
	struct kg_err e;
	FILE *f;

	(void)state;
	assert_int_equal(kg_conf_parse(&c, "red.conf", conf_text,
				       strlen(conf_text), &e), 0);
	if (kg_red_config_from(&cfg, &c, "/etc/knockgate", &e))
		fail_msg("%s", e.msg);
	kg_conf_free(&c);
	f = fopen(VEC_DIR "/vector-green-test.pem", "r");
	assert_non_null(f);
	cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(cert);
	assert_int_equal(kg_hostkey_load(&key, VEC_DIR "/vector-green-test.key",
					 &e), 0);
	assert_int_equal(kg_red_state_init(&st, &cfg, NOW - 100), 0);
	st.green_cert[0] = cert;
	/* knocks come from green's end of the site link ([site]
	 * peer_address, the lone green's default link_address) */
	kg_addr_parse("10.89.0.1", &green_addr);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	kg_red_state_free(&st);
	X509_free(cert);
	kg_hostkey_free(key);
	return 0;
}

struct pkt {
	uint8_t b[KG_SK_PACKET_MAX];
	size_t n;
};

static void sign(const struct kg_sknock *k, struct pkt *p)
{
	uint8_t h[32], sig[KG_SK_SIG_MAX];
	size_t sn;

	assert_int_equal(kg_sknock_encode_body(k, p->b, sizeof(p->b), &p->n), 0);
	kg_sk_digest(p->b, p->n, h);
	assert_int_equal(kg_hostkey_sign(key, h, sig, &sn), 0);
	assert_int_equal(kg_sk_append_sig(p->b, sizeof(p->b), &p->n, sig, sn), 0);
}

/* Checks a knock and, like the daemon once nft took it, commits it. */
static void knock(const struct kg_sknock *k, const struct kg_addr *src,
		  int64_t now, struct kg_red_outcome *o)
{
	struct pkt p;

	sign(k, &p);
	kg_red_check(&st, src, p.b, p.n, now, MONO(now), 5, o);
	if (o->verdict == KG_V_ANSWER)
		kg_grants_commit(&st.grants, &o->k, o->hash, &o->plan, MONO(now));
}

static void test_vector_signature_verifies_with_vector_cert(void **state)
{
	uint8_t h[32], sig[KG_SK_SIG_MAX];
	size_t n;

	(void)state;
	assert_int_equal(kg_hex_decode(VEC_KNOCK_HASH, h, 32), 0);
	n = strlen(VEC_KNOCK_SIG) / 2;
	assert_int_equal(kg_hex_decode(VEC_KNOCK_SIG, sig, n), 0);
	assert_int_equal(kg_pki_verify_sig(cert, h, sig, n), KG_PKI_OK);
	h[0] ^= 1;
	assert_int_not_equal(kg_pki_verify_sig(cert, h, sig, n), KG_PKI_OK);
}

static void test_valid_knock_is_accepted_with_a_pool_port(void **state)
{
	struct kg_sknock k;
	struct kg_red_outcome o;

	(void)state;
	vec_knock(&k);
	knock(&k, &green_addr, NOW, &o);
	assert_int_equal(o.verdict, KG_V_ANSWER);
	assert_string_equal(o.result, "accepted");
	assert_int_equal(o.plan.op, KG_PLAN_MAP);
	assert_int_equal(o.plan.port, 40005);
	assert_int_equal(o.plan.real_port, 8080);
	assert_int_equal(o.plan.answer.result, KG_SK_GRANTED);
	assert_string_equal(o.plan.answer.red_id, "red1");
	/* the lease on red's monotonic clock, a duration on the wire, the
	 * answer stamped with the wall clock */
	assert_int_equal(o.plan.lease_end, MONO(NOW) + 60);
	assert_int_equal(o.plan.answer.lease, 60);
	assert_int_equal(o.plan.answer.timestamp, NOW);
}

static void test_knock_from_non_green_address_is_dropped(void **state)
{
	struct kg_sknock k;
	struct kg_red_outcome o;
	struct kg_addr insider, green_inside;

	(void)state;
	vec_knock(&k);
	kg_addr_parse("203.0.113.66", &insider);
	knock(&k, &insider, NOW, &o);
	assert_int_equal(o.verdict, KG_V_DROP);
	assert_string_equal(o.reason, "not_green");
	/* green's inside address is no knock source any more: knocks travel
	 * inside the site link only */
	kg_addr_parse("203.0.113.1", &green_inside);
	knock(&k, &green_inside, NOW, &o);
	assert_int_equal(o.verdict, KG_V_DROP);
	assert_string_equal(o.reason, "not_green");
}

static void test_each_signed_field_altered_is_dropped_as_bad_signature(void **state)
{
	struct kg_sknock k;
	struct kg_red_outcome o;
	struct pkt p;
	/* session, seq, client, lifetime, timestamp, nonce in the vector */
	static const size_t offs[] = { 19, 27, 35, 43, 51, 60 };

	(void)state;
	vec_knock(&k);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		sign(&k, &p);
		p.b[offs[i]] ^= 0x01;
		kg_red_check(&st, &green_addr, p.b, p.n, NOW, MONO(NOW), 5, &o);
		assert_int_equal(o.verdict, KG_V_DROP);
		assert_string_equal(o.reason, "bad_signature");
	}
	assert_int_equal(kg_grants_live(&st.grants), 0);
}

static void test_knock_naming_another_green_is_dropped(void **state)
{
	struct kg_sknock k;
	struct kg_red_outcome o;

	(void)state;
	vec_knock(&k);
	strcpy(k.green_id, "green2");
	knock(&k, &green_addr, NOW, &o);
	assert_int_equal(o.verdict, KG_V_DROP);
	assert_string_equal(o.reason, "wrong_green");
}

static void expect_refused(struct kg_sknock *k, int64_t now, const char *why)
{
	struct kg_red_outcome o;

	knock(k, &green_addr, now, &o);
	assert_int_equal(o.verdict, KG_V_ANSWER);
	assert_string_equal(o.result, "refused");
	assert_string_equal(o.reason, why);
	assert_int_equal(o.plan.answer.result, KG_SK_REFUSED);
	assert_int_equal(kg_grants_live(&st.grants), 0);
}

static void test_knock_for_another_red_is_refused(void **state)
{
	struct kg_sknock k;

	(void)state;
	vec_knock(&k);
	strcpy(k.red_id, "red2");
	expect_refused(&k, NOW, "wrong_red");
}

static void test_knocks_outside_window_or_before_start_are_refused(void **state)
{
	struct kg_sknock k;

	(void)state;
	vec_knock(&k);
	expect_refused(&k, NOW + 31, "outside_window");
	expect_refused(&k, NOW - 31, "outside_window");
	k.timestamp = NOW - 101;
	expect_refused(&k, NOW - 90, "before_start");
}

/* Red's wall clock steps back an hour, and so does green's: green's
 * renewals, stamped an hour "before" red's start, are not before_start
 * (red started 100 s ago on its monotonic clock). */
static void test_before_start_follows_a_wall_clock_step(void **state)
{
	struct kg_sknock k;
	struct kg_red_outcome o;
	struct pkt p;

	(void)state;
	st.started_mono = MONO(NOW - 100);
	vec_knock(&k);
	k.timestamp = NOW - 3600;
	sign(&k, &p);
	kg_red_check(&st, &green_addr, p.b, p.n, NOW - 3600, MONO(NOW), 5, &o);
	assert_string_equal(o.result, "accepted");
	assert_int_equal(o.plan.lease_end, MONO(NOW) + 60);
	/* and stamped before the start in that frame: still refused */
	vec_knock(&k);
	k.seq++;
	k.timestamp = NOW - 3600 - 101;
	sign(&k, &p);
	kg_red_check(&st, &green_addr, p.b, p.n, NOW - 3600 - 90, MONO(NOW - 90), 5, &o);
	assert_string_equal(o.reason, "before_start");
}

static void test_unknown_service_and_foreign_client_are_refused(void **state)
{
	struct kg_sknock k;

	(void)state;
	vec_knock(&k);
	strcpy(k.service, "ssh");
	expect_refused(&k, NOW, "unknown_service");
	vec_knock(&k);
	kg_addr_parse("203.0.113.66", &k.client);
	expect_refused(&k, NOW, "bad_client");
}

static void test_repeat_is_answered_and_replay_after_close_is_refused(void **state)
{
	struct kg_sknock open, close;
	struct kg_red_outcome o;
	struct pkt p;

	(void)state;
	vec_knock(&open);
	sign(&open, &p);
	kg_red_check(&st, &green_addr, p.b, p.n, NOW, MONO(NOW), 5, &o);
	kg_grants_commit(&st.grants, &o.k, o.hash, &o.plan, MONO(NOW));
	/* the same packet again (a retry, or a copy from green's address) */
	kg_red_check(&st, &green_addr, p.b, p.n, NOW + 1, MONO(NOW + 1), 9, &o);
	assert_string_equal(o.result, "repeat");
	assert_int_equal(o.plan.answer.port, 40005);
	close = open;
	close.action = KG_SK_CLOSE;
	close.seq++;
	knock(&close, &green_addr, NOW + 2, &o);
	assert_string_equal(o.result, "accepted");
	assert_int_equal(o.plan.op, KG_PLAN_UNMAP);
	/* the captured open, replayed after the close */
	kg_red_check(&st, &green_addr, p.b, p.n, NOW + 3, MONO(NOW + 3), 9, &o);
	assert_string_equal(o.result, "refused");
	assert_string_equal(o.reason, "replay");
	assert_int_equal(kg_grants_live(&st.grants), 0);
}

/* Two greens, each its own tunnel range: a green's knock for a client
 * in the other's range is refused (bad_client); for its own, granted.
 * (Both greens sign with the test vector key here.) */
static void test_a_green_cannot_grant_another_greens_clients(void **state)
{
	static const char two[] =
		"[red]\nid = red1\naddresses = 203.0.113.2\n"
		"ca = ca.pem\ncrl = crl.pem\nhost_key = host.key\nhost_cert = host.pem\n"
		"window = 30\nmax_lease = 300\n"
		"[site]\nprivate_key = site.key\npeer_public_key = AAAA\n"
		"address = 10.89.0.2/29\n"
		"[green green1]\naddress = 203.0.113.1\ncert = green.pem\n"
		"link_address = 10.89.0.1\ntunnel_range = 10.88.0.0/17\n"
		"[green green2]\naddress = 203.0.113.3\ncert = green2.pem\n"
		"link_address = 10.89.0.3\ntunnel_range = 10.88.128.0/17\n"
		"site_public_key = BBBB\n"
		"[service web]\nport = 8080\npool = 40000-40099\n";
	static struct kg_red_config cfg2;
	struct kg_red_state st2;
	struct kg_sknock k;
	struct kg_red_outcome o;
	struct kg_addr link2;
	struct kg_conf c;
	struct kg_err e;
	struct pkt p;

	(void)state;
	assert_int_equal(kg_conf_parse(&c, "red.conf", two, strlen(two), &e), 0);
	if (kg_red_config_from(&cfg2, &c, "/etc/knockgate", &e))
		fail_msg("%s", e.msg);
	kg_conf_free(&c);
	assert_int_equal(kg_red_state_init(&st2, &cfg2, NOW - 100), 0);
	st2.green_cert[0] = st2.green_cert[1] = cert;
	kg_addr_parse("10.89.0.3", &link2);
	vec_knock(&k);                      /* client 10.88.1.10: green1's */
	snprintf(k.green_id, sizeof(k.green_id), "green2");
	sign(&k, &p);
	kg_red_check(&st2, &link2, p.b, p.n, NOW, MONO(NOW), 5, &o);
	assert_int_equal(o.verdict, KG_V_ANSWER);
	assert_string_equal(o.result, "refused");
	assert_string_equal(o.reason, "bad_client");
	kg_addr_parse("10.88.129.10", &k.client);
	sign(&k, &p);
	kg_red_check(&st2, &link2, p.b, p.n, NOW, MONO(NOW), 5, &o);
	assert_string_equal(o.result, "accepted");
	st2.green_cert[0] = st2.green_cert[1] = NULL;
	kg_red_state_free(&st2);
}

/* The vector batch with its stored signature: checked once, then entry
 * by entry; the same bytes again repeat; one byte altered is dropped. */
static void batch_entries(const uint8_t *pkt, size_t n, int64_t now,
			  struct kg_red_outcome o[2], int *dropped)
{
	static struct kg_red_batch b;
	unsigned acc = 0;

	*dropped = kg_red_batch_open(&st, &green_addr, pkt, n, &b) != 0;
	if (*dropped)
		return;
	for (unsigned i = 0; i < b.r.n && i < 2; i++) {
		kg_red_batch_entry(&st, &b, i, now, MONO(now), 5, &o[i]);
		if (!strcmp(o[i].result, "accepted")) {
			kg_grants_commit(&st.grants, &o[i].k, o[i].hash,
					 &o[i].plan, MONO(now));
			acc++;
		}
	}
	assert_int_equal(kg_red_batch_close(&st, &b, acc, now), 0);
}

static void test_batch_verified_once_and_decided_per_entry(void **state)
{
	static uint8_t pkt[KG_SK_BATCH_PACKET_MAX];
	struct kg_red_outcome o[2], first;
	struct kg_sknock k;
	uint8_t sig[KG_SK_SIG_MAX];
	size_t n, sn;
	int dropped;

	(void)state;
	vec_knock(&k);                 /* open: session 0x0102..., seq 7 */
	knock(&k, &green_addr, NOW, &first);
	assert_string_equal(first.result, "accepted");
	n = strlen(VEC_BATCH_BODY) / 2;
	assert_int_equal(kg_hex_decode(VEC_BATCH_BODY, pkt, n), 0);
	sn = strlen(VEC_BATCH_SIG) / 2;
	assert_int_equal(kg_hex_decode(VEC_BATCH_SIG, sig, sn), 0);
	assert_int_equal(kg_sk_append_sig(pkt, sizeof(pkt), &n, sig, sn), 0);

	batch_entries(pkt, n, NOW + 1, o, &dropped);
	assert_false(dropped);
	/* entry 0 renews the open grant (same port), entry 1 names a
	 * service this red does not have */
	assert_string_equal(o[0].result, "accepted");
	assert_int_equal(o[0].plan.op, KG_PLAN_EXTEND);
	assert_int_equal(o[0].plan.answer.port, first.plan.answer.port);
	assert_int_equal(o[0].k.action, KG_SK_RENEW);
	assert_string_equal(o[1].result, "refused");
	assert_int_equal(o[1].plan.answer.reason, KG_SK_R_UNKNOWN_SERVICE);

	/* the same batch again: entry 0 answered from the cache */
	batch_entries(pkt, n, NOW + 2, o, &dropped);
	assert_false(dropped);
	assert_string_equal(o[0].result, "repeat");
	assert_int_equal(o[0].plan.answer.port, first.plan.answer.port);

	/* any signed byte altered (entry 1's seq): no entry is decided */
	pkt[73] ^= 1;
	batch_entries(pkt, n, NOW + 2, o, &dropped);
	assert_true(dropped);
}

#define T_(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T_(test_vector_signature_verifies_with_vector_cert),
		T_(test_valid_knock_is_accepted_with_a_pool_port),
		T_(test_knock_from_non_green_address_is_dropped),
		T_(test_each_signed_field_altered_is_dropped_as_bad_signature),
		T_(test_knock_naming_another_green_is_dropped),
		T_(test_knock_for_another_red_is_refused),
		T_(test_knocks_outside_window_or_before_start_are_refused),
		T_(test_before_start_follows_a_wall_clock_step),
		T_(test_unknown_service_and_foreign_client_are_refused),
		T_(test_repeat_is_answered_and_replay_after_close_is_refused),
		T_(test_a_green_cannot_grant_another_greens_clients),
		T_(test_batch_verified_once_and_decided_per_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
