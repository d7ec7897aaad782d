/* SPDX-License-Identifier: MIT */
/*
 * kg-knock-load PROFILE_DIR USERS_CONF SRC...: for every [user NAME]
 * record in USERS_CONF (knock_key = 64 hex digits, as bench/flood-helper.py
 * users writes them), one first knock stamped now (wall clock), carrying
 * a fresh WireGuard public key (a random private key's, X25519), sent at
 * once as one UDP datagram to the profile's green address and knock port,
 * from the SRC addresses in turn (local addresses of the namespace: many
 * users behind few addresses, as behind a NAT, each source under green's
 * per-source knock rate). The rest of the knock (green's id, slot) comes
 * from the profile. t-scale-sessions holds thousands of sessions on green
 * with it. Test-only, never installed. Prints the number of knocks sent;
 * exit 0, or 1 with the reason on stderr.
 *
 * KG_KNOCK_BURST=B (bench/privsep-burst): every knock built first, then
 * sent B at a time in one sendmmsg from one source (the next source for
 * the next burst), KG_KNOCK_PAUSE_MS (default 200) between bursts: B = 1
 * puts each knock in a read of green's of its own, B = 64 a burst read at
 * once. Green's per-source knock_rate/knock_burst must allow B.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "client/knock_send.h"
#include "client/profile.h"
#include "crypto.h"
#include "time.h"

static int build_knock(const struct kg_profile *p, uint8_t k[KG_KNOCK_LEN])
{
	uint8_t priv[KG_KEY_LEN], pub[KG_KEY_LEN];

	if (kg_random(priv, sizeof(priv)) || kg_x25519_public(priv, pub))
		return -1;
	kg_wipe(priv, sizeof(priv));
	return kg_knock_build(p, pub, (uint64_t)kg_wall_ms(), k) ? -1 : 0;
}

static int send_knock(int fd, const struct kg_profile *p)
{
	uint8_t k[KG_KNOCK_LEN];
	struct sockaddr_storage to;
	socklen_t tl = kg_addr_to_sockaddr(&p->green_address, p->knock_port, &to);

	if (build_knock(p, k))
		return -1;
	return sendto(fd, k, sizeof(k), 0, (struct sockaddr *)&to, tl) ==
	       (ssize_t)sizeof(k) ? 0 : -1;
}

#define BURST_MAX 1024
#define PREBUILT_MAX 65536

/* The prebuilt knocks, burst at a time, one sendmmsg each. */
static int send_bursts(const struct kg_profile *p, uint8_t (*k)[KG_KNOCK_LEN],
		       unsigned n, unsigned burst, long pause_ms, const int *fd,
		       int n_fd)
{
	static struct mmsghdr m[BURST_MAX];
	static struct iovec iov[BURST_MAX];
	struct sockaddr_storage to;
	socklen_t tl = kg_addr_to_sockaddr(&p->green_address, p->knock_port, &to);
	struct timespec gap = { pause_ms / 1000, (pause_ms % 1000) * 1000000 };

	for (unsigned i = 0, b = 0; i < n; i += burst, b++) {
		unsigned c = n - i < burst ? n - i : burst, done = 0;

		for (unsigned j = 0; j < c; j++) {
			iov[j] = (struct iovec){ k[i + j], KG_KNOCK_LEN };
			m[j] = (struct mmsghdr){ .msg_hdr = {
				.msg_name = &to, .msg_namelen = tl,
				.msg_iov = &iov[j], .msg_iovlen = 1 } };
		}
		while (done < c) {
			int r = sendmmsg(fd[b % (unsigned)n_fd], m + done, c - done, 0);

			if (r <= 0)
				return -1;
			done += (unsigned)r;
		}
		if (i + burst < n)
			nanosleep(&gap, NULL);
	}
	return 0;
}

/* One UDP socket bound to each source. */
static int open_sources(char **src, int n, int *fd)
{
	for (int i = 0; i < n; i++) {
		struct kg_addr a;
		struct sockaddr_storage ss;
		socklen_t l;

		if (kg_addr_parse(src[i], &a)) {
			fprintf(stderr, "kg-knock-load: bad source %s\n", src[i]);
			return -1;
		}
		l = kg_addr_to_sockaddr(&a, 0, &ss);
		fd[i] = socket(a.family, SOCK_DGRAM, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&ss, l) < 0) {
			perror(src[i]);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kg_profile p;
	struct kg_err e = { "" };
	char line[512], user[64] = "";
	unsigned n = 0;
	int fd[256], n_fd = argc - 3;
	const char *bs = getenv("KG_KNOCK_BURST"), *ps = getenv("KG_KNOCK_PAUSE_MS");
	unsigned burst = bs ? (unsigned)strtoul(bs, NULL, 10) : 0;
	uint8_t (*pre)[KG_KNOCK_LEN] = NULL;
	FILE *f;

	if (argc < 4 || n_fd > 256) {
		fprintf(stderr, "usage: kg-knock-load PROFILE_DIR USERS_CONF SRC... (at most 256)\n");
		return 1;
	}
	if (open_sources(argv + 3, n_fd, fd))
		return 1;
	if (kg_profile_load(&p, argv[1], &e)) {
		fprintf(stderr, "kg-knock-load: %s\n", e.msg);
		return 1;
	}
	if (burst > BURST_MAX) {
		fprintf(stderr, "kg-knock-load: KG_KNOCK_BURST at most %d\n", BURST_MAX);
		return 1;
	}
	if (burst && !(pre = malloc((size_t)PREBUILT_MAX * KG_KNOCK_LEN))) {
		perror("malloc");
		return 1;
	}
	if (!(f = fopen(argv[2], "r"))) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		char hex[65];

		if (sscanf(line, "[user %63[^]]]", user) == 1)
			continue;
		if (sscanf(line, "knock_key = %64[0-9a-fA-F]", hex) != 1 || !user[0])
			continue;
		if (strlen(hex) != 64 ||
		    kg_hex_decode(hex, p.knock_key, sizeof(p.knock_key))) {
			fprintf(stderr, "kg-knock-load: %s: bad knock_key\n", user);
			return 1;
		}
		snprintf(p.user, sizeof(p.user), "%s", user);
		if (burst) {
			if (n == PREBUILT_MAX || build_knock(&p, pre[n])) {
				fprintf(stderr, "kg-knock-load: %s: cannot build\n", user);
				return 1;
			}
			user[0] = 0;
			n++;
			continue;
		}
		if (send_knock(fd[n % (unsigned)n_fd], &p)) {
			fprintf(stderr, "kg-knock-load: %s: cannot build or send\n", user);
			return 1;
		}
		user[0] = 0;
		n++;
		/* 500 a second: green's NFLOG socket keeps up, even on an
		 * ASan build; 2,000 knocks stay well inside the 30-s window. */
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	fclose(f);
	if (burst && send_bursts(&p, pre, n, burst, ps ? atol(ps) : 200, fd,
				 n_fd)) {
		perror("kg-knock-load: sendmmsg");
		return 1;
	}
	free(pre);
	kg_profile_wipe(&p);
	printf("%u\n", n);
	return 0;
}
