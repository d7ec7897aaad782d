/* SPDX-License-Identifier: MIT */
#include "forward.h"
#include "grant_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF 16384

struct conn {
	int a, b;                     /* local side, upstream; -1 = free */
	size_t spec;
	bool connecting;              /* upstream connect in progress */
	bool a_eof, b_eof;            /* read side ended */
	bool a_shut, b_shut;          /* write side shut down */
	size_t ab_len, ab_off;        /* local -> upstream */
	size_t ba_len, ba_off;        /* upstream -> local */
	uint8_t ab[BUF], ba[BUF];
};

struct kg_forwarder {
	struct kg_fwd_spec spec[KG_FWD_MAX];
	int lfd[KG_FWD_MAX];
	size_t n;
	int wake[2];
	pthread_t th;
	bool running;
	unsigned long n_conns;
	struct conn *c;               /* KG_FWD_MAX_CONNS, owned */
};

static int parse_place(const char *v, struct kg_fwd_spec *out,
		       struct kg_err *e)
{
	char host[64];
	const char *colon, *ps = v;
	char *end;
	unsigned long port;

	memset(&out->addr, 0, sizeof(out->addr));
	out->addr.family = AF_INET;
	out->addr.b[0] = 127;
	out->addr.b[3] = 1;
	if (v[0] == '[') {
		const char *rb = strchr(v, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - v - 1) >= sizeof(host))
			goto bad;
		memcpy(host, v + 1, (size_t)(rb - v - 1));
		host[rb - v - 1] = '\0';
		if (kg_addr_parse(host, &out->addr))
			goto bad;
		ps = rb + 2;
	} else if ((colon = strrchr(v, ':'))) {
		if ((size_t)(colon - v) >= sizeof(host))
			goto bad;
		memcpy(host, v, (size_t)(colon - v));
		host[colon - v] = '\0';
		if (kg_addr_parse(host, &out->addr))
			goto bad;
		ps = colon + 1;
	}
	errno = 0;
	port = strtoul(ps, &end, 10);
	if (errno || end == ps || *end || port == 0 || port > 65535)
		goto bad;
	out->port = (uint16_t)port;
	return 0;
bad:
	kg_err_set(e, "'%s': expected [ADDR:]PORT (e.g. 8080 or 127.0.0.1:8080)", v);
	return -EINVAL;
}

int kg_fwd_spec_value(const char *service, const char *value,
		      struct kg_fwd_spec *out, struct kg_err *e)
{
	size_t n = strlen(service);

	if (n == 0 || n > KG_CTRL_MAX_NAME ||
	    !kg_ctrl_name_ok((const uint8_t *)service, n)) {
		kg_err_set(e, "'%s' is not a service name", service);
		return -EINVAL;
	}
	memcpy(out->service, service, n + 1);
	return parse_place(value, out, e);
}

int kg_fwd_spec_parse(const char *s, struct kg_fwd_spec *out, struct kg_err *e)
{
	const char *eq = strchr(s, '=');
	char name[KG_CTRL_MAX_NAME + 2];
	size_t n;

	if (!eq)
		return 1;
	n = (size_t)(eq - s);
	if (n == 0 || n >= sizeof(name)) {
		kg_err_set(e, "'%s': expected SERVICE=[ADDR:]PORT", s);
		return -EINVAL;
	}
	memcpy(name, s, n);
	name[n] = '\0';
	return kg_fwd_spec_value(name, eq + 1, out, e);
}

