/* SPDX-License-Identifier: MIT */
/* wireguard-go's UAPI: "set=1"/"get=1" then key=value lines, an empty
 * line; answers end with "errno=N" and an empty line. Keys are hex. */
#include "wg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "strbuf.h"

/* Only a bound against a runaway answer: a peer is about 300 bytes of
 * dump, so this is room for over 3 million peers (the dump is read only
 * when a session's liveness needs it, never on a fixed tick). */
#define UAPI_MAX ((size_t)1 << 30)

int kg_wg_uapi_path(const char *ifname, char *buf, size_t cap)
{
	int n;

	if (!ifname[0] || strlen(ifname) >= KG_WG_IFNAMSIZ || strchr(ifname, '/'))
		return -EINVAL;
	n = snprintf(buf, cap, "%s/%s.sock", KG_WG_SOCKET_DIR, ifname);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

bool kg_wg_uapi_exists(const char *ifname)
{
	char path[108];
	struct stat st;

	return kg_wg_uapi_path(ifname, path, sizeof(path)) == 0 &&
	       stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void put_key(struct kg_sb *o, const char *name, const uint8_t k[KG_KEY_LEN])
{
	char hex[2 * KG_KEY_LEN + 1];

	kg_hex_encode(k, KG_KEY_LEN, hex);
	kg_sb_printf(o, "%s=%s\n", name, hex);
	kg_wipe(hex, sizeof(hex));
}

static void put_endpoint(struct kg_sb *o, const struct kg_wg_peer *p)
{
	char a[INET6_ADDRSTRLEN];

	if (p->endpoint.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &p->endpoint.in.sin_addr, a, sizeof(a));
		kg_sb_printf(o, "endpoint=%s:%u\n", a,
			     ntohs(p->endpoint.in.sin_port));
	} else {
		inet_ntop(AF_INET6, &p->endpoint.in6.sin6_addr, a, sizeof(a));
		kg_sb_printf(o, "endpoint=[%s]:%u\n", a,
			     ntohs(p->endpoint.in6.sin6_port));
	}
}

static void put_peer(struct kg_sb *o, const struct kg_wg_peer *p)
{
	char a[KG_ADDR_STRLEN];

	put_key(o, "public_key", p->public_key);
	if (p->remove) {
		kg_sb_printf(o, "remove=true\n");
		return;
	}
	if (p->has_endpoint)
		put_endpoint(o, p);
	if (p->has_keepalive)
		kg_sb_printf(o, "persistent_keepalive_interval=%u\n",
			     p->keepalive_s);
	if (p->replace_allowed_ips)
		kg_sb_printf(o, "replace_allowed_ips=true\n");
	for (size_t i = 0; i < p->n_allowed && i < KG_WG_MAX_ALLOWED; i++)
		kg_sb_printf(o, "allowed_ip=%s/%u\n",
			     kg_addr_str(&p->allowed[i].a, a), p->allowed[i].len);
}

int kg_wg_uapi_format_set(const struct kg_wg_device *dev, char *buf,
			  size_t cap, size_t *len)
{
	struct kg_sb o;

	kg_sb_fixed(&o, buf, cap);
	kg_sb_printf(&o, "set=1\n");
	if (dev->has_private_key)
		put_key(&o, "private_key", dev->private_key);
	if (dev->has_listen_port)
		kg_sb_printf(&o, "listen_port=%u\n", dev->listen_port);
	if (dev->replace_peers)
		kg_sb_printf(&o, "replace_peers=true\n");
	for (size_t i = 0; i < dev->n_peers; i++)
		put_peer(&o, &dev->peers[i]);
	kg_sb_printf(&o, "\n");
	if (kg_sb_error(&o)) {
		kg_wipe(buf, cap);
		return -EMSGSIZE;
	}
	*len = o.len;
	return 0;
}

void kg_wg_device_free(struct kg_wg_device *d)
{
	free(d->peers);
	kg_wipe(d, sizeof(*d));
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	if (*v < '0' || *v > '9')
		return -EPROTO;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x > max)
		return -EPROTO;
	*out = x;
	return 0;
}

