/* SPDX-License-Identifier: MIT */
/*
 * Privilege separation: a privileged monitor and an unprivileged worker
 * joined by a SOCK_SEQPACKET socketpair (one send = one frame, so no
 * framing bytes are needed and a short or long frame is seen as such).
 *
 * Frames are written and parsed only here, with lib/buf: a type byte, then
 * fixed fields in network order; variable fields carry a u16 length and a
 * bound. One parser per direction: kg_priv_req_decode (the monitor reads
 * what the worker sends: untrusted) and kg_priv_ans_decode (the worker
 * reads the monitor's answers). See docs/privsep.md.
 */
#ifndef KG_PRIV_H
#define KG_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "err.h"

#define KG_PRIV_FRAME_MAX   8192   /* larger frames are refused whole */
#define KG_PRIV_PAYLOAD_MAX 1500   /* a knock's UDP payload */
#define KG_PRIV_CERT_MAX    4096   /* control: a DER user certificate */
#define KG_PRIV_SIG_MAX     72     /* control: a DER ECDSA P-256 signature */
#define KG_PRIV_NAME_MAX    64     /* a user or service name */
#define KG_PRIV_NONCE_LEN   32     /* control: challenges and nonces */
#define KG_PRIV_MAX_SERVICES 64
#define KG_PRIV_BATCH_MAX   64     /* knocks in one KG_PRIV_REQ_KNOCKS */

enum kg_priv_type {
	KG_PRIV_REQ_KNOCK = 1,   /* a knock as NFLOG gave it */
	KG_PRIV_REQ_BAN = 2,     /* the IPS wants a source banned */
	KG_PRIV_REQ_UNBAN = 3,   /* the IPS lets a ban go early */
	KG_PRIV_REQ_PORT = 4,    /* green, sequence mode: a packet of the knock
				  * group to another port than the knock port */
	KG_PRIV_REQ_PROTECTED = 5,  /* green: would banning this source hit a
				     * protected address? (the IPS's exemption;
				     * answers 0 or EPERM, changes nothing) */
	/* Green's control port (the worker reads the connections and
	 * parses the frames; the monitor checks and decides). Each names the
	 * connection's peer address, the tunnel address the monitor looks the
	 * session up by. */
	KG_PRIV_REQ_CTRL_OPEN = 6,      /* a connection came: whose session? */
	KG_PRIV_REQ_CTRL_HELLO = 7,     /* the client's certificate */
	KG_PRIV_REQ_CTRL_PROOF = 8,     /* the card's signature (proof) */
	KG_PRIV_REQ_CTRL_SERVICE = 9,   /* nonce, service name, signature */
	KG_PRIV_REQ_CTRL_REPROOF_REQ = 10,  /* time for a reproof: challenge? */
	KG_PRIV_REQ_CTRL_REPROOF = 11,  /* the card's signature (reproof) */
	KG_PRIV_REQ_CTRL_END = 12,      /* the connection ended (why) */
	KG_PRIV_REQ_KNOCKS = 13, /* green: the knock group's packets of one
				  * NFLOG read, each a KNOCK or a PORT entry;
				  * the answer carries one status each */
	KG_PRIV_ANS = 0x81,      /* the monitor's answer to any request */
	/* Unasked, monitor -> worker (green's control port). */
	KG_PRIV_ASYNC_SERVICE_DONE = 0x82,  /* red answered a service request */
	KG_PRIV_ASYNC_MOVED = 0x83,         /* a granted service moved */
	KG_PRIV_ASYNC_END = 0x84,           /* green ended a session */
};

/* One entry of KG_PRIV_REQ_KNOCKS: the fields of a KNOCK or a PORT
 * request (type says which; the others are 0). */
struct kg_priv_knock {
	uint8_t type;            /* KG_PRIV_REQ_KNOCK or KG_PRIV_REQ_PORT */
	struct kg_addr addr;     /* the source */
	uint16_t sport, dport;
	uint8_t proto;           /* PORT: IPPROTO_TCP or IPPROTO_UDP */
	uint32_t ifindex;        /* KNOCK */
	uint64_t rx_us;          /* KNOCK */
	const uint8_t *payload;  /* KNOCK: view into the decoded frame */
	size_t payload_len;
};

