/* SPDX-License-Identifier: MIT */
/*
 * bench_grants: red's cost per grant operation as the number of live
 * grants grows (bench/grants runs it in a fresh network namespace).
 *
 * For each N it fills red's grant table and its nftables table (the real
 * table from red/rules.c, real grants4/grants6 and allowed4/allowed6
 * elements through red/apply.c) to N live grants, then times K operations
 * at that size through red's whole knock path (red/check.c: parse, one
 * ECDSA verification, window, idempotency, replay cache, plan; red/apply.c:
 * one netlink batch; the grant table's commit; for close the filtered
 * conntrack dump): K opens, K single renewals, K renewals in batches of
 * KG_SK_BATCH_MAX (one verification per batch), K closes (their
 * conntrack cuts flushed as the daemon does, a walk of the kernel's
 * conntrack table shared by the closes queued since the last flush),
 * and a close alone in its flush (one walk of its own); then the
 * daemon's timer ticks with nothing due, TICKS of them (the housekeeping
 * tick's lease expiry, held-port pruning and live count, and the hop
 * tick), CPU per tick on CLOCK_PROCESS_CPUTIME_ID. A software
 * signer (the protocol's vector key) stands in for green: every knock is
 * signed before the clock starts, so the figures are red's alone.
 *
 * CPU is getrusage(RUSAGE_SELF) user and system time (the kernel's
 * nftables and conntrack work runs in red's system calls), per operation,
 * and the ratio to the first N of the run. Clients are IPv6 tunnel
 * addresses (fd88::/64), IPv4 for the first 1,000 of each run.
 *
 * Usage: bench_grants VECTOR_DIR K N...   (root, in a network namespace)
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/pem.h>

#include "check.h"
#include "conf.h"
#include "crypto.h"
#include "log.h"
#include "nft.h"
#include "pki.h"
#include "red.h"
#include "rules.h"
#include "time.h"

static struct red r;
static struct kg_hostkey *key;
static X509 *cert;
static struct kg_addr green_link;

struct cpu {
	double user_us, sys_us, wall_us;
};

static double tv_us(struct timeval t)
{
	return (double)t.tv_sec * 1e6 + (double)t.tv_usec;
}

static void cpu_now(struct cpu *c)
{
	struct rusage ru;
	struct timespec ts;

	getrusage(RUSAGE_SELF, &ru);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	c->user_us = tv_us(ru.ru_utime);
	c->sys_us = tv_us(ru.ru_stime);
	c->wall_us = (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void cpu_since(const struct cpu *a, struct cpu *d)
{
	struct cpu b;

	cpu_now(&b);
	d->user_us = b.user_us - a->user_us;
	d->sys_us = b.sys_us - a->sys_us;
	d->wall_us = b.wall_us - a->wall_us;
}

static const char conf_text[] =
	"[red]\nid = red1\naddresses = 203.0.113.2\n"
	"ca = ca.pem\ncrl = crl.pem\nhost_key = host.key\nhost_cert = host.pem\n"
	"window = 300\nmax_lease = 300\nmax_grants = 262144\nreplay_cache = 1048576\n"
	"tunnel_range6 = fd88::/64\n"
	"[site]\ninterface = kgbench0\nprivate_key = site.key\npeer_public_key = AAAA\n"
	"address6 = fd89::2/64\n"
	"[green green1]\naddress = 203.0.113.1\ncert = green.pem\n"
	"[service web]\nport = 8080\npool = 1024-65535\n";

/* Client i: 10.88.x.y for i < 1000, else fd88::i. */
static void client_of(uint32_t i, struct kg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (i < 1000) {
		a->family = AF_INET;
		a->b[0] = 10;
		a->b[1] = 88;
		a->b[2] = (uint8_t)(i >> 8);
		a->b[3] = (uint8_t)i;
		return;
	}
	a->family = AF_INET6;
	a->b[0] = 0xfd;
	a->b[1] = 0x88;
	a->b[12] = (uint8_t)(i >> 24);
	a->b[13] = (uint8_t)(i >> 16);
	a->b[14] = (uint8_t)(i >> 8);
	a->b[15] = (uint8_t)i;
}

/* Sessions of the fill are 1 << 32 + i; those of the measured grants
 * come after every fill (1 << 40 + a counter), so that a later fill never
 * meets a measured grant's closed session. */
