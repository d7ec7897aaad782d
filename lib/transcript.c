/* SPDX-License-Identifier: MIT */
#include "transcript.h"

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "ctrl.h"

static int put_label(struct kg_writer *w, const char *label)
{
	/* The NUL is part of the label: no label is a prefix of another. */
	return kg_put_bytes(w, label, strlen(label) + 1) ?:
	       kg_put_u8(w, KG_TRANSCRIPT_VERSION);
}

static int put_binding(struct kg_writer *w, const struct kg_proof_binding *b)
{
	int v4 = b->tunnel.family == AF_INET;

	if (!v4 && b->tunnel.family != AF_INET6)
		return -EINVAL;
	return kg_put_bytes(w, b->challenge, 32) ?:
	       kg_put_bytes(w, b->client_wg_pub, 32) ?:
	       kg_put_bytes(w, b->green_wg_pub, 32) ?:
	       kg_put_u8(w, v4 ? 4 : 6) ?:
	       kg_put_bytes(w, b->tunnel.b, v4 ? 4 : 16);
}

int kg_transcript_card_proof(const struct kg_proof_binding *b, uint8_t *buf,
			     size_t cap)
{
	struct kg_writer w;
	int rc;

	kg_writer_init(&w, buf, cap);
	rc = put_label(&w, KG_LABEL_CARD_PROOF) ?: put_binding(&w, b);
	return rc ? rc : (int)w.pos;
}

int kg_transcript_reproof(const struct kg_proof_binding *b,
			  uint64_t session_id, uint8_t *buf, size_t cap)
{
	struct kg_writer w;
	int rc;

	kg_writer_init(&w, buf, cap);
	rc = put_label(&w, KG_LABEL_REPROOF) ?: put_binding(&w, b) ?:
	     kg_put_u64(&w, session_id);
	return rc ? rc : (int)w.pos;
}

int kg_transcript_service(uint64_t session_id, const uint8_t nonce[32],
			  const char *service, uint8_t *buf, size_t cap)
{
	size_t n = strlen(service);
	struct kg_writer w;
	int rc;

	if (!kg_ctrl_name_ok((const uint8_t *)service, n))
		return -EINVAL;
	kg_writer_init(&w, buf, cap);
	rc = put_label(&w, KG_LABEL_SERVICE) ?: kg_put_u64(&w, session_id) ?:
	     kg_put_bytes(&w, nonce, 32) ?: kg_put_u8(&w, (uint8_t)n) ?:
	     kg_put_bytes(&w, service, n);
	return rc ? rc : (int)w.pos;
}

static int digest_of(int len, const uint8_t *buf, uint8_t digest[32])
{
	if (len < 0)
		return len;
	kg_sha256(buf, (size_t)len, digest);
	return 0;
}

int kg_transcript_card_proof_digest(const struct kg_proof_binding *b,
				    uint8_t digest[32])
{
	uint8_t buf[KG_TRANSCRIPT_MAX];

	return digest_of(kg_transcript_card_proof(b, buf, sizeof(buf)), buf,
			 digest);
}

int kg_transcript_reproof_digest(const struct kg_proof_binding *b,
				 uint64_t session_id, uint8_t digest[32])
{
	uint8_t buf[KG_TRANSCRIPT_MAX];

	return digest_of(kg_transcript_reproof(b, session_id, buf, sizeof(buf)),
			 buf, digest);
}

int kg_transcript_service_digest(uint64_t session_id, const uint8_t nonce[32],
				 const char *service, uint8_t digest[32])
{
	uint8_t buf[KG_TRANSCRIPT_MAX];

	return digest_of(kg_transcript_service(session_id, nonce, service, buf,
					       sizeof(buf)), buf, digest);
}
