/* SPDX-License-Identifier: MIT */
/*
 * kg-spoof: the attack battery's and bench/flood's packet source. Sends a
 * bounded number of UDP datagrams or TCP SYNs with a forged source
 * address (one address, or a random one inside a prefix per packet) from
 * a raw socket, at a fixed offered rate, and stops by itself after -n
 * packets or -T seconds, whichever comes first. Test-only: never
 * installed. It must run inside a testbed namespace; it sends only to the
 * destination it is given.
 *
 *   kg-spoof [-s SRC[/LEN]] [-p SPORT] [-t udp|syn] -n COUNT [-r PPS]
 *            [-T SECONDS] [-P junk:LEN|file:PATH|mutate:PATH:N]
 *            DST_ADDR DST_PORT
 *
 * Prints one line: sent=N seconds=S pps=R (and errors=N when the kernel
 * refused some sends, e.g. a full socket buffer).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAYLOAD 1400
#define MAX_COUNT 10000000ul
#define MAX_SECONDS 600.0

struct opts {
	int family;
	uint8_t src[16];
	unsigned src_len;             /* prefix length; full = one address */
	bool src_set;
	uint8_t dst[16];
	uint16_t sport, dport;        /* sport 0: random per packet */
	bool syn;
	unsigned long count;
	double pps, seconds;
	uint8_t payload[MAX_PAYLOAD];
	size_t payload_len;
	size_t mutate_tail;           /* bytes at the end randomised per packet */
	bool random_payload;          /* junk: every byte random per packet */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kg-spoof [-s SRC[/LEN]] [-p SPORT] [-t udp|syn] -n COUNT [-r PPS]\n"
		"                [-T SECONDS] [-P junk:LEN|file:PATH|mutate:PATH:N]\n"
		"                DST_ADDR DST_PORT\n"
		"  -s  forged source address, or a prefix: a random address inside it\n"
		"      per packet (default: the sender's own address is not used; -s is\n"
		"      required)\n"
		"  -p  source port (default: random per packet)\n"
		"  -t  udp (default) or syn (TCP SYN, no payload)\n"
		"  -n  packets to send (1..%lu)\n"
		"  -r  offered rate in packets/s (0 or absent: as fast as it can)\n"
		"  -T  hard time bound in seconds (default 30, at most %.0f)\n"
		"  -P  payload: LEN random bytes per packet (default junk:81), a file's\n"
		"      bytes as they are (a replay), or a file's bytes with the last N\n"
		"      randomised per packet (a real key id, a forged tag)\n",
		MAX_COUNT, MAX_SECONDS);
}

static int die(const char *what, const char *val)
{
	fprintf(stderr, "kg-spoof: %s%s%s\n", what, val ? ": " : "", val ? val : "");
	return 2;
}

static int parse_src(struct opts *o, const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long len;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, o->src) == 1)
		o->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, o->src) == 1)
		o->family = AF_INET6;
	else
		return -1;
	o->src_len = o->family == AF_INET ? 32 : 128;
	if (slash) {
		errno = 0;
		len = strtoul(slash, &end, 10);
		if (errno || *end || !*slash || len > o->src_len)
			return -1;
		o->src_len = (unsigned)len;
	}
	o->src_set = true;
	return 0;
}

static int read_file(const char *path, uint8_t *out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(out, 1, MAX_PAYLOAD, f);
	fclose(f);
	if (n == 0)
		return -1;
	*len = n;
	return 0;
}

static int parse_payload(struct opts *o, const char *arg)
{
	char *end;
	unsigned long v;

	if (!strncmp(arg, "junk:", 5)) {
		errno = 0;
		v = strtoul(arg + 5, &end, 10);
		if (errno || *end || v == 0 || v > MAX_PAYLOAD)
			return -1;
		o->payload_len = v;
		o->random_payload = true;
		return 0;
	}
	if (!strncmp(arg, "file:", 5)) {
		o->random_payload = false;
		return read_file(arg + 5, o->payload, &o->payload_len);
	}
	if (!strncmp(arg, "mutate:", 7)) {
		char path[4096];
		const char *colon = strrchr(arg + 7, ':');

		if (!colon || (size_t)(colon - (arg + 7)) >= sizeof(path))
			return -1;
		memcpy(path, arg + 7, (size_t)(colon - (arg + 7)));
		path[colon - (arg + 7)] = '\0';
		errno = 0;
		v = strtoul(colon + 1, &end, 10);
		if (errno || *end || v == 0 || read_file(path, o->payload, &o->payload_len))
			return -1;
		if (v > o->payload_len)
			return -1;
		o->mutate_tail = v;
		o->random_payload = false;
		return 0;
	}
	return -1;
}

