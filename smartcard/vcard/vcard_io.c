/* SPDX-License-Identifier: MIT */
/* vpcd connection and message loop: see vcard_io.h. */
#include "vcard_io.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/crypto.h>

#include "log.h"

int vcard_io_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -ECONNREFUSED, one = 1;

	if (getaddrinfo(host, port, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			fd = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -errno;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads exactly n bytes; 1 on success, 0 on EOF or leave(), -errno. */
static int read_full(int fd, uint8_t *p, size_t n, int (*leave)(void))
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (n) {
		ssize_t r;

		if (leave())
			return 0;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = read(fd, p, n);
		if (r == 0)
			return 0;
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0)
			return -errno;
		p += r, n -= (size_t)r;
	}
	return 1;
}

static int send_msg(int fd, const uint8_t *p, size_t n)
{
	uint8_t b[2 + VCARD_OUT_MAX];

	if (n > VCARD_OUT_MAX)
		return -EMSGSIZE;
	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	memcpy(b + 2, p, n);
	n += 2;
	for (size_t off = 0; off < n;) {
		ssize_t w = write(fd, b + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (size_t)w;
	}
	return 0;
}

static void log_pin_op(const uint8_t *apdu, size_t n, const uint8_t *out,
		       size_t olen)
{
	static const struct { uint8_t ins; const char *name; } ops[] = {
		{ 0x20, "verify" }, { 0x24, "change" }, { 0x2c, "unblock" } };
	char sw[8];

	if (n < 6 || olen < 2)
		return;   /* status-only VERIFY is not an attempt */
	snprintf(sw, sizeof(sw), "%02X%02X", out[olen - 2], out[olen - 1]);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (apdu[1] == ops[i].ins)
			kg_log_event(KG_LOG_NOTICE, "vcard", "op", ops[i].name,
				     "result", out[olen - 2] == 0x90 ? "ok" :
				     "refused", "sw", sw);
}

static int handle(int fd, struct vcard *v, const char *path,
		  const uint8_t *in, size_t n)
{
	uint8_t out[VCARD_OUT_MAX], atr[VCARD_ATR_MAX];
	struct kg_err e = { "" };
	size_t olen = 0;

	if (n == 1) {
		if (in[0] == 0x04)
			return send_msg(fd, atr, vcard_atr(atr));
		if (in[0] <= 0x02)
			vcard_reset(v);   /* power off, on, reset */
		return 0;
	}
	if (vcard_apdu(v, in, n, out, sizeof(out), &olen))
		return -EINVAL;
	if (v->dirty) {
		/* Persist first: a counter that did not reach the disk must
		 * not be acted on, or a restart would give tries back. */
		if (vcard_save(v, path, &e)) {
			kg_log_event(KG_LOG_ERR, "vcard", "result", "save_failed",
				     "error", e.msg);
			return -EIO;
		}
		v->dirty = false;
	}
	log_pin_op(in, n, out, olen);
	return send_msg(fd, out, olen);
}

int vcard_io_serve(int fd, struct vcard *v, const char *path,
		   int (*leave)(void))
{
	uint8_t hdr[2], body[VCARD_IN_MAX];
	size_t n;
	int rc;

	for (;;) {
		rc = read_full(fd, hdr, 2, leave);
		if (rc <= 0)
			break;
		n = (size_t)hdr[0] << 8 | hdr[1];
		if (n == 0 || n > sizeof(body))
			return 0;   /* not vpcd: drop the connection */
		rc = read_full(fd, body, n, leave);
		if (rc <= 0)
			break;
		rc = handle(fd, v, path, body, n);
		OPENSSL_cleanse(body, n);   /* it may have held a PIN */
		if (rc == -EIO)
			return rc;
		if (rc)
			return 0;
	}
	return rc < 0 && rc != -EIO ? 0 : rc;
}
