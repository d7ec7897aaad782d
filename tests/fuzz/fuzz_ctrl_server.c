/* SPDX-License-Identifier: MIT */
/* Green's control server state machine fed arbitrary client bytes: the
 * daemon's side is faked so that any certificate starting with 0x30 and
 * any signature whose first byte is 0x30 pass, letting inputs reach the
 * live state (service requests, reproofs, close). Checks memory safety
 * and that the server always lets go of the connection. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "green/ctrl_server.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int64_t fake_ms;
static int64_t clock_ms(void *ctx) { (void)ctx; return fake_ms; }

static int f_lookup(void *ctx, const struct kg_addr *t, struct kg_ctrl_peer *p)
{
	(void)ctx;
	(void)t;
	memset(p, 0, sizeof(*p));
	p->session_id = 9;
	strcpy(p->user, "alice");
	return 0;
}

static int f_cert(void *ctx, const uint8_t *der, size_t len, void **cert,
		  uint8_t spki[32], const char **reason)
{
	(void)ctx;
	if (der[0] != 0x30) {
		*reason = "malformed";
		return -EACCES;
	}
	memset(spki, 0, 32);
	*cert = malloc(len);
	return *cert ? 0 : -ENOMEM;
}

static int f_sig(void *ctx, void *cert, const uint8_t d[32], const uint8_t *sig,
		 size_t len)
{
	(void)ctx;
	(void)cert;
	(void)d;
	(void)len;
	return sig[0] == 0x30 ? 0 : -EBADMSG;
}

static void f_free(void *ctx, void *cert) { (void)ctx; free(cert); }

static int f_live(void *ctx, uint64_t id, struct kg_ctrl_live *out)
{
	(void)ctx;
	(void)id;
	out->services[0] = "web";
	out->n_services = 1;
	return 0;
}

static void f_end(void *ctx, uint64_t id, enum kg_sess_end why)
{
	(void)ctx;
	(void)id;
	(void)why;
}

static int f_open(void *ctx, uint64_t id, const char *user, const char *svc,
		  struct kg_ctrl_grant *g, uint16_t *code)
{
	(void)ctx;
	(void)id;
	(void)user;
	if (svc[0] == 's')
		return -EINPROGRESS;
	if (svc[0] != 'w') {
		*code = KG_CODE_NOT_ALLOWED;
		return -EACCES;
	}
	kg_addr_parse("203.0.113.2", &g->addr);
	g->port = 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct kg_ctrl_ops ops = {
		.lookup = f_lookup, .verify_cert = f_cert, .verify_sig = f_sig,
		.cert_free = f_free, .session_live = f_live,
		.session_end = f_end, .open_service = f_open,
	};
	struct kg_ctrl_server_conf conf = { .io_timeout_ms = 1000,
					    .reproof_interval_ms = 500,
					    .max_clients = 2 };
	struct kg_ctrl_server *s;
	struct kg_addr tun;
	uint8_t sink[4096];
	int sv[2];

	kg_log_set_level(KG_LOG_ERR);
	fake_ms = 1;
	if (kg_ctrl_server_new(&s, &conf, &ops, clock_ms, NULL) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		abort();
	kg_addr_parse("10.88.1.10", &tun);
	if (kg_ctrl_server_add(s, sv[0], &tun))
		abort();
	/* in chunks, with time passing, so deadlines and reproofs happen */
	for (size_t off = 0; off < size;) {
		size_t n = size - off < 97 ? size - off : 97;

		if (send(sv[1], data + off, n, MSG_NOSIGNAL) < 0)
			break;
		off += n;
		kg_ctrl_server_run_once(s, -1, 0);
		kg_ctrl_server_service_done(s, 9, "slow", NULL, KG_CODE_UNAVAILABLE);
		fake_ms += 300;
		kg_ctrl_server_tick(s);
		while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
	/* A live connection whose reproof was just answered gets its next
	 * reproof request at the first late tick and its deadline only
	 * io_timeout after that: two steps of time, each past every
	 * deadline, must end it. */
	fake_ms += 5000;
	kg_ctrl_server_run_once(s, -1, 0);
	kg_ctrl_server_tick(s);
	fake_ms += 5000;
	kg_ctrl_server_tick(s);
	kg_ctrl_server_tick(s);
	if (kg_ctrl_server_count(s) != 0)
		abort();   /* every connection ends within its deadlines */
	kg_ctrl_server_free(s);
	close(sv[1]);
	return 0;
}
