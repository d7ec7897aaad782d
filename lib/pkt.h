/* SPDX-License-Identifier: MIT */
/*
 * Parses the network and transport headers of a packet that netfilter
 * logged (NFLOG copies the packet from its IP header on). The bytes are
 * untrusted: whatever a sender put on the wire. No I/O, no globals, so the
 * unit tests and the fuzzer (fuzz_pkt) call it directly.
 *
 * IPv4: version 4, IHL >= 5 and within the bytes, total length honoured
 * (bytes past it are ignored), fragments other than the first carry no L4
 * header (l4_ok false). IPv6: the fixed header, then hop-by-hop, routing,
 * destination-options and fragment headers are followed (at most 8);
 * any other next header stops the walk with that protocol and no ports.
 * TCP needs its 20-byte header and a data offset within the bytes; UDP its
 * 8 bytes. The payload is a view into the caller's buffer.
 */
#ifndef KG_PKT_H
#define KG_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct kg_pkt {
	struct kg_addr src, dst;
	uint8_t l4proto;           /* IPPROTO_TCP, IPPROTO_UDP, ... */
	bool l4_ok;                /* ports and payload are valid */
	uint16_t sport, dport;     /* host order */
	uint8_t tcp_flags;         /* TCP only */
	const uint8_t *payload;    /* view into the packet, not owned */
	size_t payload_len;
};

/*
 * Fills *p from the len bytes at data. Returns 0 (the IP header parsed;
 * l4_ok says whether ports are there), -EPROTONOSUPPORT (not IPv4/IPv6),
 * -EMSGSIZE (truncated or inconsistent IP header). With a valid IP header
 * but a truncated TCP/UDP header it returns 0 with l4_ok false.
 * p->payload points into data: it lives as long as data does.
 */
int kg_pkt_parse(const uint8_t *data, size_t len, struct kg_pkt *p);

#endif
