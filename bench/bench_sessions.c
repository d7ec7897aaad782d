/* SPDX-License-Identifier: MIT */
/*
 * bench_sessions N [K [S]]: green's session code paths at N live sessions,
 * the card proof skipped (bench/sessions runs it at several N, each in a
 * network namespace of its own, and prints the ratios; bench/README.md).
 *
 * Real parts: green's apply seam (nft batches on a table of its own,
 * `inet kgbench`, with the set layouts and the tun_seen rule of green's
 * table), WireGuard peers on a wireguard-go interface, the session table
 * (gate_open, gate_make_live, gate_renew, gate_housekeeping,
 * gate_session_end: what a knock, a card proof, a lease renewal, a tick
 * and a close do in the daemon).
 *
 * Fills N sessions (knock + proof), then at N live: K more opened
 * (open), renewal of all at once (renew, per session), 200 idle ticks
 * (tick), K liveness questions (check: what a session's timer asks the
 * kernel), one whole peer dump (dump, the rare path), K closed (close).
 * Prints one line of key=value: per-operation CPU in ns of green (user,
 * sys: the kernel working for it) and of wireguard-go (all threads), the
 * median wall time of an open (knock accepted -> WireGuard port open and
 * peer in place), both RSS in KiB.
 *
 * S: WireGuard shards (green's wg_shards, default 1): S wireguard-go
 * devices, session i on shard i % S (its tunnel address in that shard's
 * block of 10.0.0.0/8); wireguard-go's CPU and RSS are the sum of all.
 */
#include "gate.h"
#include "apply.h"
#include "sessions_run.h"
#include "wg_peers.h"
#include "crypto.h"
#include "log.h"
#include "time.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LEASE_S 180

static const char table_text[] =
	"table inet kgbench {\n"
	"\tset wg_open4 { type ipv4_addr . inet_service; flags timeout; }\n"
	"\tset wg_open6 { type ipv6_addr . inet_service; flags timeout; }\n"
	"\tset peers_pending { type ipv4_addr; flags timeout; }\n"
	"\tset peers_live { type ipv4_addr; flags timeout; }\n"
	"\tset wg_seen4 { type ipv4_addr; size 1000000; flags dynamic,timeout; timeout 180s; }\n"
	"\tset wg_seen6 { type ipv6_addr; size 1000000; flags dynamic,timeout; timeout 180s; }\n"
	"\tset tun_seen4 { type ipv4_addr; size 1000000; flags dynamic,timeout; timeout 180s; }\n"
	"\tset tun_seen6 { type ipv6_addr; size 1000000; flags dynamic,timeout; timeout 180s; }\n"
	"\tchain prerouting {\n"
	"\t\ttype filter hook prerouting priority raw; policy accept;\n"
	"\t\tiifname %s ip saddr @peers_live update @tun_seen4 { ip saddr }\n"
	"\t}\n"
	"}\n";

struct cpu {
	uint64_t green_ns;             /* green, exact (process CPU clock) */
	uint64_t user_ns, sys_ns;      /* green's split (tick-sampled) */
	uint64_t wg_ns, wg_sys_ns;     /* wireguard-go, all threads */
};

static pid_t wg_pids[GREEN_WG_SHARDS_MAX];
static unsigned n_shards = 1;

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* One wireguard-go's run time: schedstat of every thread (ns), stime
 * ticks, added to *ns and *sys_ns. */
static void wg_cpu1(pid_t wg_pid, uint64_t *ns, uint64_t *sys_ns)
{
	char path[320], buf[512];
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)wg_pid);
	if (!wg_pid || !(dir = opendir(path)))
		return;
	while ((d = readdir(dir))) {
		unsigned long long run = 0;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat",
			 (int)wg_pid, d->d_name);
		if ((f = fopen(path, "r"))) {
			if (fscanf(f, "%llu", &run) == 1)
				*ns += run;
			fclose(f);
		}
	}
	closedir(dir);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)wg_pid);
	if ((f = fopen(path, "r"))) {
		if (fgets(buf, sizeof(buf), f)) {
			char *p = strrchr(buf, ')');
			unsigned long long ut = 0, st = 0;

			/* fields 14, 15 (utime, stime) after "pid (comm)" */
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
					&ut, &st) == 2)
				*sys_ns += st * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
		}
		fclose(f);
	}
}

/* All shards' wireguard-go processes together. */
static void wg_cpu(uint64_t *ns, uint64_t *sys_ns)
{
	*ns = *sys_ns = 0;
	for (unsigned k = 0; k < n_shards; k++)
		wg_cpu1(wg_pids[k], ns, sys_ns);
}

static void cpu_now(struct cpu *c)
{
	struct rusage ru;

	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	c->green_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	getrusage(RUSAGE_SELF, &ru);
	c->user_ns = tv_ns(ru.ru_utime);
	c->sys_ns = tv_ns(ru.ru_stime);
	wg_cpu(&c->wg_ns, &c->wg_sys_ns);
}

