/* SPDX-License-Identifier: MIT */
#include "red_client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "pki.h"

static const char *const result_names[] = {
	"ok", "malformed", "wrong_hosts", "bad_signature", "not_pending",
};

const char *kg_rc_result_name(enum kg_rc_result r)
{
	return (unsigned)r < sizeof(result_names) / sizeof(result_names[0]) ?
	       result_names[r] : "?";
}

int kg_rc_init(struct kg_red_client *rc, const char *green_id,
	       const char *red_id, const struct kg_hostkey *key,
	       X509 *red_cert, size_t cap, unsigned max_sends,
	       unsigned retry_ms)
{
	memset(rc, 0, sizeof(*rc));
	if (!kg_sk_id_valid(green_id) || !kg_sk_id_valid(red_id) ||
	    max_sends == 0 || cap == 0)
		return -EINVAL;
	snprintf(rc->green_id, sizeof(rc->green_id), "%s", green_id);
	snprintf(rc->red_id, sizeof(rc->red_id), "%s", red_id);
	rc->p = calloc(cap, sizeof(*rc->p));
	if (!rc->p)
		return -ENOMEM;
	rc->cap = cap;
	rc->key = key;
	rc->red_cert = red_cert;
	rc->max_sends = max_sends;
	rc->retry_ms = retry_ms;
	return 0;
}

void kg_rc_free(struct kg_red_client *rc)
{
	free(rc->p);
	rc->p = NULL;
	rc->cap = 0;
}

static struct kg_rc_pending *free_slot(struct kg_red_client *rc)
{
	for (size_t i = 0; i < rc->cap; i++)
		if (!rc->p[i].used)
			return &rc->p[i];
	return NULL;
}

int kg_rc_request(struct kg_red_client *rc, const struct kg_sknock *k,
		  uint64_t now_ms, void *cookie, const uint8_t **pkt,
		  size_t *len)
{
	struct kg_rc_pending *p = free_slot(rc);
	uint8_t sig[KG_SK_SIG_MAX];
	size_t sn;
	int r;

	if (!p)
		return -ENOSPC;
	memset(p, 0, sizeof(*p));
	p->k = *k;
	strcpy(p->k.green_id, rc->green_id);
	strcpy(p->k.red_id, rc->red_id);
	p->k.timestamp = k->timestamp ? k->timestamp : now_ms / 1000;
	if ((r = kg_random(p->k.nonce, sizeof(p->k.nonce))) ||
	    (r = kg_sknock_encode_body(&p->k, p->pkt, sizeof(p->pkt), &p->len)))
		return r;
	kg_sk_digest(p->pkt, p->len, p->hash);
	if (kg_hostkey_sign(rc->key, p->hash, sig, &sn) ||
	    kg_sk_append_sig(p->pkt, sizeof(p->pkt), &p->len, sig, sn))
		return -EIO;
	p->used = true;
	p->sent = 1;
	p->next_ms = now_ms + rc->retry_ms;
	p->cookie = cookie;
	*pkt = p->pkt;
	*len = p->len;
	return 0;
}

uint32_t kg_rc_tick(struct kg_red_client *rc, uint64_t now_ms,
		    void (*send)(void *ctx, const uint8_t *pkt, size_t len),
		    void (*gave_up)(void *ctx, const struct kg_rc_pending *p),
		    void *ctx)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < rc->cap; i++) {
		struct kg_rc_pending *p = &rc->p[i];

		if (!p->used)
			continue;
		if (p->next_ms <= now_ms && p->sent >= rc->max_sends) {
			p->used = false;
			if (gave_up)
				gave_up(ctx, p);
			continue;
		}
		if (p->next_ms <= now_ms) {
			send(ctx, p->pkt, p->len);
			p->sent++;
			p->next_ms = now_ms + rc->retry_ms;
		}
		if (p->next_ms < next)
			next = p->next_ms;
	}
	if (next == UINT64_MAX)
		return UINT32_MAX;
	return next - now_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)(next - now_ms);
}

static struct kg_rc_pending *find(struct kg_red_client *rc,
				  const uint8_t hash[KG_SK_HASH_LEN])
{
	for (size_t i = 0; i < rc->cap; i++)
		if (rc->p[i].used &&
		    kg_memeq(rc->p[i].hash, hash, KG_SK_HASH_LEN))
			return &rc->p[i];
	return NULL;
}

enum kg_rc_result kg_rc_answer(struct kg_red_client *rc, const uint8_t *pkt,
			       size_t len, struct kg_skanswer *a,
			       struct kg_sknock *req, void **cookie,
			       enum kg_sk_err *why)
{
	struct kg_rc_pending *p;
	struct kg_sk_view v;
	uint8_t h[KG_SK_HASH_LEN];

	*why = kg_skanswer_parse(pkt, len, a, &v);
	if (*why != KG_SK_E_OK)
		return KG_RC_MALFORMED;
	if (strcmp(a->red_id, rc->red_id) || strcmp(a->green_id, rc->green_id))
		return KG_RC_WRONG_HOSTS;
	kg_sk_digest(v.body, v.body_len, h);
	if (kg_pki_verify_sig(rc->red_cert, h, v.sig, v.sig_len) != KG_PKI_OK)
		return KG_RC_BAD_SIGNATURE;
	p = find(rc, a->knock_hash);
	if (!p)
		return KG_RC_NOT_PENDING;
	*req = p->k;
	if (cookie)
		*cookie = p->cookie;
	p->used = false;
	return KG_RC_OK;
}

size_t kg_rc_n_pending(const struct kg_red_client *rc)
{
	size_t n = 0;

	for (size_t i = 0; i < rc->cap; i++)
		n += rc->p[i].used;
	return n;
}

/* ---- UDP ---- */

int kg_rc_sock_open(const struct kg_addr *local, uint16_t port, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = kg_addr_to_sockaddr(local, port, &ss);
	int s = socket(local->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&ss, sl) < 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	*fd = s;
	return 0;
}

int kg_rc_sock_send(int fd, const struct kg_addr *red, uint16_t port,
		    const uint8_t *pkt, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = kg_addr_to_sockaddr(red, port, &ss);

	if (sendto(fd, pkt, len, 0, (struct sockaddr *)&ss, sl) != (ssize_t)len)
		return -errno;
	return 0;
}

ssize_t kg_rc_sock_recv(int fd, uint8_t *buf, size_t cap, struct kg_addr *src)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &sl);

	if (n < 0)
		return -errno;
	kg_addr_from_sockaddr((struct sockaddr *)&ss, src);
	return n;
}