static int parse_endpoint(const char *v, struct kg_wg_peer *p)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(v, ':');
	uint64_t port;
	size_t n;

	if (!colon || parse_u64(colon + 1, 65535, &port))
		return -EPROTO;
	n = (size_t)(colon - v);
	if (n >= sizeof(host))
		return -EPROTO;
	memcpy(host, v, n);
	host[n] = '\0';
	memset(&p->endpoint, 0, sizeof(p->endpoint));
	if (host[0] == '[' && n > 2 && host[n - 1] == ']') {
		host[n - 1] = '\0';
		p->endpoint.in6.sin6_family = AF_INET6;
		p->endpoint.in6.sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &p->endpoint.in6.sin6_addr) != 1)
			return -EPROTO;
	} else {
		p->endpoint.in.sin_family = AF_INET;
		p->endpoint.in.sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &p->endpoint.in.sin_addr) != 1)
			return -EPROTO;
	}
	p->has_endpoint = true;
	return 0;
}

static int new_peer(struct kg_wg_device *d, const char *v)
{
	struct kg_wg_peer *n = d->peers;

	/* Doubling at each power of two: a dump of n peers costs O(n). */
	if ((d->n_peers & (d->n_peers - 1)) == 0) {
		n = realloc(d->peers, (d->n_peers ? 2 * d->n_peers : 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		d->peers = n;
	}
	memset(&n[d->n_peers], 0, sizeof(*n));
	if (kg_hex_decode(v, n[d->n_peers].public_key, KG_KEY_LEN))
		return -EPROTO;
	d->n_peers++;
	return 0;
}

static int peer_line(struct kg_wg_peer *p, const char *k, const char *v)
{
	uint64_t x;

	if (!strcmp(k, "endpoint"))
		return parse_endpoint(v, p);
	if (!strcmp(k, "allowed_ip")) {
		if (p->n_allowed >= KG_WG_MAX_ALLOWED)
			return 0;   /* more than we manage: not ours to show */
		if (kg_prefix_parse(v, &p->allowed[p->n_allowed]))
			return -EPROTO;
		p->n_allowed++;
		return 0;
	}
	if (!strcmp(k, "persistent_keepalive_interval")) {
		if (parse_u64(v, 65535, &x))
			return -EPROTO;
		p->has_keepalive = true;
		p->keepalive_s = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "last_handshake_time_sec"))
		return parse_u64(v, UINT64_MAX, &p->last_handshake_sec);
	if (!strcmp(k, "last_handshake_time_nsec"))
		return parse_u64(v, UINT64_MAX, &p->last_handshake_nsec);
	if (!strcmp(k, "rx_bytes"))
		return parse_u64(v, UINT64_MAX, &p->rx_bytes);
	if (!strcmp(k, "tx_bytes"))
		return parse_u64(v, UINT64_MAX, &p->tx_bytes);
	return 0;   /* preshared_key, protocol_version, ...: not used */
}

static int get_line(struct kg_wg_device *d, const char *k, const char *v)
{
	uint64_t x;

	if (!strcmp(k, "private_key")) {
		d->has_private_key = true;
		return kg_hex_decode(v, d->private_key, KG_KEY_LEN) ? -EPROTO : 0;
	}
	if (!strcmp(k, "listen_port")) {
		if (parse_u64(v, 65535, &x))
			return -EPROTO;
		d->has_listen_port = true;
		d->listen_port = (uint16_t)x;
		return 0;
	}
	if (!strcmp(k, "public_key"))
		return new_peer(d, v);
	if (d->n_peers)
		return peer_line(&d->peers[d->n_peers - 1], k, v);
	return 0;   /* fwmark and friends */
}

int kg_wg_uapi_parse_get(const char *text, size_t len,
			 struct kg_wg_device *out, int *remote_errno)
{
	size_t pos = 0;
	int rc = -EPROTO;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		char line[256], *eq;
		size_t n;
		uint64_t e;

		if (!nl)
			break;
		n = (size_t)(nl - (text + pos));
		if (n >= sizeof(line))
			break;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + 1;
		eq = strchr(line, '=');
		if (!eq)
			break;
		*eq = '\0';
		if (!strcmp(line, "errno")) {
			if (parse_u64(eq + 1, 4095, &e) == 0) {
				*remote_errno = (int)e;
				rc = 0;
			}
			break;
		}
		rc = get_line(out, line, eq + 1);
		if (rc)
			break;
		rc = -EPROTO;
	}
	kg_wipe(out->private_key, sizeof(out->private_key));
	out->has_private_key = false;   /* callers never need it back */
	if (rc)
		kg_wg_device_free(out);
	return rc;
}

