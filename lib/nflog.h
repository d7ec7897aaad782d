/* SPDX-License-Identifier: MIT */
/*
 * Reads the packets the daemon's table logs (`log group N`) through
 * nfnetlink_log over libmnl: binds the groups, copy mode "packet", queue
 * threshold 1 (each packet is sent at once: a knock is acted upon within
 * milliseconds, not at the next batch flush). The fd is non-blocking, for
 * an event loop: when it is readable call kg_nflog_dispatch().
 *
 * The raw packet is parsed by lib/pkt.c only (kg_pkt_parse); a packet it
 * refuses is counted, not passed on.
 */
#ifndef KG_NFLOG_H
#define KG_NFLOG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "pkt.h"

struct kg_nflog;

struct kg_nflog_pkt {
	uint16_t group;
	const char *prefix;   /* "" if none; valid during the callback */
	uint8_t family;       /* AF_INET or AF_INET6, from the IP header */
	uint32_t indev;       /* input interface index (the kernel's
				 NFULA_IFINDEX_INDEV); 0 if it gave none */
	struct kg_pkt pkt;    /* src, dst, l4proto, ports, payload view */
};

typedef void (*kg_nflog_cb)(void *ctx, const struct kg_nflog_pkt *p);

/* Binds groups[0..n-1]. *out owned by the caller (kg_nflog_close).
 * -EPERM (the kernel's answer) if another process holds a group, other
 * -errno; e says which group. */
int kg_nflog_open(struct kg_nflog **out, const uint16_t *groups, size_t n,
		  struct kg_err *e);
void kg_nflog_close(struct kg_nflog *l);
int kg_nflog_fd(const struct kg_nflog *l);
/* Reads everything queued and calls cb per packet. Returns the number of
 * packets handed over, or -errno of a socket error; -ENOBUFS means the
 * kernel dropped messages (the caller logs it and carries on). */
int kg_nflog_dispatch(struct kg_nflog *l, kg_nflog_cb cb, void *ctx);
/* Packets kg_pkt_parse refused, since open. */
uint64_t kg_nflog_n_malformed(const struct kg_nflog *l);

#endif