static uint64_t session_of(uint32_t i, bool measured)
{
	return (measured ? (1ULL << 40) : (1ULL << 32)) + i;
}

static void knock_of(uint32_t i, bool measured, uint8_t action, uint32_t seq,
		     uint64_t ts, struct kg_sknock *k)
{
	memset(k, 0, sizeof(*k));
	k->action = action;
	strcpy(k->green_id, "green1");
	strcpy(k->red_id, "red1");
	k->session = session_of(i, measured);
	k->seq = seq;
	client_of(i, &k->client);
	strcpy(k->service, "web");
	k->lifetime = 300;
	k->timestamp = ts;
	kg_random(k->nonce, sizeof(k->nonce));
}

struct pkt {
	uint8_t b[KG_SK_BATCH_PACKET_MAX];
	size_t n;
};

static int sign_body(struct pkt *p)
{
	uint8_t h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	size_t sn;

	kg_sk_digest(p->b, p->n, h);
	if (kg_hostkey_sign(key, h, sig, &sn))
		return -1;
	return kg_sk_append_sig(p->b, sizeof(p->b), &p->n, sig, sn);
}

static int sign_knock(const struct kg_sknock *k, struct pkt *p)
{
	if (kg_sknock_encode_body(k, p->b, sizeof(p->b), &p->n))
		return -1;
	return sign_body(p);
}

/* One knock through red's path, as red_knock does it minus the answer's
 * signature and send (those are the same per operation at any N). */
static int one_knock(const struct pkt *p)
{
	struct kg_red_outcome o;
	struct kg_err e = { "" };
	int64_t now = kg_wall_s(), mono = kg_mono_s();
	uint32_t rnd;

	kg_random(&rnd, sizeof(rnd));
	kg_red_check(&r.st, &green_link, p->b, p->n, now, mono, rnd, &o);
	if (o.verdict != KG_V_ANSWER || strcmp(o.result, "accepted"))
		return -1;
	if (red_apply(&r, &o.plan, &e))
		return -1;
	kg_grants_commit(&r.st.grants, &o.k, o.hash, &o.plan, mono);
	return 0;
}

static int one_batch(const struct pkt *p, unsigned *done)
{
	static struct kg_red_batch b;
	int64_t now = kg_wall_s(), mono = kg_mono_s();
	unsigned acc = 0;

	if (kg_red_batch_open(&r.st, &green_link, p->b, p->n, &b))
		return -1;
	for (unsigned i = 0; i < b.r.n; i++) {
		struct kg_red_outcome o;
		struct kg_err e = { "" };
		uint32_t rnd;

		kg_random(&rnd, sizeof(rnd));
		kg_red_batch_entry(&r.st, &b, i, now, mono, rnd, &o);
		if (strcmp(o.result, "accepted") || red_apply(&r, &o.plan, &e))
			return -1;
		kg_grants_commit(&r.st.grants, &o.k, o.hash, &o.plan, mono);
		acc++;
	}
	*done += acc;
	return kg_red_batch_close(&r.st, &b, acc, now);
}

/* Fills to n live grants through plan, apply, commit (no signature:
 * the fill is not measured). */
/* The process's resident memory in KiB (VmRSS), 0 if unreadable: red's
 * own state per grant is the slope between two N (the grant table is
 * allocated at start, touched as slots are used). */