struct kg_priv_req {
	uint8_t type;
	struct kg_addr addr;     /* knock, port: source; ban/unban: the key */
	uint16_t sport;          /* knock: source port */
	uint16_t dport;          /* knock, port: destination port */
	uint8_t proto;           /* port: IPPROTO_TCP or IPPROTO_UDP */
	uint32_t ifindex;        /* knock: input interface (0 if none) */
	uint64_t rx_us;          /* knock: CLOCK_MONOTONIC µs the worker read
				  * it; logged (us=), never decided on */
	uint32_t seconds;        /* ban: how long */
	const uint8_t *payload;  /* knock: view into the decoded frame */
	size_t payload_len;
	const uint8_t *data;     /* ctrl hello: certificate; proof, service,
				  * reproof: signature (views, as payload) */
	size_t data_len;
	const uint8_t *name;     /* ctrl service: the service name */
	size_t name_len;
	uint8_t nonce[KG_PRIV_NONCE_LEN];   /* ctrl service: the nonce used */
	uint8_t why;             /* ctrl end: enum kg_sess_end */
	size_t n_knocks;         /* knocks: 1 .. KG_PRIV_BATCH_MAX entries */
	struct kg_priv_knock knocks[KG_PRIV_BATCH_MAX];
};

struct kg_priv_view {
	const uint8_t *p;        /* into the decoded frame */
	size_t len;
};

struct kg_priv_grant {
	struct kg_addr addr;
	uint16_t port;
	uint32_t lease;          /* seconds */
};

/* An answer (async 0) or an unasked message (async = its type). The
 * fields after status are set on an answer with status 0 to a ctrl
 * request, and on async messages:
 *   open          session_id, name (the user)
 *   hello         nonce (the challenge)
 *   proof         session_id, idle_timeout, expires, reproof_interval,
 *                 nonce (the first service nonce), services
 *   service       code (0 granted: grant), nonce (the next one)
 *   reproof_req   nonce (the challenge)
 *   SERVICE_DONE  session_id, name (the service), code, grant, nonce
 *   MOVED         session_id, name (the service), grant
 *   END           session_id, code
 *   knocks        n_statuses, statuses (each 0 or a positive errno, as
 *                 the answer to that entry alone would be) */
struct kg_priv_ans {
	uint8_t for_type;        /* the request type this answers */
	uint32_t status;         /* 0 accepted, else a positive errno */
	uint8_t async;           /* 0, or KG_PRIV_ASYNC_* */
	uint64_t session_id;
	struct kg_priv_view name;
	uint8_t nonce[KG_PRIV_NONCE_LEN];
	uint32_t idle_timeout, expires, reproof_interval;
	uint16_t code;           /* KG_CODE_* of lib/ctrl.h */
	struct kg_priv_grant grant;
	size_t n_services;
	struct kg_priv_view services[KG_PRIV_MAX_SERVICES];
	size_t n_statuses;       /* answer 0 to KNOCKS: one per entry, in order */
	uint32_t statuses[KG_PRIV_BATCH_MAX];
};

/* Encoders: write one frame into buf (caller-owned, cap bytes) and set
 * *len. 0, -EMSGSIZE (too small, or a field over its bound) or -EINVAL
 * (unknown type, bad address family). */
int kg_priv_req_encode(const struct kg_priv_req *q, uint8_t *buf, size_t cap,
		       size_t *len);
int kg_priv_ans_encode(const struct kg_priv_ans *a, uint8_t *buf, size_t cap,
		       size_t *len);

/* Decoders for untrusted frames. 0 or -EBADMSG (short, trailing bytes,
 * unknown type, bad family, a bound exceeded). q->payload points into buf,
 * valid as long as buf. */
int kg_priv_req_decode(const uint8_t *buf, size_t len, struct kg_priv_req *q);
int kg_priv_ans_decode(const uint8_t *buf, size_t len, struct kg_priv_ans *a);

