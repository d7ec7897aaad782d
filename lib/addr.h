/* SPDX-License-Identifier: MIT */
/*
 * IPv4/IPv6 addresses and prefixes as plain values (network byte order),
 * the form nftables set keys and the IPS tables use.
 */
#ifndef KG_ADDR_H
#define KG_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define KG_ADDR_STRLEN 46

struct kg_addr {
	uint8_t family;   /* AF_INET or AF_INET6 */
	uint8_t b[16];    /* IPv4 uses the first 4 bytes; the rest are 0 */
};

struct kg_prefix {
	struct kg_addr a;
	uint8_t len;
};

/* 0 or -EINVAL. */
int kg_addr_parse(const char *s, struct kg_addr *a);
/* "ADDR/LEN" or a bare address (then LEN is the full length); bits past
 * LEN are cleared. 0 or -EINVAL. */
int kg_prefix_parse(const char *s, struct kg_prefix *p);
/* Writes into buf (KG_ADDR_STRLEN bytes) and returns it. */
const char *kg_addr_str(const struct kg_addr *a, char *buf);
size_t kg_addr_len(const struct kg_addr *a);   /* 4 or 16 */
bool kg_addr_eq(const struct kg_addr *x, const struct kg_addr *y);
bool kg_prefix_contains(const struct kg_prefix *p, const struct kg_addr *a);
/* What a ban is keyed on: an IPv4 address itself, an IPv6 address's /64
 * (one host has a whole /64 to pick forged sources from). */
void kg_addr_ban_key(const struct kg_addr *a, struct kg_addr *out);
void kg_addr_from_sockaddr(const struct sockaddr *sa, struct kg_addr *a);
/* The reverse, with a port (host order): fills ss (zeroing the rest) and
 * returns the length to pass to bind/connect/sendto. */
socklen_t kg_addr_to_sockaddr(const struct kg_addr *a, uint16_t port,
			      struct sockaddr_storage *ss);

#endif