static long rss_kib(void)
{
	char line[128];
	long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static int fill(uint32_t from, uint32_t n)
{
	static const struct kg_hop_conf pool = {
		.pool = { { 1024, 65535 } }, .n_pool = 1
	};
	int64_t mono = kg_mono_s();

	for (uint32_t i = from; i < n; i++) {
		struct kg_sknock k;
		struct kg_plan plan;
		struct kg_err e = { "" };
		uint8_t h[KG_SK_HASH_LEN];
		uint32_t rnd;

		knock_of(i, false, KG_SK_OPEN, 1, (uint64_t)kg_wall_s(), &k);
		kg_random(h, sizeof(h));
		kg_random(&rnd, sizeof(rnd));
		kg_grants_plan(&r.st.grants, &k, h, 8080, &pool, rnd, mono,
			       &plan);
		if (plan.op != KG_PLAN_MAP) {
			fprintf(stderr, "fill: grant %u refused: %s\n", i,
				kg_sk_reason_name(plan.reason));
			return -1;
		}
		if (red_apply(&r, &plan, &e)) {
			fprintf(stderr, "fill: nft: %s\n", e.msg);
			return -1;
		}
		kg_grants_commit(&r.st.grants, &k, h, &plan, mono);
	}
	return 0;
}

#define TICKS 2000

struct row {
	uint32_t n;
	double us[6];   /* open, renew, batch renew (per entry), close, a
			   close alone in its cut flush, a timer tick */
};

static const char *const op_names[6] = {
	"open", "renew", "renew_batched", "close", "close_alone", "tick",
};

static double cpu_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* What red's timers do each tick (red/daemon.c on_timer, on_hop_timer),
 * less the status line and metrics file: with N grants live and none
 * due, this is the cost that must not grow with N. */
static double tick_us(void)
{
	double t0 = cpu_clock_us();
	size_t live = 0;

	for (int i = 0; i < TICKS; i++) {
		kg_grants_expire(&r.st.grants, kg_mono_s(), red_lease_ended, &r);
		red_hop_prune(&r);
		live += kg_grants_live(&r.st.grants);
		red_hop_tick(&r);
	}
	if (!live)
		fprintf(stderr, "tick: no live grant\n");
	return (cpu_clock_us() - t0) / TICKS;
}

/* K grants beyond N: open, renew, batch renew, close, each timed. */
static int measure(uint32_t n, uint32_t k, struct row *row)
{
	static uint32_t next;       /* measured grants so far, all N */
	static struct pkt *opens, *renews, *closes, *batches;
	uint32_t nb = (k + KG_SK_BATCH_MAX - 1) / KG_SK_BATCH_MAX;
	uint64_t ts = (uint64_t)kg_wall_s();
	struct cpu t0, d;
	unsigned done = 0;
	int rc = -1;

	opens = calloc(k, sizeof(*opens));
	renews = calloc(k, sizeof(*renews));
	closes = calloc(k, sizeof(*closes));
	batches = calloc(nb, sizeof(*batches));
	if (!opens || !renews || !closes || !batches)
		goto out;
	for (uint32_t j = 0; j < k; j++) {
		struct kg_sknock kn;

		knock_of(next + j, true, KG_SK_OPEN, 1, ts, &kn);
		if (sign_knock(&kn, &opens[j]))
			goto out;
		knock_of(next + j, true, KG_SK_RENEW, 2, ts, &kn);
		if (sign_knock(&kn, &renews[j]))
			goto out;
		knock_of(next + j, true, KG_SK_CLOSE, 4, ts, &kn);
		if (sign_knock(&kn, &closes[j]))
			goto out;
	}
	for (uint32_t b = 0; b < nb; b++) {
		struct kg_skrenews br = { .timestamp = ts };

		strcpy(br.green_id, "green1");
		strcpy(br.red_id, "red1");
		kg_random(br.nonce, sizeof(br.nonce));
		for (uint32_t j = b * KG_SK_BATCH_MAX; j < k && br.n < KG_SK_BATCH_MAX; j++) {
			struct kg_sk_renew *e = &br.e[br.n++];

			e->session = session_of(next + j, true);
			e->seq = 3;
			client_of(next + j, &e->client);
			strcpy(e->service, "web");
			e->lifetime = 300;
		}
		if (kg_skrenews_encode_body(&br, batches[b].b, sizeof(batches[b].b),
					    &batches[b].n) || sign_body(&batches[b]))
			goto out;
	}

	struct pkt *sets[3] = { opens, renews, closes };
	int idx[3] = { 0, 1, 3 };

	for (int s = 0; s < 3; s++) {
		if (s == 2) {
			cpu_now(&t0);
			for (uint32_t b = 0; b < nb; b++)
				if (one_batch(&batches[b], &done)) {
					fprintf(stderr, "N=%u: batch %u refused\n", n, b);
					goto out;
				}
			cpu_since(&t0, &d);
			row->us[2] = (d.user_us + d.sys_us) / done;
		}
		cpu_now(&t0);
		for (uint32_t j = 0; j < k; j++) {
			if (one_knock(&sets[s][j])) {
				fprintf(stderr, "N=%u: %s %u refused\n", n,
					op_names[idx[s]], j);
				goto out;
			}
			/* the daemon flushes queued cuts every RED_CUT_MS */
			if (r.n_cut == KG_RED_CUT_Q)
				red_cut_flush(&r);
		}
		red_cut_flush(&r);
		cpu_since(&t0, &d);
		row->us[idx[s]] = (d.user_us + d.sys_us) / k;
	}
	/* a close alone in its flush: one conntrack dump of its own */
	cpu_now(&t0);
	for (int j = 0; j < 10; j++) {
		struct kg_addr a;

		client_of(next + (uint32_t)j, &a);
		kg_ct_cut_flows(&a, 40000, NULL);
	}
	cpu_since(&t0, &d);
	row->us[4] = (d.user_us + d.sys_us) / 10;
	row->us[5] = tick_us();
	row->n = n;
	next += k;
	rc = 0;
out:
	free(opens);
	free(renews);
	free(closes);
	free(batches);
	return rc;
}

static int setup(const char *vec_dir, struct kg_err *e)
{
	char path[512], *text = malloc(1 << 16);
	struct kg_conf c;
	FILE *f;
	int rc;

	if (!text)
		return -ENOMEM;
	if ((rc = kg_conf_parse(&c, "bench-red.conf", conf_text,
				strlen(conf_text), e)))
		goto out;
	rc = kg_red_config_from(&r.cfg, &c, "/nonexistent", e);
	kg_conf_free(&c);
	if (rc)
		goto out;
	snprintf(path, sizeof(path), "%s/vector-green-test.pem", vec_dir);
	f = fopen(path, "r");
	cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/vector-green-test.key", vec_dir);
	if (!cert || (rc = kg_hostkey_load(&key, path, e))) {
		kg_err_set(e, "vector key or certificate in %s", vec_dir);
		rc = -ENOENT;
		goto out;
	}
	if ((rc = kg_red_state_init(&r.st, &r.cfg, kg_wall_s() - 10)))
		goto out;
	r.st.green_cert[0] = cert;
	green_link = r.cfg.site.peer_address;
	if ((rc = kg_red_render_rules(&r.cfg, text, 1 << 16)) ||
	    (rc = kg_nft_open(&r.nft, KG_RED_TABLE, e)) ||
	    (rc = kg_nft_table_replace(r.nft, text, false, e)))
		goto out;
out:
	free(text);
	return rc;
}

int main(int argc, char **argv)
{
	struct row rows[16];
	struct kg_err e = { "" };
	uint32_t k, have = 0;
	int nrows = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_grants VECTOR_DIR K N...\n");
		return 2;
	}
	kg_log_init("bench_grants", KG_LOG_ERR);
	k = (uint32_t)strtoul(argv[2], NULL, 10);
	if (setup(argv[1], &e)) {
		fprintf(stderr, "bench_grants: %s\n", e.msg);
		return 1;
	}
	printf("red grants: CPU per operation (user+system, us) at N live grants; K=%u each\n", k);
	printf("%10s %10s %10s %15s %10s %12s %8s %9s   ratio to N=%s (open renew batched close alone tick)\n",
	       "N", "open", "renew", "renew_batched", "close", "close_alone",
	       "tick", "rss_kib", argv[3]);
	for (int a = 3; a < argc && nrows < 16; a++) {
		uint32_t n = (uint32_t)strtoul(argv[a], NULL, 10);
		struct row *w = &rows[nrows];

		/* ports are pooled per client (red/hop.c): only the grant
		 * table bounds N */
		if (n + k > r.cfg.max_grants) {
			printf("%10u   not reachable: red holds at most %u grants\n",
			       n, r.cfg.max_grants);
			continue;
		}
		if (fill(have, n)) {
			printf("%10u   fill failed\n", n);
			break;
		}
		have = n;
		if (measure(n, k, w)) {
			printf("%10u   measure failed\n", n);
			break;
		}
		printf("%10u %10.1f %10.1f %15.1f %10.1f %12.1f %8.2f %9ld  ", n,
		       w->us[0], w->us[1], w->us[2], w->us[3], w->us[4], w->us[5],
		       rss_kib());
		for (int o = 0; o < 6; o++)
			printf(" %5.2f", w->us[o] / rows[0].us[o]);
		printf("\n");
		fflush(stdout);
		nrows++;
	}
	kg_red_state_free(&r.st);
	kg_nft_close(r.nft);
	kg_hostkey_free(key);
	X509_free(cert);
	return 0;
}
