/* SPDX-License-Identifier: MIT */
/*
 * What kg-sknock-send and kg-sknock-batch share: the options that say
 * who signs, who answers and where the bytes go
 *
 *   -k GREEN_KEY -C RED_CERT -g GREEN_ID -r RED_ID [-T OFFSET_S]
 *   [-b LOCAL_ADDR] [-I IFNAME] [-o SAVE_FILE | -i REPLAY_FILE]
 *   RED_ADDR PORT
 *
 * and the steps both take with them before the exchange: load the key
 * and certificate, open the socket, save the packet. Messages go to
 * stderr prefixed with the tool's name. Test-only (tests/tools).
 */
#ifndef KG_TESTS_SKNOCK_ARGS_H
#define KG_TESTS_SKNOCK_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "pki.h"
#include "red_client.h"

struct sknock_args {
	const char *prog;                       /* the tool's name */
	const char *key, *cert, *save, *replay, *bind, *dev;
	char green_id[KG_SK_ID_MAX + 1], red_id[KG_SK_ID_MAX + 1];
	long offset;                            /* -T: seconds added to now */
	struct kg_addr red;
	uint16_t port;
};

/* A tool's own option c (one of its own_opts letters) with its argument:
 * 0, or -1 for a usage error. */
typedef int (*sknock_own_opt)(void *ctx, int c, const char *arg);

/* getopt over argv with the shared options and own_opts (getopt's form),
 * then RED_ADDR PORT. 0, or -1 on a usage error: an unknown option, an
 * own option refused, not two operands, RED_ADDR no address, no -C, or
 * neither -i nor -k. a->prog must be set; everything else is filled. */
int sknock_args_parse(struct sknock_args *a, int argc, char **argv,
		      const char *own_opts, sknock_own_opt own, void *ctx);

/* -C's certificate and -k's host key (*key stays NULL without -k), both
 * the caller's to free (X509_free, kg_hostkey_free). 0, or -1 with the
 * reason on stderr. */
int sknock_args_load(const struct sknock_args *a, X509 **cert,
		     struct kg_hostkey **key);

/* A UDP socket bound to -b's address (any address of RED_ADDR's family
 * without it), on -I's interface if given. 0 with *fd the caller's, or
 * -1 with the reason on stderr. */
int sknock_args_socket(const struct sknock_args *a, int *fd);

/* Writes the packet to -o's file if -o was given; a failure is reported
 * on stderr and is no error (the exchange goes on). */
void sknock_args_save(const struct sknock_args *a, const uint8_t *pkt,
		      size_t len);

#endif