static int parse_args(struct opts *o, int argc, char **argv)
{
	char *end;
	int c;

	o->seconds = 30;
	o->payload_len = 81;
	o->random_payload = true;
	while ((c = getopt(argc, argv, "s:p:t:n:r:T:P:h")) != -1) {
		switch (c) {
		case 's':
			if (parse_src(o, optarg))
				return die("bad source address or prefix", optarg);
			break;
		case 'p':
			errno = 0;
			o->sport = (uint16_t)strtoul(optarg, &end, 10);
			if (errno || *end || o->sport == 0)
				return die("bad source port", optarg);
			break;
		case 't':
			if (!strcmp(optarg, "syn"))
				o->syn = true;
			else if (strcmp(optarg, "udp"))
				return die("-t takes udp or syn", optarg);
			break;
		case 'n':
			errno = 0;
			o->count = strtoul(optarg, &end, 10);
			if (errno || *end || o->count == 0 || o->count > MAX_COUNT)
				return die("bad packet count", optarg);
			break;
		case 'r':
			errno = 0;
			o->pps = strtod(optarg, &end);
			if (errno || *end || o->pps < 0)
				return die("bad rate", optarg);
			break;
		case 'T':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || *end || o->seconds <= 0 || o->seconds > MAX_SECONDS)
				return die("bad time bound", optarg);
			break;
		case 'P':
			if (parse_payload(o, optarg))
				return die("bad payload", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (!o->src_set)
		return die("-s SRC is required", NULL);
	if (!o->count)
		return die("-n COUNT is required", NULL);
	if (inet_pton(o->family, argv[optind], o->dst) != 1)
		return die("destination is not an address of the source's family",
			   argv[optind]);
	errno = 0;
	o->dport = (uint16_t)strtoul(argv[optind + 1], &end, 10);
	if (errno || *end || o->dport == 0)
		return die("bad destination port", argv[optind + 1]);
	return 0;
}

/* Pseudo-random bytes for addresses, ports and payloads: xorshift seeded
 * from the kernel. These are test packets, not secrets. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rnd();
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static void pick_src(const struct opts *o, uint8_t *out)
{
	size_t alen = o->family == AF_INET ? 4 : 16;
	uint8_t r[16];

	memcpy(out, o->src, alen);
	if (o->src_len == alen * 8)
		return;
	rnd_fill(r, alen);
	for (size_t i = 0; i < alen; i++) {
		unsigned bit0 = (unsigned)i * 8;
		uint8_t keep;

		if (bit0 + 8 <= o->src_len)
			keep = 0xff;
		else if (bit0 >= o->src_len)
			keep = 0;
		else
			keep = (uint8_t)(0xff << (8 - (o->src_len - bit0)));
		out[i] = (uint8_t)((o->src[i] & keep) | (r[i] & ~keep));
	}
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)(p[0] << 8);
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Builds the whole IP packet in pkt; returns its length. */
static size_t build(const struct opts *o, uint8_t *pkt)
{
	size_t alen = o->family == AF_INET ? 4 : 16;
	size_t iphl = o->family == AF_INET ? 20 : 40;
	size_t l4hl = o->syn ? 20 : 8;
	size_t plen = o->syn ? 0 : o->payload_len;
	size_t l4len = l4hl + plen;
	uint8_t *ip = pkt, *l4 = pkt + iphl, src[16];
	uint16_t sport = o->sport ? o->sport : (uint16_t)(1024 + rnd() % 64000);
	uint8_t proto = o->syn ? IPPROTO_TCP : IPPROTO_UDP;
	uint32_t s;

	pick_src(o, src);
	memset(pkt, 0, iphl + l4hl);
	if (o->family == AF_INET) {
		uint16_t tot = (uint16_t)(iphl + l4len), id = (uint16_t)rnd();

		ip[0] = 0x45;
		ip[2] = (uint8_t)(tot >> 8);
		ip[3] = (uint8_t)tot;
		ip[4] = (uint8_t)(id >> 8);
		ip[5] = (uint8_t)id;
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, o->dst, 4);
		s = fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(s >> 8);
		ip[11] = (uint8_t)s;
	} else {
		ip[0] = 0x60;
		ip[4] = (uint8_t)(l4len >> 8);
		ip[5] = (uint8_t)l4len;
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, o->dst, 16);
	}
	l4[0] = (uint8_t)(sport >> 8);
	l4[1] = (uint8_t)sport;
	l4[2] = (uint8_t)(o->dport >> 8);
	l4[3] = (uint8_t)o->dport;
	if (o->syn) {
		uint32_t seq = (uint32_t)rnd();

		memcpy(l4 + 4, &seq, 4);
		l4[12] = 5 << 4;
		l4[13] = 0x02;                 /* SYN */
		l4[14] = 0xfa;                 /* window 64240 */
		l4[15] = 0xf0;
	} else {
		uint8_t *pl = l4 + 8;

		l4[4] = (uint8_t)(l4len >> 8);
		l4[5] = (uint8_t)l4len;
		memcpy(pl, o->payload, plen);
		if (o->random_payload)
			rnd_fill(pl, plen);
		else if (o->mutate_tail)
			rnd_fill(pl + plen - o->mutate_tail, o->mutate_tail);
	}
	/* pseudo-header checksum over both addresses, protocol and length */
	s = sum16(src, alen, 0);
	s = sum16(o->dst, alen, s);
	s += proto + (uint32_t)l4len;
	s = fold(sum16(l4, l4len, s));
	if (!o->syn && s == 0)
		s = 0xffff;
	l4[o->syn ? 16 : 6] = (uint8_t)(s >> 8);
	l4[o->syn ? 17 : 7] = (uint8_t)s;
	return iphl + l4len;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pace(double start, unsigned long sent, double pps)
{
	double due = start + (double)sent / pps, left = due - now_s();
	struct timespec ts;

	/* sleep in slices of at least 1 ms: per-packet sleeps at high rates
	 * would be stretched by timer slack */
	if (left < 0.001)
		return;
	ts.tv_sec = (time_t)left;
	ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	uint8_t pkt[40 + 20 + MAX_PAYLOAD];
	unsigned long sent = 0, errors = 0;
	double start, took;
	int fd, r;

	if ((r = parse_args(&o, argc, argv)))
		return r;
	if (getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state) || !rng_state)
		rng_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	/* IPPROTO_RAW: we write the IP header ourselves (IP_HDRINCL is
	 * implied for IPv4, and for IPv6 since Linux 4.5). */
	fd = socket(o.family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0)
		return die("raw socket (needs CAP_NET_RAW)", strerror(errno));
	if (o.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, o.dst, 4);
		sl = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, o.dst, 16);
		sl = sizeof(*in6);
	}
	start = now_s();
	while (sent < o.count && now_s() - start < o.seconds) {
		size_t n = build(&o, pkt);

		if (sendto(fd, pkt, n, 0, (struct sockaddr *)&ss, sl) < 0) {
			errors++;
			if (errno != ENOBUFS && errno != EAGAIN) {
				fprintf(stderr, "kg-spoof: send: %s\n", strerror(errno));
				sent++;
				break;
			}
		}
		sent++;
		if (o.pps > 0)
			pace(start, sent, o.pps);
	}
	took = now_s() - start;
	close(fd);
	printf("sent=%lu seconds=%.3f pps=%.0f", sent - errors, took,
	       took > 0 ? (double)(sent - errors) / took : 0.0);
	if (errors)
		printf(" errors=%lu", errors);
	printf("\n");
	return 0;
}
