/* SPDX-License-Identifier: MIT */
/*
 * kg-sknock-batch: test helper that plays green's part of one batch of
 * renewals (docs/protocol.md, "Batched renewals"): build the batch from
 * -e entries, sign it once with the given host key, send it to red
 * (resending the same bytes while no answer comes), verify red's signed
 * batch answer and print one line per entry. -o saves the batch's bytes,
 * -i sends saved bytes again as they are (a captured batch replayed).
 * Exit: 0 every entry granted, 3 any refused, 4 no (valid) answer, 1
 * error, 2 usage.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "sknock_args.h"

struct opts {
	struct sknock_args a;
	struct kg_skrenews b;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: kg-sknock-batch -k GREEN_KEY -C RED_CERT -g GREEN_ID -r RED_ID\n"
		"        -e SESSION,SEQ,CLIENT,SERVICE[,LIFETIME] (1..%d times)\n"
		"        [-T OFFSET_S] [-b LOCAL_ADDR] [-I IFNAME]\n"
		"        [-o SAVE_FILE | -i REPLAY_FILE] RED_ADDR PORT\n",
		KG_SK_BATCH_MAX);
}

/* "SESSION,SEQ,CLIENT,SERVICE[,LIFETIME]" */
static int entry(const char *s, struct kg_sk_renew *e)
{
	char buf[160], *f[5] = { 0 }, *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t && n < 5;
	     t = strtok_r(NULL, ",", &save))
		f[n++] = t;
	if (n < 4 || kg_addr_parse(f[2], &e->client))
		return -1;
	e->session = strtoull(f[0], NULL, 0);
	e->seq = (uint32_t)strtoul(f[1], NULL, 0);
	snprintf(e->service, sizeof(e->service), "%s", f[3]);
	e->lifetime = n == 5 ? (uint32_t)strtoul(f[4], NULL, 0) : 60;
	return 0;
}

/* -e, the one option of its own */
static int own_opt(void *ctx, int c, const char *arg)
{
	struct kg_skrenews *b = ctx;

	if (c != 'e' || b->n >= KG_SK_BATCH_MAX || entry(arg, &b->e[b->n]))
		return -1;
	b->n++;
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	o->a.prog = "kg-sknock-batch";
	if (sknock_args_parse(&o->a, argc, argv, "e:", own_opt, &o->b) ||
	    (!o->a.replay && !o->b.n))
		return -1;
	snprintf(o->b.green_id, sizeof(o->b.green_id), "%s", o->a.green_id);
	snprintf(o->b.red_id, sizeof(o->b.red_id), "%s", o->a.red_id);
	return 0;
}

/* Builds and signs the batch into pkt. 0 or -errno. */
static int build(struct opts *o, const struct kg_hostkey *key, uint8_t *pkt,
		 size_t cap, size_t *len)
{
	uint8_t h[KG_SK_HASH_LEN], sig[KG_SK_SIG_MAX];
	size_t sn;
	int rc;

	o->b.timestamp = (uint64_t)(time(NULL) + o->a.offset);
	if ((rc = kg_random(o->b.nonce, sizeof(o->b.nonce))) ||
	    (rc = kg_skrenews_encode_body(&o->b, pkt, cap, len)))
		return rc;
	kg_sk_digest(pkt, *len, h);
	if ((rc = kg_hostkey_sign(key, h, sig, &sn)))
		return rc;
	return kg_sk_append_sig(pkt, cap, len, sig, sn);
}

static int print_answer(const struct kg_skrenews_answer *a)
{
	int ret = 0;

	for (unsigned i = 0; i < a->n; i++) {
		const struct kg_sk_renew_result *r = &a->r[i];

		if (r->result == KG_SK_GRANTED) {
			printf("entry=%u result=granted port=%u lease=%" PRIu32 "\n",
			       i, r->port, r->lease);
		} else {
			printf("entry=%u result=refused reason=%s\n", i,
			       kg_sk_reason_name(r->reason));
			ret = 3;
		}
	}
	return ret;
}

/* Waits for red's answer to the batch whose body hashes to hash,
 * resending pkt up to twice. */
static int exchange(int fd, const struct opts *o, X509 *cert,
		    const uint8_t hash[KG_SK_HASH_LEN], const uint8_t *pkt,
		    size_t len)
{
	static uint8_t buf[KG_SK_BATCH_PACKET_MAX + 1];
	static struct kg_skrenews_answer a;

	for (int sends = 0; sends < 3; sends++) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		kg_rc_sock_send(fd, &o->a.red, o->a.port, pkt, len);
		while (poll(&pf, 1, 700) > 0) {
			uint8_t h[KG_SK_HASH_LEN];
			struct kg_sk_view v;
			struct kg_addr src;
			enum kg_sk_err pe;
			ssize_t n = kg_rc_sock_recv(fd, buf, sizeof(buf), &src);

			if (n < 0)
				continue;
			pe = kg_skrenews_answer_parse(buf, (size_t)n, &a, &v);
			if (pe != KG_SK_E_OK) {
				fprintf(stderr, "kg-sknock-batch: ignored answer: %s\n",
					kg_sk_err_name(pe));
				continue;
			}
			kg_sk_digest(v.body, v.body_len, h);
			if (memcmp(a.knock_hash, hash, KG_SK_HASH_LEN) ||
			    kg_pki_verify_sig(cert, h, v.sig, v.sig_len) != KG_PKI_OK) {
				fprintf(stderr, "kg-sknock-batch: ignored answer: not ours or bad signature\n");
				continue;
			}
			return print_answer(&a);
		}
	}
	printf("result=no_answer\n");
	return 4;
}

int main(int argc, char **argv)
{
	static struct opts o;
	static uint8_t pkt[KG_SK_BATCH_PACKET_MAX];
	uint8_t hash[KG_SK_HASH_LEN];
	struct kg_hostkey *key = NULL;
	struct kg_sk_view v;
	size_t len = 0;
	X509 *cert = NULL;
	int fd = -1, ret = 1;

	if (parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (sknock_args_load(&o.a, &cert, &key))
		goto out;
	if (o.a.replay) {
		FILE *f = fopen(o.a.replay, "rb");

		len = f ? fread(pkt, 1, sizeof(pkt), f) : 0;
		if (f)
			fclose(f);
	} else if (build(&o, key, pkt, sizeof(pkt), &len)) {
		fprintf(stderr, "kg-sknock-batch: cannot build or sign\n");
		goto out;
	}
	if (kg_skrenews_parse(pkt, len, &o.b, &v) != KG_SK_E_OK) {
		fprintf(stderr, "kg-sknock-batch: not a batch\n");
		goto out;
	}
	kg_sk_digest(v.body, v.body_len, hash);
	if (sknock_args_socket(&o.a, &fd))
		goto out;
	sknock_args_save(&o.a, pkt, len);
	ret = exchange(fd, &o, cert, hash, pkt, len);
out:
	if (fd >= 0)
		close(fd);
	kg_hostkey_free(key);
	X509_free(cert);
	return ret;
}
