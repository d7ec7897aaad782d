/* SPDX-License-Identifier: MIT */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int kg_addr_parse(const char *s, struct kg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->b) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

size_t kg_addr_len(const struct kg_addr *a)
{
	return a->family == AF_INET ? 4 : 16;
}

static void mask_bits(struct kg_addr *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = len > 8 * i ? len - 8 * i : 0;

		if (keep < 8)
			a->b[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int kg_prefix_parse(const char *s, struct kg_prefix *p)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len;
	char *end;

	if (n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (kg_addr_parse(buf, &p->a))
		return -EINVAL;
	len = kg_addr_len(&p->a) * 8;
	if (slash) {
		unsigned long max = len;

		if (!slash[1] || slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > max)
			return -EINVAL;
	}
	p->len = (uint8_t)len;
	mask_bits(&p->a, (unsigned)len);
	return 0;
}

const char *kg_addr_str(const struct kg_addr *a, char *buf)
{
	if (!inet_ntop(a->family == AF_INET ? AF_INET : AF_INET6, a->b, buf,
		       KG_ADDR_STRLEN))
		strcpy(buf, "?");
	return buf;
}

bool kg_addr_eq(const struct kg_addr *x, const struct kg_addr *y)
{
	return x->family == y->family && !memcmp(x->b, y->b, 16);
}

bool kg_prefix_contains(const struct kg_prefix *p, const struct kg_addr *a)
{
	struct kg_addr m = *a;

	if (a->family != p->a.family)
		return false;
	mask_bits(&m, p->len);
	return !memcmp(m.b, p->a.b, 16);
}

void kg_addr_ban_key(const struct kg_addr *a, struct kg_addr *out)
{
	*out = *a;
	if (a->family == AF_INET6)
		mask_bits(out, 64);
}

void kg_addr_from_sockaddr(const struct sockaddr *sa, struct kg_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		a->family = AF_INET;
		memcpy(a->b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		a->family = AF_INET6;
		memcpy(a->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

socklen_t kg_addr_to_sockaddr(const struct kg_addr *a, uint16_t port,
			      struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		memcpy(&in->sin_addr, a->b, 4);
		return sizeof(*in);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	memcpy(&in6->sin6_addr, a->b, 16);
	return sizeof(*in6);
}
