/* SPDX-License-Identifier: MIT */
#include "pkt.h"
#include "buf.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define KG_PKT_MAX_EXT 8

static void parse_l4(struct kg_reader *r, struct kg_pkt *p)
{
	uint16_t sport, dport;
	uint8_t off, flags;
	size_t hlen;

	if (p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP)
		return;
	if (kg_get_u16(r, &sport) || kg_get_u16(r, &dport))
		return;
	if (p->l4proto == IPPROTO_UDP) {
		if (kg_skip(r, 4))   /* length, checksum */
			return;
	} else {
		/* seq, ack, then data offset and flags */
		if (kg_skip(r, 8) || kg_get_u8(r, &off) || kg_get_u8(r, &flags))
			return;
		hlen = (size_t)(off >> 4) * 4;
		if (hlen < 20 || kg_skip(r, hlen - 14))
			return;
		p->tcp_flags = flags;
	}
	p->sport = sport;
	p->dport = dport;
	p->payload_len = kg_reader_left(r);
	if (kg_get_view(r, &p->payload, p->payload_len))
		return;
	p->l4_ok = true;
}

static int parse_v4(const uint8_t *data, size_t len, struct kg_pkt *p)
{
	struct kg_reader r;
	uint8_t vihl, proto;
	uint16_t total, frag;
	size_t ihl;

	kg_reader_init(&r, data, len);
	if (kg_get_u8(&r, &vihl) || kg_skip(&r, 1) || kg_get_u16(&r, &total) ||
	    kg_skip(&r, 2) || kg_get_u16(&r, &frag) || kg_skip(&r, 1) ||
	    kg_get_u8(&r, &proto) || kg_skip(&r, 2))
		return -EMSGSIZE;
	ihl = (size_t)(vihl & 0x0f) * 4;
	if (ihl < 20 || total < ihl || total > len)
		return -EMSGSIZE;
	p->src.family = p->dst.family = AF_INET;
	if (kg_get_bytes(&r, p->src.b, 4) || kg_get_bytes(&r, p->dst.b, 4) ||
	    kg_skip(&r, ihl - 20))
		return -EMSGSIZE;
	p->l4proto = proto;
	/* Only the first fragment carries the transport header. */
	if (frag & 0x1fff)
		return 0;
	kg_reader_init(&r, data + ihl, total - ihl);
	parse_l4(&r, p);
	return 0;
}

static bool is_v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 44;
}

static int parse_v6(const uint8_t *data, size_t len, struct kg_pkt *p)
{
	struct kg_reader r;
	uint16_t plen;
	uint8_t nh, hdr[2];
	uint16_t frag;
	bool later_fragment = false;

	kg_reader_init(&r, data, len);
	if (kg_skip(&r, 4) || kg_get_u16(&r, &plen) || kg_get_u8(&r, &nh) ||
	    kg_skip(&r, 1))
		return -EMSGSIZE;
	p->src.family = p->dst.family = AF_INET6;
	if (kg_get_bytes(&r, p->src.b, 16) || kg_get_bytes(&r, p->dst.b, 16))
		return -EMSGSIZE;
	if ((size_t)plen > kg_reader_left(&r))
		return -EMSGSIZE;
	kg_reader_init(&r, data + 40, plen);
	for (int i = 0; i < KG_PKT_MAX_EXT && is_v6_ext(nh); i++) {
		if (kg_get_bytes(&r, hdr, 2))
			goto stop;
		if (nh == 44) {
			if (kg_get_u16(&r, &frag) || kg_skip(&r, 4))
				goto stop;
			later_fragment = (frag & 0xfff8) != 0;
		} else if (kg_skip(&r, (size_t)hdr[1] * 8 + 6)) {
			goto stop;
		}
		nh = hdr[0];
	}
	p->l4proto = nh;
	if (!is_v6_ext(nh) && !later_fragment)
		parse_l4(&r, p);
	return 0;
stop:
	/* A truncated extension header: the IP header itself was fine. */
	p->l4proto = nh;
	return 0;
}

int kg_pkt_parse(const uint8_t *data, size_t len, struct kg_pkt *p)
{
	memset(p, 0, sizeof(*p));
	if (len < 1)
		return -EMSGSIZE;
	switch (data[0] >> 4) {
	case 4:
		return parse_v4(data, len, p);
	case 6:
		return parse_v6(data, len, p);
	default:
		return -EPROTONOSUPPORT;
	}
}