int kg_fwd_listen(struct kg_forwarder **out, const struct kg_fwd_spec *specs,
		  size_t n, struct kg_err *e)
{
	struct kg_forwarder *f = calloc(1, sizeof(*f));
	int rc = 0, on = 1;

	*out = NULL;
	if (!f || !(f->c = calloc(KG_FWD_MAX_CONNS, sizeof(*f->c)))) {
		free(f);
		return -ENOMEM;
	}
	f->wake[0] = f->wake[1] = -1;
	for (size_t i = 0; i < KG_FWD_MAX_CONNS; i++)
		f->c[i].a = f->c[i].b = -1;
	for (size_t i = 0; i < n && i < KG_FWD_MAX; i++, f->n++) {
		struct sockaddr_storage ss;
		socklen_t sl = kg_addr_to_sockaddr(&specs[i].addr, specs[i].port, &ss);
		char a[KG_ADDR_STRLEN];
		int fd;

		f->spec[i] = specs[i];
		f->lfd[i] = -1;
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
		    bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
			rc = -errno;
			kg_err_set(e, "forward %s: listening on %s port %u: %s",
				   specs[i].service, kg_addr_str(&specs[i].addr, a),
				   specs[i].port, strerror(errno));
			if (fd >= 0)
				close(fd);
			f->n++;
			kg_fwd_stop(f);
			return rc;
		}
		f->lfd[i] = fd;
	}
	if (n > KG_FWD_MAX) {
		kg_err_set(e, "at most %d forwarded services", KG_FWD_MAX);
		kg_fwd_stop(f);
		return -E2BIG;
	}
	if (pipe2(f->wake, O_CLOEXEC | O_NONBLOCK)) {
		rc = -errno;
		kg_err_set(e, "forward: %s", strerror(errno));
		kg_fwd_stop(f);
		return rc;
	}
	*out = f;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->a >= 0)
		close(c->a);
	if (c->b >= 0)
		close(c->b);
	c->a = c->b = -1;
}

static void on_accept(struct kg_forwarder *f, size_t s)
{
	struct sockaddr_storage from, to;
	socklen_t fl = sizeof(from), tl;
	char fa[INET6_ADDRSTRLEN] = "?", ta[KG_ADDR_STRLEN];
	struct kg_addr addr;
	uint16_t port, fp = 0;
	struct conn *c = NULL;
	int a = accept4(f->lfd[s], (struct sockaddr *)&from, &fl,
			SOCK_NONBLOCK | SOCK_CLOEXEC), b;

	if (a < 0)
		return;
	for (size_t i = 0; i < KG_FWD_MAX_CONNS && !c; i++)
		if (f->c[i].a < 0)
			c = &f->c[i];
	if (!c || kg_grant_target(f->spec[s].service, &addr, &port)) {
		fprintf(stderr, "knockgate connect: forward %s: %s, connection "
			"refused\n", f->spec[s].service,
			c ? "not granted (yet)" : "too many connections");
		close(a);
		return;
	}
	tl = kg_addr_to_sockaddr(&addr, port, &to);
	b = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (b < 0 || (connect(b, (struct sockaddr *)&to, tl) && errno != EINPROGRESS)) {
		fprintf(stderr, "knockgate connect: forward %s: connecting to %s "
			"port %u: %s\n", f->spec[s].service, kg_addr_str(&addr, ta),
			port, strerror(errno));
		if (b >= 0)
			close(b);
		close(a);
		return;
	}
	memset(c, 0, offsetof(struct conn, ab));
	c->a = a;
	c->b = b;
	c->spec = s;
	c->connecting = true;
	if (from.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&from;

		inet_ntop(AF_INET, &sin->sin_addr, fa, sizeof(fa));
		fp = ntohs(sin->sin_port);
	} else if (from.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&from;

		inet_ntop(AF_INET6, &sin6->sin6_addr, fa, sizeof(fa));
		fp = ntohs(sin6->sin6_port);
	}
	printf("forward %s: connection %lu from %s:%u to %s:%u\n",
	       f->spec[s].service, ++f->n_conns, fa, fp, kg_addr_str(&addr, ta),
	       port);
	fflush(stdout);
}

/* Moves bytes one step in one direction: read when the buffer is
 * empty, write what is buffered, pass an end of stream on as a
 * shutdown. false: the connection is over (an error). */
