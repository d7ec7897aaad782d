/* SPDX-License-Identifier: MIT */
#include "ctrl.h"

#include <errno.h>
#include <string.h>

#include "buf.h"

static const char *const code_names[] = {
	[KG_CODE_NONE] = "none",
	[KG_CODE_CLOSE] = "close",
	[KG_CODE_IDLE] = "idle",
	[KG_CODE_LIFETIME] = "lifetime",
	[KG_CODE_PEER_SILENT] = "peer_silent",
	[KG_CODE_REPROOF_MISSED] = "reproof_missed",
	[KG_CODE_REVOKED] = "revoked",
	[KG_CODE_REMOVED] = "removed",
	[KG_CODE_AUTH_FAILED] = "auth_failed",
	[KG_CODE_TIMEOUT] = "timeout",
	[KG_CODE_PROTOCOL] = "protocol",
	[KG_CODE_NOT_ALLOWED] = "not_allowed",
	[KG_CODE_UNKNOWN_SERVICE] = "unknown_service",
	[KG_CODE_STALE_NONCE] = "stale_nonce",
	[KG_CODE_BAD_SIGNATURE] = "bad_signature",
	[KG_CODE_UNAVAILABLE] = "unavailable",
	[KG_CODE_BUSY] = "busy",
	[KG_CODE_NO_SESSION] = "no_session",
	[KG_CODE_INTERNAL] = "internal",
};

static const char *const type_names[] = {
	[KG_CTRL_HELLO] = "hello",
	[KG_CTRL_CHALLENGE] = "challenge",
	[KG_CTRL_PROOF] = "proof",
	[KG_CTRL_SESSION] = "session",
	[KG_CTRL_SERVICE_REQ] = "service_request",
	[KG_CTRL_GRANT] = "grant",
	[KG_CTRL_REFUSED] = "refused",
	[KG_CTRL_CLOSE] = "close",
	[KG_CTRL_REPROOF_REQ] = "reproof_request",
	[KG_CTRL_REPROOF] = "reproof",
	[KG_CTRL_ERROR] = "error",
	[KG_CTRL_MOVED] = "moved",
};

const char *kg_ctrl_code_name(uint16_t code)
{
	return code <= KG_CODE_MAX_ ? code_names[code] : "unknown";
}

const char *kg_ctrl_type_name(uint8_t type)
{
	if (type >= KG_CTRL_HELLO && type <= KG_CTRL_MOVED)
		return type_names[type];
	return "unknown";
}

