/* SPDX-License-Identifier: MIT */
/*
 * The admin socket's wire format (knockgate-ctl <-> the daemon), parsed
 * in this one place. A request is one SOCK_SEQPACKET message:
 *
 *   u8 version (1) | u8 op | u8 flags | u16 arg length | arg bytes
 *
 * and nothing after. flags: bit 0 = answer in JSON; the other bits must
 * be 0. The argument is printable ASCII without spaces (a session id, a
 * user name, an address), at most KG_CTL_ADMIN_ARG_MAX bytes; ops that
 * take none must have an empty one.
 *
 * The answer is one or more messages, then the daemon closes the
 * connection: the first byte of the first message is a status
 * (enum kg_ctl_admin_status), the rest of all messages is the text (or
 * JSON) to show.
 */
#ifndef KG_CTL_ADMIN_H
#define KG_CTL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KG_CTL_ADMIN_VERSION 1
#define KG_CTL_ADMIN_ARG_MAX 255
#define KG_CTL_ADMIN_HDR_LEN 5
#define KG_CTL_ADMIN_MAX_REQ (KG_CTL_ADMIN_HDR_LEN + KG_CTL_ADMIN_ARG_MAX)
#define KG_CTL_ADMIN_FLAG_JSON 0x01
/* Answers are sent in messages of at most this many bytes. */
#define KG_CTL_ADMIN_CHUNK 16384

enum kg_ctl_admin_op {
	KG_CTL_SESSIONS = 1,   /* list sessions */
	KG_CTL_END = 2,        /* arg: a session id (16 hex digits) */
	KG_CTL_BANS = 3,       /* list bans */
	KG_CTL_UNBAN = 4,      /* arg: an address (its ban key is lifted) */
	KG_CTL_DRAIN = 5,      /* refuse new knocks, keep live sessions */
	KG_CTL_UNDRAIN = 6,
	KG_CTL_EXPIRY = 7,     /* certificates' and CRLs' expiry */
	KG_CTL_STATUS = 8,     /* counts, drain state */
	KG_CTL_END_USER = 9,   /* arg: a user name: all of its sessions */
	KG_CTL_GRANTS = 10,    /* red: its grants */
	KG_CTL_OP_MAX = 10,
};

enum kg_ctl_admin_status {
	KG_CTL_OK = 0,
	KG_CTL_BAD_REQUEST = 1,
	KG_CTL_NOT_FOUND = 2,
	KG_CTL_FAILED = 3,
	KG_CTL_NOT_AVAILABLE = 4,   /* e.g. no knock section: no sessions */
};

struct kg_ctl_admin_req {
	enum kg_ctl_admin_op op;
	bool json;
	char arg[KG_CTL_ADMIN_ARG_MAX + 1];   /* NUL-terminated */
	size_t arg_len;
};

/* Parses one request message. 0, or -EBADMSG with *why set to a static
 * reason for the log ("short", "version", "op", "flags", "arg_length",
 * "arg_bytes", "arg_missing", "arg_unexpected", "trailing"). */
int kg_ctl_admin_parse(const uint8_t *msg, size_t len,
		       struct kg_ctl_admin_req *out, const char **why);
/* Writes req into out (cap bytes); *n its length. 0, -EINVAL (a request
 * the parser would refuse) or -EMSGSIZE. */
int kg_ctl_admin_build(const struct kg_ctl_admin_req *req, uint8_t *out,
		       size_t cap, size_t *n);
/* Whether op takes an argument. */
bool kg_ctl_admin_op_has_arg(enum kg_ctl_admin_op op);
/* "sessions", "end", "bans", "unban", "drain", "undrain", "expiry",
 * "status", "end-user", "grants"; "?" for others. Never NULL. */
const char *kg_ctl_admin_op_name(enum kg_ctl_admin_op op);
/* The op named s, or 0. */
enum kg_ctl_admin_op kg_ctl_admin_op_parse(const char *s);
/* "ok", "bad_request", "not_found", "failed", "not_available"; never NULL. */
const char *kg_ctl_admin_status_name(enum kg_ctl_admin_status s);

#endif
