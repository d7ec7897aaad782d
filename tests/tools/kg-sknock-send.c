/* SPDX-License-Identifier: MIT */
/*
 * kg-sknock-send: test helper that plays green's part of one signed knock
 * with green/red_client.c: build, sign with the given host key, send to
 * red, resend a bounded number of times, verify and print red's answer.
 * -o saves the knock's bytes, -i sends saved bytes again as they are (a
 * captured knock replayed). Green sends knocks inside the site link, so
 * the tests run this in green's namespace with -b green's link address
 * (-I the site interface to pin it there) and red's link address as
 * RED_ADDR. Prints one line of key=value pairs.
 * Exit: 0 granted/closed, 3 refused, 4 no (valid) answer, 1 error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>

#include "pki.h"
#include "red_client.h"

struct opts {
	const char *key, *cert, *save, *replay, *bind, *dev;
	struct kg_sknock k;
	long offset;
	unsigned wait_ms;
	struct kg_addr red;
	uint16_t port;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kg-sknock-send -k GREEN_KEY -C RED_CERT -g GREEN_ID -r RED_ID\n"
		"        -a open|renew|close -s SESSION -q SEQ -c CLIENT -S SERVICE\n"
		"        [-l LIFETIME] [-T OFFSET_S] [-w WAIT_MS] [-b LOCAL_ADDR]\n"
		"        [-I IFNAME]\n"
		"        [-o SAVE_FILE | -i REPLAY_FILE] RED_ADDR PORT\n");
}

static int action_of(const char *s)
{
	return !strcmp(s, "open") ? KG_SK_OPEN : !strcmp(s, "renew") ?
	       KG_SK_RENEW : !strcmp(s, "close") ? KG_SK_CLOSE : 0;
}

static int parse(int argc, char **argv, struct opts *o, char *g, char *r)
{
	int c;

	o->k.lifetime = 60;
	o->wait_ms = 700;
	while ((c = getopt(argc, argv, "k:C:g:r:a:s:q:c:S:l:T:w:b:I:o:i:")) != -1) {
		switch (c) {
		case 'k': o->key = optarg; break;
		case 'C': o->cert = optarg; break;
		case 'g': snprintf(g, KG_SK_ID_MAX + 1, "%s", optarg); break;
		case 'r': snprintf(r, KG_SK_ID_MAX + 1, "%s", optarg); break;
		case 'a': o->k.action = (uint8_t)action_of(optarg); break;
		case 's': o->k.session = strtoull(optarg, NULL, 0); break;
		case 'q': o->k.seq = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': if (kg_addr_parse(optarg, &o->k.client)) return -1; break;
		case 'S': snprintf(o->k.service, sizeof(o->k.service), "%s", optarg); break;
		case 'l': o->k.lifetime = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'T': o->offset = strtol(optarg, NULL, 0); break;
		case 'w': o->wait_ms = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'b': o->bind = optarg; break;
		case 'I': o->dev = optarg; break;
		case 'o': o->save = optarg; break;
		case 'i': o->replay = optarg; break;
		default: return -1;
		}
	}
	if (argc - optind != 2 || kg_addr_parse(argv[optind], &o->red) ||
	    !o->cert || (!o->replay && (!o->key || !o->k.action)))
		return -1;
	o->port = (uint16_t)strtoul(argv[optind + 1], NULL, 10);
	return 0;
}

static X509 *load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;

	if (f)
		fclose(f);
	return x;
}

struct io {
	int fd;
	const struct opts *o;
	bool gave_up;
};

static void send_cb(void *ctx, const uint8_t *pkt, size_t len)
{
	struct io *io = ctx;

	kg_rc_sock_send(io->fd, &io->o->red, io->o->port, pkt, len);
}

static void gave_up_cb(void *ctx, const struct kg_rc_pending *p)
{
	(void)p;
	((struct io *)ctx)->gave_up = true;
}

/* A saved knock, pending as if we had just sent it. */
static int load_replay(struct kg_red_client *rc, const char *path, uint64_t now)
{
	uint8_t buf[KG_SK_PACKET_MAX];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return kg_rc_adopt(rc, buf, n, now);
}