bool kg_ctrl_name_ok(const uint8_t *s, size_t n)
{
	if (n < 1 || n > KG_CTRL_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool text_ok(const uint8_t *s, size_t n)
{
	if (n > KG_CTRL_MAX_TEXT)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int kg_ctrl_frame_len(const uint8_t *buf, size_t have, size_t max_body,
		      size_t *body_len)
{
	struct kg_reader r;
	uint32_t n;

	if (have < KG_CTRL_HDR_LEN)
		return -EAGAIN;
	kg_reader_init(&r, buf, KG_CTRL_HDR_LEN);
	if (kg_get_u32(&r, &n))
		return -EAGAIN;
	if (n == 0 || n > max_body)
		return -EMSGSIZE;
	*body_len = n;
	return 0;
}

/* ---- parsing: every field through the bounded reader ---- */

/* Each getter sets *why and returns -EBADMSG on failure. */
#define NEED(expr, r_)                                                         \
	do {                                                                   \
		if (expr) {                                                    \
			*why = (r_);                                           \
			return -EBADMSG;                                       \
		}                                                              \
	} while (0)

static int get_name(struct kg_reader *r, struct kg_ctrl_view *v,
		    const char **why)
{
	uint8_t n;

	NEED(kg_get_u8(r, &n) || kg_get_view(r, &v->p, n), "truncated");
	v->len = n;
	NEED(!kg_ctrl_name_ok(v->p, v->len), "bad_service_name");
	return 0;
}

static int get_sig(struct kg_reader *r, struct kg_ctrl_view *v,
		   const char **why)
{
	NEED(kg_get_lv16(r, &v->p, &v->len, 0xffff), "truncated");
	NEED(v->len < KG_CTRL_MIN_SIG || v->len > KG_CTRL_MAX_SIG,
	     "bad_signature_length");
	return 0;
}

static int get_code(struct kg_reader *r, uint16_t *code, const char **why)
{
	NEED(kg_get_u16(r, code), "truncated");
	NEED(*code > KG_CODE_MAX_, "bad_code");
	return 0;
}

static int get_nonce(struct kg_reader *r, uint8_t *nonce, const char **why)
{
	NEED(kg_get_bytes(r, nonce, KG_CTRL_NONCE_LEN), "truncated");
	return 0;
}

static int parse_session(struct kg_reader *r, struct kg_ctrl_msg *m,
			 const char **why)
{
	uint8_t n;
	int rc;

	NEED(kg_get_u64(r, &m->session_id) || kg_get_u32(r, &m->idle_timeout) ||
	     kg_get_u32(r, &m->expires) || kg_get_u32(r, &m->reproof_interval),
	     "truncated");
	NEED(m->session_id == 0, "bad_session_id");
	if ((rc = get_nonce(r, m->nonce, why)))
		return rc;
	NEED(kg_get_u8(r, &n), "truncated");
	NEED(n > KG_CTRL_MAX_SERVICES, "too_many_services");
	for (size_t i = 0; i < n; i++)
		if ((rc = get_name(r, &m->services[i], why)))
			return rc;
	m->n_services = n;
	return 0;
}

/* GRANT and MOVED: service, family, address, port, lease (s left). */
static int parse_place(struct kg_reader *r, struct kg_ctrl_msg *m,
		       const char **why)
{
	uint8_t fam;
	int rc;

	if ((rc = get_name(r, &m->service, why)))
		return rc;
	NEED(kg_get_u8(r, &fam), "truncated");
	NEED(fam != 4 && fam != 6, "bad_family");
	m->grant.addr.family = fam == 4 ? AF_INET : AF_INET6;
	NEED(kg_get_bytes(r, m->grant.addr.b, fam == 4 ? 4 : 16) ||
	     kg_get_u16(r, &m->grant.port) || kg_get_u32(r, &m->grant.lease),
	     "truncated");
	NEED(m->grant.port == 0, "bad_port");
	return 0;
}

static int parse_grant(struct kg_reader *r, struct kg_ctrl_msg *m,
		       const char **why)
{
	int rc = parse_place(r, m, why);

	return rc ? rc : get_nonce(r, m->nonce, why);
}

static int parse_fields(struct kg_reader *r, struct kg_ctrl_msg *m,
			const char **why)
{
	uint8_t n;
	int rc;

	switch (m->type) {
	case KG_CTRL_HELLO:
		NEED(kg_get_lv16(r, &m->cert.p, &m->cert.len, 0xffff), "truncated");
		NEED(m->cert.len == 0 || m->cert.len > KG_CTRL_MAX_CERT,
		     "bad_certificate_length");
		return 0;
	case KG_CTRL_CHALLENGE:
	case KG_CTRL_REPROOF_REQ:
		return get_nonce(r, m->nonce, why);
	case KG_CTRL_PROOF:
	case KG_CTRL_REPROOF:
		return get_sig(r, &m->sig, why);
	case KG_CTRL_SESSION:
		return parse_session(r, m, why);
	case KG_CTRL_SERVICE_REQ:
		if ((rc = get_nonce(r, m->nonce, why)) ||
		    (rc = get_name(r, &m->service, why)))
			return rc;
		return get_sig(r, &m->sig, why);
	case KG_CTRL_GRANT:
		return parse_grant(r, m, why);
	case KG_CTRL_MOVED:
		return parse_place(r, m, why);
	case KG_CTRL_REFUSED:
		if ((rc = get_name(r, &m->service, why)) ||
		    (rc = get_code(r, &m->code, why)))
			return rc;
		return get_nonce(r, m->nonce, why);
	case KG_CTRL_CLOSE:
		return get_code(r, &m->code, why);
	case KG_CTRL_ERROR:
		if ((rc = get_code(r, &m->code, why)))
			return rc;
		NEED(kg_get_u8(r, &n) || kg_get_view(r, &m->text.p, n), "truncated");
		m->text.len = n;
		NEED(!text_ok(m->text.p, m->text.len), "bad_text");
		return 0;
	default:
		*why = "unknown_type";
		return -EBADMSG;
	}
}

int kg_ctrl_parse(const uint8_t *body, size_t len, struct kg_ctrl_msg *m,
		  const char **reason)
{
	const char *dummy;
	const char **why = reason ? reason : &dummy;
	struct kg_reader r;
	uint8_t version, type;
	int rc;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	NEED(len > KG_CTRL_MAX_BODY, "too_long");
	kg_reader_init(&r, body, len);
	NEED(kg_get_u8(&r, &version) || kg_get_u8(&r, &type), "truncated");
	NEED(version != KG_CTRL_VERSION, "bad_version");
	m->type = type;
	if ((rc = parse_fields(&r, m, why))) {
		m->type = 0;
		return rc;
	}
	if (!kg_reader_done(&r)) {
		m->type = 0;
		*why = "trailing_bytes";
		return -EBADMSG;
	}
	return 0;
}

/* ---- building: refuse what the parser would refuse ---- */

static int put_name(struct kg_writer *w, const struct kg_ctrl_view *v)
{
	if (!v->p || !kg_ctrl_name_ok(v->p, v->len))
		return -EINVAL;
	return kg_put_u8(w, (uint8_t)v->len) ?: kg_put_bytes(w, v->p, v->len);
}

static int put_sig(struct kg_writer *w, const struct kg_ctrl_view *v)
{
	if (!v->p || v->len < KG_CTRL_MIN_SIG || v->len > KG_CTRL_MAX_SIG)
		return -EINVAL;
	return kg_put_lv16(w, v->p, v->len);
}

static int put_code(struct kg_writer *w, uint16_t code)
{
	return code > KG_CODE_MAX_ ? -EINVAL : kg_put_u16(w, code);
}

static int build_session(struct kg_writer *w, const struct kg_ctrl_msg *m)
{
	int rc;

	if (m->session_id == 0 || m->n_services > KG_CTRL_MAX_SERVICES)
		return -EINVAL;
	rc = kg_put_u64(w, m->session_id) ?: kg_put_u32(w, m->idle_timeout) ?:
	     kg_put_u32(w, m->expires) ?: kg_put_u32(w, m->reproof_interval) ?:
	     kg_put_bytes(w, m->nonce, KG_CTRL_NONCE_LEN) ?:
	     kg_put_u8(w, (uint8_t)m->n_services);
	for (size_t i = 0; !rc && i < m->n_services; i++)
		rc = put_name(w, &m->services[i]);
	return rc;
}

static int build_place(struct kg_writer *w, const struct kg_ctrl_msg *m)
{
	const struct kg_ctrl_grant *g = &m->grant;
	int v4 = g->addr.family == AF_INET;

	if ((!v4 && g->addr.family != AF_INET6) || g->port == 0)
		return -EINVAL;
	return put_name(w, &m->service) ?: kg_put_u8(w, v4 ? 4 : 6) ?:
	       kg_put_bytes(w, g->addr.b, v4 ? 4 : 16) ?:
	       kg_put_u16(w, g->port) ?: kg_put_u32(w, g->lease);
}

static int build_grant(struct kg_writer *w, const struct kg_ctrl_msg *m)
{
	return build_place(w, m) ?: kg_put_bytes(w, m->nonce, KG_CTRL_NONCE_LEN);
}

static int build_fields(struct kg_writer *w, const struct kg_ctrl_msg *m)
{
	switch (m->type) {
	case KG_CTRL_HELLO:
		if (!m->cert.p || m->cert.len == 0 || m->cert.len > KG_CTRL_MAX_CERT)
			return -EINVAL;
		return kg_put_lv16(w, m->cert.p, m->cert.len);
	case KG_CTRL_CHALLENGE:
	case KG_CTRL_REPROOF_REQ:
		return kg_put_bytes(w, m->nonce, KG_CTRL_NONCE_LEN);
	case KG_CTRL_PROOF:
	case KG_CTRL_REPROOF:
		return put_sig(w, &m->sig);
	case KG_CTRL_SESSION:
		return build_session(w, m);
	case KG_CTRL_SERVICE_REQ:
		return kg_put_bytes(w, m->nonce, KG_CTRL_NONCE_LEN) ?:
		       put_name(w, &m->service) ?: put_sig(w, &m->sig);
	case KG_CTRL_GRANT:
		return build_grant(w, m);
	case KG_CTRL_MOVED:
		return build_place(w, m);
	case KG_CTRL_REFUSED:
		return put_name(w, &m->service) ?: put_code(w, m->code) ?:
		       kg_put_bytes(w, m->nonce, KG_CTRL_NONCE_LEN);
	case KG_CTRL_CLOSE:
		return put_code(w, m->code);
	case KG_CTRL_ERROR:
		if ((m->text.len && !m->text.p) || !text_ok(m->text.p, m->text.len))
			return -EINVAL;
		return put_code(w, m->code) ?: kg_put_u8(w, (uint8_t)m->text.len) ?:
		       (m->text.len ? kg_put_bytes(w, m->text.p, m->text.len) : 0);
	default:
		return -EINVAL;
	}
}

int kg_ctrl_build(const struct kg_ctrl_msg *m, uint8_t *buf, size_t cap,
		  size_t *out_len)
{
	struct kg_writer w;
	size_t body;
	int rc;

	kg_writer_init(&w, buf, cap);
	rc = kg_put_u32(&w, 0) ?: kg_put_u8(&w, KG_CTRL_VERSION) ?:
	     kg_put_u8(&w, m->type) ?: build_fields(&w, m);
	if (rc)
		return rc;
	body = w.pos - KG_CTRL_HDR_LEN;
	if (body > KG_CTRL_MAX_BODY)
		return -EMSGSIZE;
	buf[0] = (uint8_t)(body >> 24);
	buf[1] = (uint8_t)(body >> 16);
	buf[2] = (uint8_t)(body >> 8);
	buf[3] = (uint8_t)body;
	*out_len = w.pos;
	return 0;
}