/* A SOCK_SEQPACKET|SOCK_CLOEXEC socketpair. 0 or -errno. */
int kg_priv_pair(int sv[2]);

/* One frame out / in. kg_priv_recv returns the frame's length, 0 at end
 * of stream (the peer is gone), -EMSGSIZE for a frame larger than cap
 * (dropped whole: MSG_TRUNC), or -errno. fd passing: kg_priv_send_fd sends
 * one frame with fd attached (SCM_RIGHTS; the caller keeps its copy);
 * kg_priv_recv_fd stores a received fd in *fd (the caller owns it) or -1.
 * Any extra fds are closed. */
int kg_priv_send(int sock, const uint8_t *buf, size_t len);
ssize_t kg_priv_recv(int sock, uint8_t *buf, size_t cap);
int kg_priv_send_fd(int sock, const uint8_t *buf, size_t len, int fd);
ssize_t kg_priv_recv_fd(int sock, uint8_t *buf, size_t cap, int *fd);

/* The worker's drop, in this order, from root: bounding set emptied,
 * ambient cleared, setgroups(0), setresgid/setresuid to user's ids,
 * PR_SET_PDEATHSIG SIGKILL (the worker never outlives its parent), every
 * capability set cleared, PR_SET_NO_NEW_PRIVS, then the seccomp filter
 * (kg_priv_seccomp). 0 or -errno with e set; on error the caller must
 * exit (the process is half dropped). getpwnam runs before the filter. */
int kg_priv_drop_worker(const char *user, struct kg_err *e);

/* The worker's seccomp filter: the system calls of an event loop reading
 * sockets it already has; everything else fails with EPERM (execve,
 * open/openat, socket ...) rather than killing, so a test can observe it.
 * 0 or -errno. */
int kg_priv_seccomp(struct kg_err *e);

/* The monitor's drop: the bounding set loses every capability but those
 * in keep[0..n-1]; permitted and effective become keep; inheritable and
 * ambient empty. The uid stays (root-owned files stay readable). 0 or
 * -errno with e set. */
int kg_priv_keep_caps(const int *keep, size_t n, struct kg_err *e);

/* The worker's main: runs in the forked child with its end of the
 * socketpair; never returns (the child exits 1 if it does). */
typedef void (*kg_priv_child_fn)(void *ctx, int sock);

/* Forks the worker, joined to this process by a kg_priv_pair. The child
 * closes the monitor's end, then runs test_worker (a program, its end on
 * fd 3: test builds only, NULL otherwise) or child(ctx, its end). The
 * parent gets the child's *pid and its own end *sock (the caller's, until
 * kg_priv_reap). 0 or -errno with e set (nothing forked, nothing open). */
int kg_priv_spawn(kg_priv_child_fn child, void *ctx, const char *test_worker,
		  pid_t *pid, int *sock, struct kg_err *e);

/* Closes *sock (the worker's loop ends at end of stream) and waits for
 * *pid at most 2 s (the worker cannot be signalled: another uid, no
 * CAP_KILL; PR_SET_PDEATHSIG ends it with this process). Sets *sock -1
 * and *pid 0. Safe on a worker never spawned (-1 and 0). */
void kg_priv_reap(pid_t *pid, int *sock);

/* The monitor's answer to a request of type: status 0 or a positive
 * errno, no body. A failed send is ignored: a worker gone shows as its
 * socket's end of stream. */
void kg_priv_reply(int sock, uint8_t type, uint32_t status);
/* A refused request: one record (event=privsep result=refused
 * request=REQ reason=REASON addr=A; req and a may be NULL), then
 * kg_priv_reply with status. */
void kg_priv_refuse(int sock, uint8_t type, const char *req,
		    const char *reason, const struct kg_addr *a,
		    uint32_t status);

/* Test builds, in the dropped worker: tries execve, open(keyfile) and
 * socket(AF_NETLINK) as a compromised worker would and logs each errno
 * (event=privsep_probe). Changes nothing. */
void kg_priv_probe(const char *keyfile);

#endif
