/* SPDX-License-Identifier: MIT */
/*
 * knockgate-ctl on red (red.h): the socket, the root-only check and the
 * request parsing are lib/ctl_admin_server.c's; this file answers red's
 * requests: status, grants (live mappings: green, session, service,
 * client, port, lease left), bans and unban (only when red runs as one
 * process: under -P the IPS is the worker's), expiry. One red per
 * process: the socket is this file's.
 */
#include "red.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_admin_server.h"
#include "evloop.h"
#include "ips.h"
#include "ips_report.h"
#include "log.h"
#include "strbuf.h"
#include "time.h"

static int admin_fd = -1;
static char admin_path[KG_RED_PATH_MAX];

static void grants(const struct red *r, bool json, struct kg_sb *o)
{
	const struct kg_grants *t = &r->st.grants;
	int64_t now = kg_mono_s();
	char c[KG_ADDR_STRLEN];
	size_t n = 0;

	if (json)
		kg_sb_printf(o, "{\"grants\":[");
	else
		kg_sb_printf(o, "%-12s %-16s  %-12s %-15s %6s %6s %6s\n",
			     "GREEN", "SESSION", "SERVICE", "CLIENT", "PORT",
			     "REAL", "LEFT");
	for (size_t i = 0; i < t->cap; i++) {
		const struct kg_grant *g = &t->g[i];
		int64_t left;

		if (!g->used || !g->port)
			continue;
		left = g->lease_end > now ? g->lease_end - now : 0;
		kg_addr_str(&g->client, c);
		/* green ids and service names were checked by the parsers
		 * ([A-Za-z0-9._-]): nothing to escape. */
		if (json)
			kg_sb_printf(o, "%s{\"green\":\"%s\",\"session\":\"%016"
				     PRIx64 "\",\"service\":\"%s\",\"client\":"
				     "\"%s\",\"port\":%u,\"real_port\":%u,"
				     "\"lease_left_s\":%" PRId64 "}",
				     n ? "," : "", g->green_id, g->session,
				     g->service, c, g->port, g->real_port, left);
		else
			kg_sb_printf(o, "%-12s %016" PRIx64 "  %-12s %-15s %6u "
				     "%6u %5" PRId64 "s\n", g->green_id, g->session,
				     g->service, c, g->port, g->real_port, left);
		n++;
	}
	if (json)
		kg_sb_printf(o, "]}\n");
}

