/* SPDX-License-Identifier: MIT */
/*
 * A daemon's own nftables table (`inet knockgate`), and the hot path of
 * adding and deleting set and map elements.
 *
 * Table: kg_nft_table_replace() applies ruleset text (nft syntax; the same
 * text `nft list table inet knockgate` shows, reviewable by an admin)
 * in-process through libnftables, prefixed by "table; delete table" so
 * that the old copy is dropped and the new one created in ONE transaction:
 * either the new table is there whole or the old one stays. No other table
 * is named, so none is touched.
 *
 * Elements: libnftnl + libmnl batches on one long-lived netlink socket,
 * each message acked; kg_nft_batch_send() sends the batch with one
 * sendto, reads every ack, checks their sequence numbers and returns the
 * first error. The kernel applies a batch all or nothing: adding an
 * element that exists is not an error (no NLM_F_EXCL), deleting a missing
 * one is (-ENOENT) and aborts the whole batch.
 *
 * Keys and data are raw bytes in network order, as the set's type lays
 * them out: for concatenations (ipv4_addr . inet_service) every part is
 * padded to a multiple of 4 bytes; build them with kg_nft_key_*.
 */
#ifndef KG_NFT_H
#define KG_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KG_NFT_KEY_MAX 64    /* NFT_REG32_COUNT * 4 */

struct kg_nft;
struct kg_nft_batch;

struct kg_nft_key {
	uint8_t b[KG_NFT_KEY_MAX];
	size_t len;
};

/* Opens the netlink socket and the libnftables context for table (family
 * inet). *out owned by the caller (kg_nft_close). -errno, e says why. */
int kg_nft_open(struct kg_nft **out, const char *table, struct kg_err *e);
void kg_nft_close(struct kg_nft *n);

/* text: the whole "table inet NAME { ... }" definition. With check set,
 * only validated by the kernel (nothing changes). 0 or -EINVAL (e holds
 * nft's message), -ENOMEM. */
int kg_nft_table_replace(struct kg_nft *n, const char *text, bool check,
			 struct kg_err *e);
/* Deletes the table; 0 also when it was not there. */
int kg_nft_table_delete(struct kg_nft *n, struct kg_err *e);

/* A batch of element changes; owned by the caller (kg_nft_batch_free),
 * NULL if out of memory. */
struct kg_nft_batch *kg_nft_batch_new(struct kg_nft *n);
void kg_nft_batch_free(struct kg_nft_batch *b);
/* Queues adding (add true) or deleting an element of set (a set or map of
 * this table). data may be NULL (plain set). timeout_ms 0 = the set's
 * default. Copies key and data. 0, -EINVAL (sizes), -ENOMEM. */
int kg_nft_batch_elem(struct kg_nft_batch *b, bool add, const char *set,
		      const void *key, size_t key_len,
		      const void *data, size_t data_len, uint64_t timeout_ms);
/* Queues a renewal: the element ends up present with a fresh timeout_ms,
 * whether it still existed or had timed out. Re-adding an existing
 * element does not restart its expiry (kernel 6.18), and deleting a
 * missing one aborts the whole batch, so this queues add, delete, add:
 * one transaction, no gap, no -ENOENT. Same errors as kg_nft_batch_elem. */
int kg_nft_batch_refresh(struct kg_nft_batch *b, const char *set,
			 const void *key, size_t key_len,
			 const void *data, size_t data_len, uint64_t timeout_ms);
/* Sends and waits for every ack. 0 or the first -errno (e names the set). An
 * empty batch is 0. The batch may be freed or reused after. */
int kg_nft_batch_send(struct kg_nft_batch *b, struct kg_err *e);

/* Convenience: one element in one batch. */
int kg_nft_elem(struct kg_nft *n, bool add, const char *set, const void *key,
		size_t key_len, uint64_t timeout_ms, struct kg_err *e);

/* Reads one element of set (a lookup, no dump): 0 if present, with the
 * ms left before it times out in *expires_ms (0 if it has no timeout;
 * expires_ms may be NULL); -ENOENT if absent or timed out; -EINVAL for
 * bad sizes, other -errno (e says why). Synchronous: one request, its
 * answer and ack on the table's socket. */
int kg_nft_elem_get(struct kg_nft *n, const char *set, const void *key,
		    size_t key_len, uint64_t *expires_ms, struct kg_err *e);

/* Key building: each part padded with zeros to a multiple of 4 bytes
 * (nftables' register layout for concatenations). -EMSGSIZE if full. */
void kg_nft_key_init(struct kg_nft_key *k);
int kg_nft_key_put(struct kg_nft_key *k, const void *bytes, size_t n);
int kg_nft_key_put_port(struct kg_nft_key *k, uint16_t port_host_order);

#endif