static void cpu_print(const char *what, const struct cpu *a,
		      const struct cpu *b, size_t n)
{
	if (!n)
		n = 1;
	printf(" %s_green=%llu %s_user=%llu %s_sys=%llu %s_wg=%llu %s_wgsys=%llu",
	       what, (unsigned long long)((b->green_ns - a->green_ns) / n), what,
	       (unsigned long long)((b->user_ns - a->user_ns) / n), what,
	       (unsigned long long)((b->sys_ns - a->sys_ns) / n), what,
	       (unsigned long long)((b->wg_ns - a->wg_ns) / n), what,
	       (unsigned long long)((b->wg_sys_ns - a->wg_sys_ns) / n));
}

static long rss_kib(pid_t pid)
{
	char path[64], line[128];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static pid_t find_wg(const char *ifname)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	pid_t found = 0;

	while (dir && !found && (d = readdir(dir))) {
		char path[300], cmd[256];
		size_t n;
		FILE *f;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", d->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		n = fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		cmd[n] = 0;
		if (strstr(cmd, "wireguard-go") && n > strlen(cmd) + 1 &&
		    !strcmp(cmd + strlen(cmd) + 1, ifname))
			found = (pid_t)atoi(d->d_name);
	}
	if (dir)
		closedir(dir);
	return found;
}

/* Session i: user "bN", tunnel 10.x.y.z (from 10.0.0.2; with shards,
 * the (i / S)th address of shard i % S's block), source in
 * 100.64.0.0/10, a key of its own. */
static void session_args(uint32_t i, struct kg_user *u, uint8_t key[32],
			 struct kg_addr *src)
{
	uint32_t t = i / n_shards + 2, s = i + 1, k = i % n_shards;

	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "b%u", i);
	u->tunnel.family = AF_INET;
	u->tunnel.b[0] = 10;
	u->tunnel.b[1] = (uint8_t)(k * (256 / n_shards) + (t >> 16));
	u->tunnel.b[2] = (uint8_t)(t >> 8);
	u->tunnel.b[3] = (uint8_t)t;
	memset(src, 0, sizeof(*src));
	src->family = AF_INET;
	src->b[0] = 100;
	src->b[1] = (uint8_t)(64 + ((s >> 16) & 63));
	src->b[2] = (uint8_t)(s >> 8);
	src->b[3] = (uint8_t)s;
	memset(key, 0, 32);
	memcpy(key, &i, sizeof(i));
	key[31] = 0x40;   /* any 32 bytes are a valid X25519 public key */
}

/* knock_ns (if not NULL): the wall time of gate_open alone, i.e. an
 * accepted knock to its WireGuard port open and its peer in place. */
static int open_one(struct green_gate *gt, uint32_t i, uint64_t *id,
		    uint64_t *knock_ns)
{
	uint64_t t0;
	struct kg_user u;
	struct kg_addr src;
	struct kg_session *s;
	uint8_t key[32];
	int r;

	session_args(i, &u, key, &src);
	t0 = kg_mono_ns();
	if ((r = gate_open(gt, &u, key, &src, t0)))
		return r;
	if (knock_ns)
		*knock_ns = kg_mono_ns() - t0;
	if (!(s = kg_sess_by_tunnel(&gt->sess, &u.tunnel)))
		return -ENOENT;
	*id = s->id;
	if ((r = kg_sess_prove(&gt->sess, s->id)))
		return r;
	return gate_make_live(gt, s);
}

static struct green_gate *up_gate;