static int uapi_connect(const char *ifname)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd, rc;

	rc = kg_wg_uapi_path(ifname, sun.sun_path, sizeof(sun.sun_path));
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static bool answer_done(const char *b, size_t n)
{
	size_t s;

	/* The answer ends with an "errno=N" line and an empty line. */
	if (n < 9 || b[n - 1] != '\n' || b[n - 2] != '\n')
		return false;
	s = n - 2;
	while (s > 0 && b[s - 1] != '\n')
		s--;
	return n - 2 - s >= 7 && !strncmp(b + s, "errno=", 6);
}

/* Sends req and reads the whole answer into *ans (malloc'd, caller frees). */
static int uapi_talk(const char *ifname, const char *req, size_t req_len,
		     char **ans, size_t *ans_len)
{
	size_t cap = 4096, n = 0;
	char *b = NULL;
	int fd = uapi_connect(ifname), rc = 0;

	if (fd < 0)
		return fd;
	for (size_t off = 0; off < req_len;) {
		ssize_t w = write(fd, req + off, req_len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			goto out;
		}
		off += (size_t)w;
	}
	b = malloc(cap);
	while (b && !answer_done(b, n)) {
		ssize_t r;

		if (n == cap) {
			char *nb = cap < UAPI_MAX ? realloc(b, cap * 2) : NULL;

			if (!nb) {
				rc = cap < UAPI_MAX ? -ENOMEM : -EMSGSIZE;
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EPROTO;
			goto out;
		}
		n += (size_t)r;
	}
	if (!b)
		rc = -ENOMEM;
out:
	close(fd);
	if (rc) {
		free(b);
		return rc;
	}
	*ans = b;
	*ans_len = n;
	return 0;
}

int kg_wg_uapi_set(const char *ifname, const struct kg_wg_device *dev)
{
	size_t cap = 512 + dev->n_peers * (200 + KG_WG_MAX_ALLOWED * 60), len;
	char *req = malloc(cap), *ans = NULL;
	struct kg_wg_device tmp;
	int rc, remote = 0;
	size_t ans_len;

	if (!req)
		return -ENOMEM;
	rc = kg_wg_uapi_format_set(dev, req, cap, &len);
	if (!rc)
		rc = uapi_talk(ifname, req, len, &ans, &ans_len);
	kg_wipe(req, cap);
	free(req);
	if (rc)
		return rc;
	/* A set answer is just errno=N. */
	rc = kg_wg_uapi_parse_get(ans, ans_len, &tmp, &remote);
	kg_wg_device_free(&tmp);
	free(ans);
	return rc ? rc : -remote;
}

int kg_wg_uapi_get(const char *ifname, struct kg_wg_device *out)
{
	static const char req[] = "get=1\n\n";
	char *ans = NULL;
	size_t ans_len;
	int rc, remote = 0;

	memset(out, 0, sizeof(*out));
	rc = uapi_talk(ifname, req, sizeof(req) - 1, &ans, &ans_len);
	if (rc)
		return rc;
	rc = kg_wg_uapi_parse_get(ans, ans_len, out, &remote);
	kg_wipe(ans, ans_len);
	free(ans);
	if (!rc && remote) {
		kg_wg_device_free(out);
		rc = -remote;
	}
	return rc;
}