static void expiry(const struct red *r, bool json, struct kg_sb *o)
{
	const struct kg_expiry *v;
	size_t n;
	int64_t now = kg_wall_s();

	red_expiry_tick(r);
	n = red_expiry_list(&v);
	if (json)
		kg_sb_printf(o, "{\"warning_days\":%u,\"files\":[",
			     r->cfg.expiry_warning_days);
	else
		kg_sb_printf(o, "%-10s %-12s %-10s %-20s %-6s %s\n", "WHAT",
			     "NAME", "STATE", "UNTIL (UTC)", "DAYS", "PATH");
	for (size_t i = 0; i < n; i++) {
		char at[32] = "-";
		struct tm tm;
		time_t t = (time_t)v[i].at;

		if (!v[i].error[0] && gmtime_r(&t, &tm))
			strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* paths come from red.conf (root's): printed as they are */
		if (json)
			kg_sb_printf(o, "%s{\"what\":\"%s\",\"name\":\"%s\","
				     "\"state\":\"%s\",\"until\":\"%s\","
				     "\"path\":\"%s\"}", i ? "," : "", v[i].what,
				     v[i].name, kg_expiry_state_name(&v[i]), at,
				     v[i].path);
		else
			kg_sb_printf(o, "%-10s %-12s %-10s %-20s %-6" PRId64
				     " %s\n", v[i].what, v[i].name,
				     kg_expiry_state_name(&v[i]), at,
				     v[i].error[0] ? 0 : (v[i].at - now) / 86400,
				     v[i].path);
	}
	if (json)
		kg_sb_printf(o, "]}\n");
}

static void unban(struct red *r, const struct kg_ctl_admin_req *q, int fd)
{
	struct kg_addr a;
	int rc;

	if (kg_addr_parse(q->arg, &a)) {
		kg_ctl_admin_log(q, "refused", "bad_address");
		kg_ctl_admin_answer_str(fd, KG_CTL_BAD_REQUEST,
					"not an IPv4 or IPv6 address\n");
		return;
	}
	rc = kg_ips_lift(r->ips, &a, "admin");
	if (rc == -ENOENT) {
		kg_ctl_admin_log(q, "refused", "not_banned");
		kg_ctl_admin_answer_str(fd, KG_CTL_NOT_FOUND, "not banned\n");
	} else if (rc) {
		kg_ctl_admin_log(q, "error", strerror(-rc));
		kg_ctl_admin_answer_str(fd, KG_CTL_FAILED,
					"the kernel refused the change\n");
	} else {
		kg_ctl_admin_log(q, "lifted", NULL);
		kg_ctl_admin_answer_str(fd, KG_CTL_OK, "ban lifted\n");
	}
}

static void serve(void *ctx, const struct kg_ctl_admin_req *q, int fd)
{
	struct red *r = ctx;
	struct kg_sb o = KG_SB_INIT;

	switch (q->op) {
	case KG_CTL_GRANTS:
		grants(r, q->json, &o);
		break;
	case KG_CTL_BANS:
	case KG_CTL_UNBAN:
		if (!r->ips) {
			kg_ctl_admin_log(q, "refused", "privsep");
			kg_ctl_admin_answer_str(fd, KG_CTL_NOT_AVAILABLE,
				"under -P the worker keeps the bans: nft list set inet knockgate banned4\n");
			return;
		}
		if (q->op == KG_CTL_UNBAN) {
			unban(r, q, fd);
			return;
		}
		kg_ips_report_bans(r->ips, q->json, &o);
		break;
	case KG_CTL_EXPIRY:
		expiry(r, q->json, &o);
		break;
	case KG_CTL_STATUS:
		if (q->json)
			kg_sb_printf(&o, "{\"grants\":%zu,\"bans\":%zu,"
				     "\"expiry_warning\":\"%s\"}\n",
				     kg_grants_live(&r->st.grants),
				     r->ips ? kg_ips_n_banned(r->ips) : 0,
				     red_expiry_tick(r)[0] ?
				     red_expiry_tick(r) + 11 : "");
		else
			kg_sb_printf(&o, "grants: %zu live\nbans: %zu\n%s%s",
				     kg_grants_live(&r->st.grants),
				     r->ips ? kg_ips_n_banned(r->ips) : 0,
				     red_expiry_tick(r)[0] ?
				     red_expiry_tick(r) + 2 : "",
				     red_expiry_tick(r)[0] ? "\n" : "");
		break;
	default:
		kg_ctl_admin_log(q, "refused", "not_green");
		kg_ctl_admin_answer_str(fd, KG_CTL_NOT_AVAILABLE,
			"red has grants, bans, unban, expiry and status (sessions and drain are green's)\n");
		return;
	}
	kg_ctl_admin_answer_sb(q, fd, &o);
}

static void on_listen(void *ctx, int lfd, uint32_t events)
{
	(void)events;
	kg_ctl_admin_accept(lfd, serve, ctx);
}

void red_admin_start(struct red *r)
{
	struct kg_err e = { "" };
	int rc;

	if (!r->cfg.admin_socket[0])
		return;
	if (kg_ctl_admin_listen(r->cfg.admin_socket, &admin_fd, &e)) {
		kg_log_event(KG_LOG_ERR, "ctl", "result", "error",
			     "reason", "no_admin_socket", "error", e.msg);
		return;
	}
	snprintf(admin_path, sizeof(admin_path), "%s", r->cfg.admin_socket);
	if ((rc = kg_evloop_add_fd(r->loop, admin_fd, on_listen, r))) {
		kg_log_event(KG_LOG_ERR, "ctl", "result", "error",
			     "error", strerror(-rc));
		return;
	}
	kg_log_event(KG_LOG_NOTICE, "ctl", "result", "listening",
		     "path", admin_path);
}

void red_admin_stop(struct red *r)
{
	if (admin_fd < 0)
		return;
	if (r->loop)
		kg_evloop_del_fd(r->loop, admin_fd);
	close(admin_fd);
	unlink(admin_path);
	admin_fd = -1;
}
