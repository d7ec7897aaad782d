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
	if (cap > UINT32_MAX / 2)
		return -EINVAL;
	for (rc->n_head = 16; rc->n_head < cap; rc->n_head *= 2)
		;
	rc->p = calloc(cap, sizeof(*rc->p));
	rc->head = calloc(rc->n_head, sizeof(*rc->head));
	if (!rc->p || !rc->head) {
		kg_rc_free(rc);
		return -ENOMEM;
	}
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
	free(rc->head);
	rc->p = NULL;
	rc->head = NULL;
	rc->cap = 0;
	rc->n_head = 0;
}

/* The knock hash is a SHA-256 digest: its first bytes index evenly, and a
 * forged answer cannot aim at a long chain it cannot see. */
static uint32_t *chain_of(struct kg_red_client *rc,
			  const uint8_t hash[KG_SK_HASH_LEN])
{
	uint32_t v = (uint32_t)hash[0] | (uint32_t)hash[1] << 8 |
		     (uint32_t)hash[2] << 16 | (uint32_t)hash[3] << 24;

	return &rc->head[v & (rc->n_head - 1)];
}

static void link_pending(struct kg_red_client *rc, struct kg_rc_pending *p)
{
	uint32_t *h = chain_of(rc, p->hash);

	p->next = *h;
	*h = (uint32_t)(p - rc->p) + 1;
	p->used = true;
}

static void unlink_pending(struct kg_red_client *rc, struct kg_rc_pending *p)
{
	uint32_t *h = chain_of(rc, p->hash), me = (uint32_t)(p - rc->p) + 1;

	while (*h && *h != me)
		h = &rc->p[*h - 1].next;
	if (*h)
		*h = p->next;
	p->used = false;
	p->next = 0;
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
	link_pending(rc, p);
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
			unlink_pending(rc, p);
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
	for (uint32_t i = *chain_of(rc, hash); i; i = rc->p[i - 1].next)
		if (kg_memeq(rc->p[i - 1].hash, hash, KG_SK_HASH_LEN))
			return &rc->p[i - 1];
	return NULL;
}

int kg_rc_adopt(struct kg_red_client *rc, const uint8_t *pkt, size_t len,
		uint64_t now_ms)
{
	struct kg_rc_pending *p = free_slot(rc);
	struct kg_sk_view v;

	if (!p)
		return -ENOSPC;
	if (len > sizeof(p->pkt))
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	memcpy(p->pkt, pkt, len);
	p->len = len;
	if (kg_sknock_parse(p->pkt, p->len, &p->k, &v) != KG_SK_E_OK)
		return -EINVAL;
	kg_sk_digest(v.body, v.body_len, p->hash);
	snprintf(rc->green_id, sizeof(rc->green_id), "%s", p->k.green_id);
	snprintf(rc->red_id, sizeof(rc->red_id), "%s", p->k.red_id);
	link_pending(rc, p);
	p->sent = 1;
	p->next_ms = now_ms + rc->retry_ms;
	return 0;
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
	/* The cheap check first: a flood of spoofed answers costs a hash
	 * lookup each, not an ECDSA verification. */
	p = find(rc, a->knock_hash);
	if (!p)
		return KG_RC_NOT_PENDING;
	kg_sk_digest(v.body, v.body_len, h);
	rc->sig_checks++;
	if (kg_pki_verify_sig(rc->red_cert, h, v.sig, v.sig_len) != KG_PKI_OK)
		return KG_RC_BAD_SIGNATURE;
	*req = p->k;
	if (cookie)
		*cookie = p->cookie;
	unlink_pending(rc, p);
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

int kg_rc_sock_open(const struct kg_addr *local, uint16_t port,
		    const char *ifname, int *fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = kg_addr_to_sockaddr(local, port, &ss);
	int s = socket(local->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

	if (s < 0)
		return -errno;
	if ((ifname && setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, ifname,
				  (socklen_t)strlen(ifname) + 1) < 0) ||
	    bind(s, (struct sockaddr *)&ss, sl) < 0) {
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
