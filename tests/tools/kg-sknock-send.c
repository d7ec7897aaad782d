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
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sknock_args.h"

struct opts {
	struct sknock_args a;
	struct kg_sknock k;
	unsigned wait_ms;
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

/* The knock's fields and -w */
static int own_opt(void *ctx, int c, const char *arg)
{
	struct opts *o = ctx;

	switch (c) {
	case 'a': o->k.action = (uint8_t)action_of(arg); break;
	case 's': o->k.session = strtoull(arg, NULL, 0); break;
	case 'q': o->k.seq = (uint32_t)strtoul(arg, NULL, 0); break;
	case 'c': return kg_addr_parse(arg, &o->k.client) ? -1 : 0;
	case 'S': snprintf(o->k.service, sizeof(o->k.service), "%s", arg); break;
	case 'l': o->k.lifetime = (uint32_t)strtoul(arg, NULL, 0); break;
	case 'w': o->wait_ms = (unsigned)strtoul(arg, NULL, 0); break;
	default: return -1;
	}
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	o->a.prog = "kg-sknock-send";
	o->k.lifetime = 60;
	o->wait_ms = 700;
	if (sknock_args_parse(&o->a, argc, argv, "a:s:q:c:S:l:w:", own_opt, o) ||
	    (!o->a.replay && !o->k.action))
		return -1;
	return 0;
}

struct io {
	int fd;
	const struct opts *o;
	bool gave_up;
};

static void send_cb(void *ctx, const uint8_t *pkt, size_t len)
{
	struct io *io = ctx;

	kg_rc_sock_send(io->fd, &io->o->a.red, io->o->a.port, pkt, len);
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
		 struct kg_hostkey *key, X509 *cert, const uint8_t **pkt,
		 size_t *len)
{
	const char *g = o->a.green_id, *r = o->a.red_id;
	uint64_t now = now_ms();
	int rc_;

	if ((rc_ = kg_rc_init(rc, g[0] ? g : "x", r[0] ? r : "x", key, cert,
			      4, 3, o->wait_ms)))
		return rc_;
	if (o->a.replay) {
		rc_ = load_replay(rc, o->a.replay, now);
		*pkt = rc->p[0].pkt;
		*len = rc->p[0].len;
		return rc_;
	}
	return kg_rc_request(rc, &o->k, now + (uint64_t)(o->a.offset * 1000),
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
	struct kg_red_client rc = { 0 };
	struct kg_hostkey *key = NULL;
	struct io io = { .fd = -1, .o = &o };
	const uint8_t *pkt;
	size_t len;
	X509 *cert = NULL;
	int ret = 1;

	if (parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	if (sknock_args_load(&o.a, &cert, &key))
		goto out;
	if (start(&rc, &o, key, cert, &pkt, &len)) {
		fprintf(stderr, "kg-sknock-send: cannot build or sign\n");
		goto out;
	}
	if (sknock_args_socket(&o.a, &io.fd))
		goto out;
	sknock_args_save(&o.a, pkt, len);
	kg_rc_sock_send(io.fd, &o.a.red, o.a.port, pkt, len);
	ret = exchange(&rc, &io, o.wait_ms);
out:
	if (io.fd >= 0)
		close(io.fd);
	kg_rc_free(&rc);
	kg_hostkey_free(key);
	X509_free(cert);
	return ret;
}
