/* SPDX-License-Identifier: MIT */
/*
 * Green's admin side: the local socket knockgate-ctl talks to
 * (admin.c, answers formatted in admin_report.c), the Prometheus
 * textfile (metrics.c) and certificate/CRL expiry warnings (expiry.c).
 * Nothing here is reachable from the network: the socket is a Unix one,
 * mode 0600, and every peer whose SO_PEERCRED uid is not 0 is refused
 * (logged); node_exporter reads the metrics file, so a dark host exposes
 * no port for it.
 *
 * The [admin] section of green.conf:
 *   socket               /run/knockgate/green.ctl ("off": none)
 *   metrics_file         /var/lib/prometheus/node-exporter/knockgate-green.prom
 *                        ("off": none)
 *   metrics_interval     seconds between writes (5)
 *   expiry_warning_days  warn this long before a CRL's nextUpdate or a
 *                        certificate's notAfter (14)
 *   host_certificate     green's own host certificate, watched for
 *                        expiry only (optional)
 */
#ifndef KG_GREEN_ADMIN_H
#define KG_GREEN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"

#define GREEN_ADMIN_SOCKET "/run/knockgate/green.ctl"
#define GREEN_ADMIN_METRICS \
	"/var/lib/prometheus/node-exporter/knockgate-green.prom"

struct green_admin_conf {
	char *socket;                 /* NULL: none */
	char *metrics_file;           /* NULL: none */
	unsigned metrics_interval;    /* seconds */
	unsigned expiry_warning_days;
	char *host_cert;              /* NULL: not watched */
};

struct green;
struct green_conf;
struct green_admin;

/* conf-admin.c: [admin] into c->admin, defaults when absent. 0 or -errno
 * with e set. */
int green_conf_admin(struct green_conf *c, const struct kg_conf *conf,
		     struct kg_err *e);
void green_conf_admin_free(struct green_admin_conf *a);

/* admin.c. start: opens the socket (a failure is logged, not fatal: the
 * gateway serves users without it), checks expiry once, and hooks a
 * one-second timer (metrics, expiry) into g->loop. g->admin is owned by
 * g; stop closes and frees it (NULL-safe). reload: after a SIGHUP swapped
 * g->conf (expiry checked again at once; the socket path stays). */
int green_admin_start(struct green *g, struct kg_err *e);
void green_admin_reload(struct green *g);
void green_admin_stop(struct green *g);
/* A forked worker's copy (-P): closes this process's fd and frees the
 * memory; the socket file and the monitor's loop are left alone. */
void green_admin_forget(struct green *g);
/* True while an admin has drained this green: knocks that would start a
 * new session are refused (a live session's own key still roams). */
bool green_admin_draining(const struct green *g);
/* Text for STATUS= after the counts: "" or "; draining", "; WARNING: ...".
 * Valid until the next call. */
const char *green_admin_status_note(const struct green *g);

/* metrics.c: counters, fed from where things happen (process-wide: one
 * green per process). reason is a stable name (kg_knock_reason_name,
 * "draining", ...); a name past the table's room counts as "other". */
void green_metrics_knock(const char *reason);
/* A grant record (grants.c): result "granted", "refused", ...; rtt_ms is
 * red's answer time for opens (has_rtt), else ignored. */
void green_metrics_grant(const char *result, bool has_rtt, uint64_t rtt_ms);

#endif
