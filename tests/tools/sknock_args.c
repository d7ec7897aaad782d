/* SPDX-License-Identifier: MIT */
#include "sknock_args.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#define SHARED_OPTS "k:C:g:r:T:b:I:o:i:"

int sknock_args_parse(struct sknock_args *a, int argc, char **argv,
		      const char *own_opts, sknock_own_opt own, void *ctx)
{
	char opts[64];
	int c;

	snprintf(opts, sizeof(opts), "%s%s", SHARED_OPTS, own_opts);
	while ((c = getopt(argc, argv, opts)) != -1) {
		switch (c) {
		case 'k': a->key = optarg; break;
		case 'C': a->cert = optarg; break;
		case 'g': snprintf(a->green_id, sizeof(a->green_id), "%s", optarg); break;
		case 'r': snprintf(a->red_id, sizeof(a->red_id), "%s", optarg); break;
		case 'T': a->offset = strtol(optarg, NULL, 0); break;
		case 'b': a->bind = optarg; break;
		case 'I': a->dev = optarg; break;
		case 'o': a->save = optarg; break;
		case 'i': a->replay = optarg; break;
		case '?': return -1;
		default:
			if (own(ctx, c, optarg))
				return -1;
		}
	}
	if (argc - optind != 2 || kg_addr_parse(argv[optind], &a->red) ||
	    !a->cert || (!a->replay && !a->key))
		return -1;
	a->port = (uint16_t)strtoul(argv[optind + 1], NULL, 10);
	return 0;
}

int sknock_args_load(const struct sknock_args *a, X509 **cert,
		     struct kg_hostkey **key)
{
	struct kg_err e = { "" };
	FILE *f = fopen(a->cert, "r");

	*key = NULL;
	*cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!*cert || (a->key && kg_hostkey_load(key, a->key, &e))) {
		fprintf(stderr, "%s: %s\n", a->prog, e.msg[0] ? e.msg : a->cert);
		return -1;
	}
	return 0;
}

int sknock_args_socket(const struct sknock_args *a, int *fd)
{
	struct kg_addr local = { .family = a->red.family };

	if ((a->bind && kg_addr_parse(a->bind, &local)) ||
	    kg_rc_sock_open(&local, 0, a->dev, fd)) {
		fprintf(stderr, "%s: cannot bind\n", a->prog);
		return -1;
	}
	return 0;
}

void sknock_args_save(const struct sknock_args *a, const uint8_t *pkt,
		      size_t len)
{
	FILE *f;

	if (!a->save)
		return;
	f = fopen(a->save, "wb");
	if (!f || fwrite(pkt, 1, len, f) != len)
		fprintf(stderr, "%s: cannot save %s\n", a->prog, a->save);
	if (f)
		fclose(f);
}
