/* SPDX-License-Identifier: MIT */
#include "ctl_admin.h"
#include "buf.h"

#include <errno.h>
#include <string.h>

static const char *const op_names[] = {
	[KG_CTL_SESSIONS] = "sessions", [KG_CTL_END] = "end",
	[KG_CTL_BANS] = "bans", [KG_CTL_UNBAN] = "unban",
	[KG_CTL_DRAIN] = "drain", [KG_CTL_UNDRAIN] = "undrain",
	[KG_CTL_EXPIRY] = "expiry", [KG_CTL_STATUS] = "status",
	[KG_CTL_END_USER] = "end-user", [KG_CTL_GRANTS] = "grants",
};

const char *kg_ctl_admin_op_name(enum kg_ctl_admin_op op)
{
	if ((int)op < 1 || op > KG_CTL_OP_MAX)
		return "?";
	return op_names[op];
}

enum kg_ctl_admin_op kg_ctl_admin_op_parse(const char *s)
{
	for (int i = 1; i <= KG_CTL_OP_MAX; i++)
		if (!strcmp(s, op_names[i]))
			return (enum kg_ctl_admin_op)i;
	return 0;
}

bool kg_ctl_admin_op_has_arg(enum kg_ctl_admin_op op)
{
	return op == KG_CTL_END || op == KG_CTL_UNBAN || op == KG_CTL_END_USER;
}

const char *kg_ctl_admin_status_name(enum kg_ctl_admin_status s)
{
	switch (s) {
	case KG_CTL_OK: return "ok";
	case KG_CTL_BAD_REQUEST: return "bad_request";
	case KG_CTL_NOT_FOUND: return "not_found";
	case KG_CTL_FAILED: return "failed";
	case KG_CTL_NOT_AVAILABLE: return "not_available";
	}
	return "?";
}

/* Printable, no space: the argument ends up in log records and answers. */
static bool arg_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

int kg_ctl_admin_parse(const uint8_t *msg, size_t len,
		       struct kg_ctl_admin_req *out, const char **why)
{
	struct kg_reader r;
	uint8_t version, op, flags;
	const uint8_t *arg;
	size_t n;

	memset(out, 0, sizeof(*out));
	kg_reader_init(&r, msg, len);
	if (kg_get_u8(&r, &version) || kg_get_u8(&r, &op) ||
	    kg_get_u8(&r, &flags)) {
		*why = "short";
		return -EBADMSG;
	}
	if (version != KG_CTL_ADMIN_VERSION) {
		*why = "version";
		return -EBADMSG;
	}
	if (op < 1 || op > KG_CTL_OP_MAX) {
		*why = "op";
		return -EBADMSG;
	}
	if (flags & ~KG_CTL_ADMIN_FLAG_JSON) {
		*why = "flags";
		return -EBADMSG;
	}
	if (kg_get_lv16(&r, &arg, &n, KG_CTL_ADMIN_ARG_MAX)) {
		*why = "arg_length";
		return -EBADMSG;
	}
	if (!kg_reader_done(&r)) {
		*why = "trailing";
		return -EBADMSG;
	}
	if (!arg_ok(arg, n)) {
		*why = "arg_bytes";
		return -EBADMSG;
	}
	if (kg_ctl_admin_op_has_arg(op) && !n) {
		*why = "arg_missing";
		return -EBADMSG;
	}
	if (!kg_ctl_admin_op_has_arg(op) && n) {
		*why = "arg_unexpected";
		return -EBADMSG;
	}
	out->op = op;
	out->json = flags & KG_CTL_ADMIN_FLAG_JSON;
	memcpy(out->arg, arg, n);
	out->arg[n] = '\0';
	out->arg_len = n;
	return 0;
}

int kg_ctl_admin_build(const struct kg_ctl_admin_req *req, uint8_t *out,
		       size_t cap, size_t *n)
{
	struct kg_writer w;

	if ((int)req->op < 1 || req->op > KG_CTL_OP_MAX ||
	    req->arg_len > KG_CTL_ADMIN_ARG_MAX ||
	    kg_ctl_admin_op_has_arg(req->op) != (req->arg_len > 0) ||
	    !arg_ok((const uint8_t *)req->arg, req->arg_len))
		return -EINVAL;
	kg_writer_init(&w, out, cap);
	if (kg_put_u8(&w, KG_CTL_ADMIN_VERSION) || kg_put_u8(&w, (uint8_t)req->op) ||
	    kg_put_u8(&w, req->json ? KG_CTL_ADMIN_FLAG_JSON : 0) ||
	    kg_put_lv16(&w, req->arg, req->arg_len))
		return -EMSGSIZE;
	*n = w.pos;
	return 0;
}