/* A failed run must not leave wireguard-go behind holding its peers. */
static int fail(void)
{
	if (up_gate)
		gate_wg_down(up_gate);
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static struct green g;
	static struct green_gate gt;
	struct kg_sess_limits lim = {
		.idle_timeout = 600, .max_lifetime = 28800,
		.reproof_interval = 300, .handshake_timeout = LEASE_S,
		.reproof_grace = 10,
	};
	struct kg_err e = { "" };
	enum kg_wg_backend be;
	uint32_t n, k;
	uint64_t *ids, *wall, *knock, t0;
	struct cpu a, b;
	char ifname[16], ifs[GREEN_WG_SHARDS_MAX * 20 + 8];
	char text[sizeof(table_text) + sizeof(ifs)];
	long rss_wg = 0;
	int r;

	if (argc < 2 || (n = (uint32_t)strtoul(argv[1], NULL, 10)) < 1 ||
	    n > 1000000) {
		fprintf(stderr, "usage: bench_sessions N [K [S]]  (1 <= N <= 1000000; "
			"S: 1, 2, 4, 8 or 16 WireGuard shards; "
			"as root, in a network namespace of its own: bench/sessions)\n");
		return 2;
	}
	k = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 200;
	if (k < 1 || k > 100000)
		k = 200;
	n_shards = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;
	if (n_shards < 1 || n_shards > GREEN_WG_SHARDS_MAX ||
	    (n_shards & (n_shards - 1))) {
		fprintf(stderr, "bench_sessions: S must be 1, 2, 4, 8 or 16\n");
		return 2;
	}
	kg_log_init("bench_sessions", KG_LOG_WARNING);
	snprintf(ifname, sizeof(ifname), "kgbs%d", (int)getpid() % 100000);
	{
		size_t len = (size_t)snprintf(ifs, sizeof(ifs), "{ \"%s\"", ifname);

		for (unsigned j = 1; j < n_shards; j++) {
			char nm[16];

			green_shard_ifname(ifname, j, nm);
			len += (size_t)snprintf(ifs + len, sizeof(ifs) - len,
						", \"%s\"", nm);
		}
		snprintf(ifs + len, sizeof(ifs) - len, " }");
	}
	snprintf(text, sizeof(text), table_text, ifs);
	if ((r = green_apply_open(&g.nft, "kgbench", &e)) ||
	    (r = green_apply_table_replace(g.nft, text, false, &e))) {
		fprintf(stderr, "nft: %s\n", e.msg);
		return 1;
	}
	g.gate = &gt;
	gt.g = &g;
	snprintf(gt.ifname, sizeof(gt.ifname), "%s", ifname);
	gt.n_shards = n_shards;
	gt.wg_port = 51820;
	gt.shard_prefix.a.family = AF_INET;
	gt.shard_prefix.a.b[0] = 10;
	gt.shard_prefix.len = 8;
	if ((r = kg_random(gt.wg_priv, 32)) ||
	    (r = green_apply_wg_up(ifname, gt.wg_priv, 51820, "10.0.0.1/8",
				   &be, &e))) {
		fprintf(stderr, "wireguard: %s\n", e.msg[0] ? e.msg : strerror(-r));
		return 1;
	}
	gt.iface_up = true;
	up_gate = &gt;
	wg_pids[0] = be == KG_WG_BACKEND_UAPI ? find_wg(ifname) : 0;
	for (unsigned j = 1; j < n_shards; j++) {
		struct kg_prefix blk;
		char route[KG_ADDR_STRLEN + 8], a4[KG_ADDR_STRLEN];

		green_shard_ifname(ifname, j, gt.shard_if[j]);
		green_shard_block(&gt.shard_prefix, n_shards, j, &blk);
		snprintf(route, sizeof(route), "%s/%u", kg_addr_str(&blk.a, a4), blk.len);
		if ((r = green_apply_shard_up(gt.shard_if[j], gt.wg_priv,
					      (uint16_t)(51820 + j), route, NULL,
					      &be, &e))) {
			fprintf(stderr, "wireguard shard %u: %s\n", j,
				e.msg[0] ? e.msg : strerror(-r));
			gt.n_shards = j;
			return fail();
		}
		wg_pids[j] = be == KG_WG_BACKEND_UAPI ? find_wg(gt.shard_if[j]) : 0;
	}
	if ((r = kg_sess_init(&gt.sess, n + k, &lim, 1, NULL, NULL))) {
		fprintf(stderr, "session table: %s\n", strerror(-r));
		return fail();
	}
	kg_sess_set_shard(&gt.sess, gate_shard_hook, &gt);
	gate_liveness_init(&gt);
	gt.last_renew_ms = gt.last_poll_ms = gate_now_ms();
	ids = calloc(k, sizeof(*ids));
	wall = calloc(k, sizeof(*wall));
	knock = calloc(k, sizeof(*knock));
	if (!ids || !wall || !knock)
		return fail();

	printf("n=%u k=%u shards=%u backend=%s bytes_per_slot=%zu", n, k, n_shards,
	       be == KG_WG_BACKEND_UAPI ? "wireguard-go" : "kernel",
	       kg_sess_bytes_per_slot());
	cpu_now(&a);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t id;

		if ((r = open_one(&gt, i, &id, NULL))) {
			fprintf(stderr, "\nfill: session %u: %s\n", i, strerror(-r));
			return fail();
		}
	}
	cpu_now(&b);
	cpu_print("fill", &a, &b, n);
	for (unsigned j = 0; j < n_shards; j++)
		rss_wg += wg_pids[j] ? rss_kib(wg_pids[j]) : 0;
	printf(" rss_green=%ld rss_wg=%ld", rss_kib(getpid()),
	       wg_pids[0] ? rss_wg : -1L);

	cpu_now(&a);
	for (uint32_t i = 0; i < k; i++) {
		t0 = kg_mono_ns();
		if ((r = open_one(&gt, n + i, &ids[i], &knock[i]))) {
			fprintf(stderr, "\nopen: %s\n", strerror(-r));
			return fail();
		}
		wall[i] = kg_mono_ns() - t0;
	}
	cpu_now(&b);
	cpu_print("open", &a, &b, k);
	qsort(wall, k, sizeof(*wall), cmp_u64);
	qsort(knock, k, sizeof(*knock), cmp_u64);
	printf(" open_wall_median_ns=%llu knock_wall_median_ns=%llu",
	       (unsigned long long)wall[k / 2], (unsigned long long)knock[k / 2]);

	/* The whole renewal at once (in the daemon a round is spread over a
	 * sixth of a lease, a slice a tick). */
	cpu_now(&a);
	gate_renew(&gt, true);
	cpu_now(&b);
	cpu_print("renew", &a, &b, gt.sess.n);

	/* An idle tick: no renewal round under way. */
	gt.last_renew_ms = gate_now_ms();
	cpu_now(&a);
	for (int i = 0; i < 200; i++)
		gate_housekeeping(&gt);
	cpu_now(&b);
	cpu_print("tick", &a, &b, 200);

	cpu_now(&a);
	for (uint32_t i = 0; i < k; i++) {
		struct kg_session *s = kg_sess_by_id(&gt.sess, ids[i]);
		uint64_t left;

		(void)green_apply_tunnel_seen(g.nft, &s->tunnel, &left);
		(void)green_apply_src_seen(g.nft, &s->src[0]);
	}
	cpu_now(&b);
	cpu_print("check", &a, &b, k);

	{
		struct kg_wg_device d = { 0 };

		cpu_now(&a);
		t0 = kg_mono_ns();
		size_t peers = 0;

		for (unsigned j = 0; j < n_shards; j++) {
			r = green_apply_peers_read(gate_shard_if(&gt, j), &d);
			for (size_t i = 0; !r && i < d.n_peers; i++)
				kg_sess_observe_peer(&gt.sess, d.peers[i].public_key,
						     (int64_t)d.peers[i].last_handshake_sec,
						     d.peers[i].rx_bytes);
			if (r) {
				fprintf(stderr, "\npeer dump: %s\n", strerror(-r));
				return fail();
			}
			peers += d.n_peers;
			green_apply_peers_free(&d);
			memset(&d, 0, sizeof(d));
		}
		cpu_now(&b);
		cpu_print("dump", &a, &b, 1);
		printf(" dump_peers=%zu dump_wall_ns=%llu", peers,
		       (unsigned long long)(kg_mono_ns() - t0));
	}

	cpu_now(&a);
	for (uint32_t i = 0; i < k; i++)
		gate_session_end(&gt, ids[i], KG_END_CLOSE, true);
	/* Their peers, which the daemon removes after the grace (one set
	 * operation a shard): counted with the close. */
	gate_peers_flush(&gt, true);
	cpu_now(&b);
	cpu_print("close", &a, &b, k);
	printf(" live=%zu", gt.sess.n);

	/* Knocks that arrive together: K accepted knocks (gate_open, pending
	 * sessions) one at a time, each its own wakeup, then the same number
	 * in bursts of GATE_OPENS_MAX read at once (gate_opens_begin/end
	 * around them, as green's NFLOG callback does). */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t base = n + k * (uint32_t)(1 + pass);

		cpu_now(&a);
		for (uint32_t i = 0; i < k; i++) {
			struct kg_user u;
			struct kg_addr src;
			uint8_t key[32];

			if (pass && i % GATE_OPENS_MAX == 0)
				gate_opens_begin(&gt);
			session_args(base + i, &u, key, &src);
			if ((r = gate_open(&gt, &u, key, &src, kg_mono_ns()))) {
				fprintf(stderr, "\nburst: %s\n", strerror(-r));
				return fail();
			}
			if (pass && (i % GATE_OPENS_MAX == GATE_OPENS_MAX - 1 ||
				     i == k - 1))
				gate_opens_end(&gt);
		}
		cpu_now(&b);
		cpu_print(pass ? "knock64" : "knock1", &a, &b, k);
		for (uint32_t i = 0; i < k; i++) {
			struct kg_user u;
			struct kg_addr src;
			struct kg_session *x;
			uint8_t key[32];

			session_args(base + i, &u, key, &src);
			if (!(x = kg_sess_by_tunnel(&gt.sess, &u.tunnel))) {
				fprintf(stderr, "\nburst: session %u missing\n",
					base + i);
				return fail();
			}
			gate_session_end(&gt, x->id, KG_END_CLOSE, true);
		}
	}
	free(gt.oq);
	printf(" live=%zu\n", gt.sess.n);

	gate_wg_down(&gt);
	kg_sess_free(&gt.sess);
	green_apply_close(g.nft);
	free(ids);
	free(wall);
	free(knock);
	return 0;
}