static bool pump(int from, int to, uint8_t *buf, size_t *len, size_t *off,
		 bool *eof, bool *shut, short rev_from, short rev_to)
{
	ssize_t r;

	if ((rev_from & (POLLIN | POLLHUP | POLLERR)) && !*eof && *len == 0) {
		r = recv(from, buf, BUF, 0);
		if (r > 0) {
			*len = (size_t)r;
			*off = 0;
		} else if (r == 0) {
			*eof = true;
		} else if (errno != EAGAIN && errno != EINTR) {
			return false;
		}
	}
	if (*len > *off && (rev_to & POLLOUT || rev_from & POLLIN)) {
		r = send(to, buf + *off, *len - *off, MSG_NOSIGNAL);
		if (r > 0)
			*off += (size_t)r;
		else if (r < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (*off == *len)
			*len = *off = 0;
	}
	if (*eof && *len == 0 && !*shut) {
		shutdown(to, SHUT_WR);
		*shut = true;
	}
	return true;
}

static void on_conn(struct conn *c, short ra, short rb)
{
	if (c->connecting) {
		int err = 0;
		socklen_t el = sizeof(err);

		if (!(rb & (POLLOUT | POLLERR | POLLHUP)))
			return;
		if (getsockopt(c->b, SOL_SOCKET, SO_ERROR, &err, &el) || err) {
			conn_close(c);
			return;
		}
		c->connecting = false;
		return;
	}
	if (!pump(c->a, c->b, c->ab, &c->ab_len, &c->ab_off, &c->a_eof,
		  &c->b_shut, ra, rb) ||
	    !pump(c->b, c->a, c->ba, &c->ba_len, &c->ba_off, &c->b_eof,
		  &c->a_shut, rb, ra) ||
	    (c->a_shut && c->b_shut))
		conn_close(c);
}

static void *run(void *arg)
{
	struct kg_forwarder *f = arg;
	struct pollfd pfd[1 + KG_FWD_MAX + 2 * KG_FWD_MAX_CONNS];
	int idx[KG_FWD_MAX_CONNS];

	for (;;) {
		nfds_t n = 0;

		pfd[n++] = (struct pollfd){ .fd = f->wake[0], .events = POLLIN };
		for (size_t i = 0; i < f->n; i++)
			pfd[n++] = (struct pollfd){ .fd = f->lfd[i], .events = POLLIN };
		for (size_t i = 0; i < KG_FWD_MAX_CONNS; i++) {
			struct conn *c = &f->c[i];
			short ea = 0, eb = 0;

			idx[i] = -1;
			if (c->a < 0)
				continue;
			if (c->connecting) {
				eb = POLLOUT;
			} else {
				ea = (short)((!c->a_eof && c->ab_len == 0 ? POLLIN : 0) |
					     (c->ba_len > c->ba_off ? POLLOUT : 0));
				eb = (short)((!c->b_eof && c->ba_len == 0 ? POLLIN : 0) |
					     (c->ab_len > c->ab_off ? POLLOUT : 0));
			}
			idx[i] = (int)n;
			pfd[n++] = (struct pollfd){ .fd = c->a, .events = ea };
			pfd[n++] = (struct pollfd){ .fd = c->b, .events = eb };
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents)
			break;
		for (size_t i = 0; i < f->n; i++)
			if (pfd[1 + i].revents & POLLIN)
				on_accept(f, i);
		for (size_t i = 0; i < KG_FWD_MAX_CONNS; i++)
			if (idx[i] >= 0 && f->c[i].a >= 0)
				on_conn(&f->c[i], pfd[idx[i]].revents,
					pfd[idx[i] + 1].revents);
	}
	return NULL;
}

int kg_fwd_start(struct kg_forwarder *f)
{
	int rc;

	if (f->running)
		return 0;
	rc = pthread_create(&f->th, NULL, run, f);
	if (rc)
		return -rc;
	f->running = true;
	return 0;
}

void kg_fwd_stop(struct kg_forwarder *f)
{
	if (!f)
		return;
	if (f->running) {
		if (write(f->wake[1], "x", 1) < 0)
			perror("knockgate connect: forward");
		pthread_join(f->th, NULL);
	}
	for (size_t i = 0; f->c && i < KG_FWD_MAX_CONNS; i++)
		conn_close(&f->c[i]);
	for (size_t i = 0; i < f->n; i++)
		if (f->lfd[i] >= 0)
			close(f->lfd[i]);
	if (f->wake[0] >= 0)
		close(f->wake[0]);
	if (f->wake[1] >= 0)
		close(f->wake[1]);
	free(f->c);
	free(f);
}
