/* SPDX-License-Identifier: MIT */
/*
 * knockgate-red's state and the seams between its files: daemon.c (life
 * cycle, event loop), trust.c (CA, CRL, greens' certificates, host key),
 * knock_handler.c (a knock from NFLOG to nftables and the answer),
 * apply.c (the small request interface to nftables and conntrack: map,
 * extend, unmap, ban), site.c (the WireGuard link with green),
 * monitor.c and worker.c (-P: NFLOG, packets and the IPS in an
 * unprivileged worker whose every request this process re-checks;
 * docs/privsep.md).
 */
#ifndef KG_RED_H
#define KG_RED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "check.h"
#include "config.h"
#include "pki.h"
#include "conntrack.h"
#include "err.h"
#include "grants.h"
#include "nflog.h"

struct kg_nft;
struct kg_ips;
struct kg_evloop;
struct kg_pki;
struct kg_hostkey;

/* Cuts gathered before a flush (RED_CUT_MS) is forced by a full queue. */
#define KG_RED_CUT_Q 256
/* How often pending cuts are flushed: a closed grant's established
 * flows are already dropped on their next packet (allowed4/6 is checked
 * on every packet); the cut only ends them in conntrack too. */
#define RED_CUT_MS 100

struct red {
	const char *config_path;
	struct kg_red_config cfg;
	struct kg_pki *pki;
	X509 *green_cert[KG_RED_MAX_GREENS];
	struct kg_hostkey *key;
	struct kg_red_state st;
	struct kg_nft *nft;
	struct kg_nflog *nflog;
	struct kg_ips *ips;
	struct kg_evloop *loop;
	bool site_up;                 /* red made the site interface */
	bool no_site;                 /* -n: the site link is made by others */
	bool owns_table;              /* holds the NFLOG groups: dark table at exit */
	uint64_t n_knocks;
	/* Conntrack cuts waiting for the next flush (apply.c): the closes of
	 * one flush share one kernel walk of the conntrack table. */
	struct kg_ct_pair cut_q[KG_RED_CUT_Q];
	size_t n_cut;
	/* privilege separation (monitor.c, worker.c, docs/privsep.md) */
	bool privsep;                 /* -P: NFLOG and the IPS in a worker */
	const char *user;             /* the worker's system user */
	const char *test_worker;      /* test builds: exec this as the worker */
	pid_t worker_pid;             /* 0 if none */
	int worker_fd;                /* the monitor's end, -1 if none */
	bool worker_lost;             /* the worker ended: red exits 1 */
	unsigned site_ifindex;        /* the site link's, as last looked up */
	struct kg_prefix nb[KG_RED_NEVER_BAN_MAX];  /* the monitor's own copy */
	size_t n_nb;
};

/* expiry.c: red's CRL, CA, host certificate and the greens' certificates,
 * read at most once a minute; expiry_warning_days before a CRL's
 * nextUpdate or a certificate's notAfter a warning record (event=expiry,
 * daily while it lasts). Returns "" or the STATUS= note ("; WARNING: ..."),
 * valid until the next call. */
const char *red_expiry_tick(const struct red *r);

/* admin.c: knockgate-ctl's socket on red ([red] admin_socket; root only,
 * lib/ctl_admin_server.h): status, grants, bans and unban (not under -P:
 * the worker holds the IPS), expiry. start: after the worker is forked,
 * so it never holds the socket; a failure is logged, not fatal. */
void red_admin_start(struct red *r);
void red_admin_stop(struct red *r);
/* expiry.c: the watched files, for the admin socket's answer. */
size_t red_expiry_list(const struct kg_expiry **out);

/* metrics.c: the Prometheus textfile ([red] metrics_file), written from
 * the housekeeping tick every metrics_interval seconds by rename; knocks
 * are counted by result ("accepted", "refused", ...). */
void red_metrics_knock(const char *result);
void red_metrics_tick(const struct red *r);

/* daemon.c: runs until SIGTERM/SIGINT. Startup errors returned (e set). */
int red_run(struct red *r, struct kg_err *e);

/* trust.c: loads CA+CRL, checks each green's certificate (role green) and
 * loads red's host key. At start any error is fatal; on reload the caller
 * keeps the old trust if this fails. Logs one record per green. */
int red_trust_load(struct red *r, struct kg_err *e);
void red_trust_free(struct red *r);

/* knock_handler.c: one packet from the knock NFLOG group. */
void red_on_knock(struct red *r, const struct kg_nflog_pkt *p);
/* One knock's UDP payload and source, checked, applied, answered and
 * logged here (us= the µs since rx_us, CLOCK_MONOTONIC, when it was read
 * from NFLOG). 0 if granted or closed, EACCES if refused or dropped. */
int red_knock(struct red *r, const struct kg_addr *src, uint16_t sport,
	      const uint8_t *payload, size_t len, int64_t rx_us);
int64_t red_mono_us(void);

/* monitor.c: forks the worker (worker.c), which takes the NFLOG socket
 * and the IPS; this process keeps the rest and drops to CAP_NET_ADMIN.
 * 0 or -errno (e set). */
int red_monitor_start(struct red *r, struct kg_err *e);
/* Ends the worker: its socket closed, then waited for (at most 2 s). */
void red_monitor_stop(struct red *r);

/* worker.c: the worker's life in the forked child; never returns. */
void red_worker_main(struct red *r, int sock) __attribute__((noreturn));

/* apply.c: nftables changes for a plan; 0 or -errno (e set). */
int red_apply(struct red *r, const struct kg_plan *p, struct kg_err *e);
/* One hop's batch (grants.h, kg_hop_plan); 0 or -errno (e set). */
int red_apply_hop(struct red *r, const struct kg_hop_plan *hp,
		  struct kg_err *e);
/* A held port no flow uses any more: its held4 element out (a missing
 * one is fine). */
void red_apply_unhold(struct red *r, const struct kg_addr *client,
		      uint16_t port);
/* hop_run.c: hops that are due (the daemon's hop timer), and starting a
 * freshly mapped grant's hopping; green_port is the knock's source port
 * (where the hop push goes). */
void red_hop_tick(struct red *r);
/* Forgets held ports no flow uses any more (one conntrack dump), so the
 * ring of held ports never pushes out one a connection still uses. */
void red_hop_prune(struct red *r);
void red_hop_granted(struct red *r, const struct kg_sknock *k,
		     const struct kg_plan *p, uint16_t green_port);
/* A lease that ended: the elements are gone by themselves; cut flows. */
void red_lease_ended(const struct kg_grant *g, void *arg);
/* Cuts the flows of every grant queued since the last flush, in one
 * conntrack dump per family, and logs one record per grant. */
void red_cut_flush(struct red *r);
int red_ban(void *ctx, const struct kg_addr *key, unsigned seconds);
int red_unban(void *ctx, const struct kg_addr *key);
bool red_exempt(void *ctx, const struct kg_addr *src);

/* site.c: brings the WireGuard site link up (lib/wg: the interface, keys,
 * green as the peer, address, route to the tunnel range) and down. 0 or
 * -errno with e set; a failed start leaves no interface. */
int red_site_up(struct red *r, struct kg_err *e);
void red_site_down(struct red *r);

#endif