static int start(struct kg_red_client *rc, const struct opts *o,
		 struct kg_hostkey *key, X509 *cert, const char *g,
		 const char *r, const uint8_t **pkt, size_t *len)
{
	uint64_t now = now_ms();
	int rc_;

	if ((rc_ = kg_rc_init(rc, g[0] ? g : "x", r[0] ? r : "x", key, cert,
			      4, 3, o->wait_ms)))
		return rc_;
	if (o->replay) {
		rc_ = load_replay(rc, o->replay, now);
		*pkt = rc->p[0].pkt;
		*len = rc->p[0].len;
		return rc_;
	}
	return kg_rc_request(rc, &o->k, now + (uint64_t)(o->offset * 1000),
			     NULL, pkt, len);
}

static int print_answer(const struct kg_skanswer *a)
{
	if (a->result == KG_SK_GRANTED) {
		printf("result=granted port=%u lease=%" PRIu32 "\n", a->port,
		       a->lease);
		return 0;
	}
	if (a->result == KG_SK_CLOSED) {
		printf("result=closed\n");
		return 0;
	}
	printf("result=refused reason=%s\n", kg_sk_reason_name(a->reason));
	return 3;
}

static int exchange(struct kg_red_client *rc, struct io *io, uint32_t wait)
{
	uint8_t buf[KG_SK_PACKET_MAX + 1];
	struct kg_skanswer a;
	struct kg_sknock req;
	struct kg_addr src;
	enum kg_sk_err why;

	while (!io->gave_up) {
		struct pollfd pf = { .fd = io->fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pf, 1, (int)wait) > 0) {
			n = kg_rc_sock_recv(io->fd, buf, sizeof(buf), &src);
			if (n < 0)
				continue;
			enum kg_rc_result res = kg_rc_answer(rc, buf, (size_t)n, &a,
							     &req, NULL, &why);
			if (res == KG_RC_OK)
				return print_answer(&a);
			fprintf(stderr, "kg-sknock-send: ignored answer: %s\n",
				kg_rc_result_name(res));
		}
		wait = kg_rc_tick(rc, now_ms(), send_cb, gave_up_cb, io);
	}
	printf("result=no_answer\n");
	return 4;
}

int main(int argc, char **argv)
{
	static struct opts o;
	char g[KG_SK_ID_MAX + 1] = "", r[KG_SK_ID_MAX + 1] = "";
	struct kg_red_client rc = { 0 };
	struct kg_hostkey *key = NULL;
	struct kg_addr local = { 0 };
	struct io io = { .fd = -1, .o = &o };
	struct kg_err e = { "" };
	const uint8_t *pkt;
	size_t len;
	X509 *cert;
	int ret = 1;

	if (parse(argc, argv, &o, g, r)) {
		usage();
		return 2;
	}
	cert = load_cert(o.cert);
	if (!cert || (o.key && kg_hostkey_load(&key, o.key, &e))) {
		fprintf(stderr, "kg-sknock-send: %s\n", e.msg[0] ? e.msg : o.cert);
		goto out;
	}
	local.family = o.red.family;
	if ((o.bind && kg_addr_parse(o.bind, &local)) ||
	    start(&rc, &o, key, cert, g, r, &pkt, &len) ||
	    kg_rc_sock_open(&local, 0, o.dev, &io.fd)) {
		fprintf(stderr, "kg-sknock-send: cannot build, sign or bind\n");
		goto out;
	}
	if (o.save) {
		FILE *f = fopen(o.save, "wb");

		if (!f || fwrite(pkt, 1, len, f) != len)
			fprintf(stderr, "kg-sknock-send: cannot save %s\n", o.save);
		if (f)
			fclose(f);
	}
	kg_rc_sock_send(io.fd, &o.red, o.port, pkt, len);
	ret = exchange(&rc, &io, o.wait_ms);
out:
	if (io.fd >= 0)
		close(io.fd);
	kg_rc_free(&rc);
	kg_hostkey_free(key);
	X509_free(cert);
	return ret;
}
