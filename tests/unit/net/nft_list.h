/* SPDX-License-Identifier: MIT */
/*
 * The kernel tests' view of a table: `nft list table inet NAME` through a
 * libnftables context of its own (not the code under test), as an admin
 * would see it.
 */
#ifndef KG_TEST_NFT_LIST_H
#define KG_TEST_NFT_LIST_H

/* The listing of table inet name, "" if there is no such table. The text
 * is in a static buffer (up to 1 MiB, truncated beyond), overwritten by
 * the next call; the caller does not free it. Fails the test if no
 * libnftables context can be made. */
const char *nft_list_table(const char *name);

#endif
