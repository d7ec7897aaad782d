/* SPDX-License-Identifier: MIT */
/*
 * The admin socket's answers (admin.c), as text for people or JSON for
 * scripts. Read-only over the daemon's state. Strings that came from
 * outside (user names, services) are printed as the daemon holds them:
 * names were checked when loaded; JSON escapes them anyway.
 */
#include "admin_int.h"
#include "gate.h"
#include "grants.h"
#include "green.h"
#include "ips.h"
#include "time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds until s ends if nothing happens (no traffic: idle; at most its
 * lifetime; pending: no card proof). */
static int64_t ends_in(const struct kg_sess_table *t, const struct kg_session *s,
		       int64_t now)
{
	const struct kg_sess_limits *l = &t->lim;
	int64_t end;

	if (s->state != KG_SESS_LIVE)
		end = s->created + l->handshake_timeout;
	else {
		end = s->start + l->max_lifetime;
		if (s->last_activity + (int64_t)l->idle_timeout < end)
			end = s->last_activity + l->idle_timeout;
	}
	return end > now ? end - now : 0;
}

struct svc_ctx {
	struct kg_sb *o;
	bool json;
	size_t n;
};

static void one_service(void *ctx, const char *service, const char *red,
			uint16_t port, uint32_t left)
{
	struct svc_ctx *c = ctx;

	if (c->json) {
		kg_sb_printf(c->o, "%s{\"service\":", c->n ? "," : "");
		kg_sb_json_str(c->o, service);
		kg_sb_printf(c->o, ",\"red\":");
		kg_sb_json_str(c->o, red);
		kg_sb_printf(c->o, ",\"port\":%u,\"lease_left_s\":%" PRIu32 "}",
			     port, left);
	} else {
		kg_sb_printf(c->o, "%s%s(%s:%u)", c->n ? "," : "", service,
			     red, port);
	}
	c->n++;
}

static void session(const struct green *g, const struct kg_session *s,
		    int64_t now, bool json, bool first, struct kg_sb *o)
{
	const struct kg_sess_table *t = &g->gate->sess;
	struct svc_ctx sc = { o, json, 0 };
	char tun[KG_ADDR_STRLEN], src[KG_ADDR_STRLEN];
	const char *state = s->state == KG_SESS_LIVE ? "live" : "pending";

	kg_addr_str(&s->tunnel, tun);
	if (!json) {
		char srcs[KG_SESS_MAX_SRC * (KG_ADDR_STRLEN + 1)] = "";
		size_t n = 0;

		for (size_t i = 0; i < s->n_src && n < sizeof(srcs); i++)
			n += (size_t)snprintf(srcs + n, sizeof(srcs) - n, "%s%s",
					      i ? "," : "",
					      kg_addr_str(&s->src[i], src));
		kg_sb_printf(o, "%016" PRIx64 "  %-16s %-8s %-15s %-20s %7" PRId64
			     "s %8" PRId64 "s  ", s->id, s->user, state, tun,
			     srcs, now - s->created, ends_in(t, s, now));
		green_grants_foreach(g->grants, s->id, one_service, &sc);
		kg_sb_printf(o, "%s\n", sc.n ? "" : "-");
		return;
	}
	kg_sb_printf(o, "%s{\"id\":\"%016" PRIx64 "\",\"user\":",
		     first ? "" : ",", s->id);
	kg_sb_json_str(o, s->user);
	kg_sb_printf(o, ",\"state\":\"%s\",\"tunnel\":\"%s\",\"sources\":[",
		     state, tun);
	for (size_t i = 0; i < s->n_src; i++)
		kg_sb_printf(o, "%s\"%s\"", i ? "," : "",
			     kg_addr_str(&s->src[i], src));
	kg_sb_printf(o, "],\"age_s\":%" PRId64 ",\"ends_in_s\":%" PRId64
		     ",\"services\":[", now - s->created, ends_in(t, s, now));
	green_grants_foreach(g->grants, s->id, one_service, &sc);
	kg_sb_printf(o, "]}");
}

void admin_report_sessions(const struct green *g, bool json,
			   struct kg_sb *o)
{
	const struct kg_sess_table *t = &g->gate->sess;
	int64_t now = kg_sess_now(t);

	if (json)
		kg_sb_printf(o, "{\"sessions\":[");
	else
		kg_sb_printf(o, "%-16s  %-16s %-8s %-15s %-20s %8s %9s  %s\n",
			     "ID", "USER", "STATE", "TUNNEL", "SOURCES", "AGE",
			     "ENDS_IN", "SERVICES");
	for (size_t i = 0; i < t->n; i++)
		session(g, &t->s[i], now, json, i == 0, o);
	if (json)
		kg_sb_printf(o, "]}\n");
}

void admin_report_expiry(const struct green *g, bool json, struct kg_sb *o)
{
	const struct green_admin *a = g->admin;
	int64_t now = kg_wall_s();

	if (json)
		kg_sb_printf(o, "{\"warning_days\":%u,\"files\":[",
			     g->conf.admin.expiry_warning_days);
	else
		kg_sb_printf(o, "%-9s %-10s %-10s %-20s %-9s %s\n", "WHAT",
			     "NAME", "STATE", "UNTIL (UTC)", "DAYS", "PATH");
	for (size_t i = 0; i < a->n_exp; i++) {
		const struct kg_expiry *x = &a->exp[i];
		char at[32] = "-";
		struct tm tm;
		time_t t = (time_t)x->at;

		if (!x->error[0] && gmtime_r(&t, &tm))
			strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!json) {
			kg_sb_printf(o, "%-9s %-10s %-10s %-20s %-9" PRId64 " %s\n",
				     x->what, x->name, kg_expiry_state_name(x), at,
				     x->error[0] ? 0 : (x->at - now) / 86400,
				     x->path);
			continue;
		}
		kg_sb_printf(o, "%s{\"what\":\"%s\",\"name\":", i ? "," : "",
			     x->what);
		kg_sb_json_str(o, x->name);
		kg_sb_printf(o, ",\"path\":");
		kg_sb_json_str(o, x->path);
		kg_sb_printf(o, ",\"state\":\"%s\"", kg_expiry_state_name(x));
		if (x->error[0]) {
			kg_sb_printf(o, ",\"error\":");
			kg_sb_json_str(o, x->error);
		} else {
			kg_sb_printf(o, ",\"until\":\"%s\",\"seconds_left\":%" PRId64,
				     at, x->at - now);
		}
		kg_sb_printf(o, "}");
	}
	if (json)
		kg_sb_printf(o, "]}\n");
}

void admin_report_status(const struct green *g, bool json, struct kg_sb *o)
{
	size_t live = 0, n = g->gate ? g->gate->sess.n : 0;
	size_t bans = g->ips ? kg_ips_n_banned(g->ips) : 0;
	size_t grants = green_grants_count(g->grants);
	char note[256];

	for (size_t i = 0; i < n; i++)
		live += g->gate->sess.s[i].state == KG_SESS_LIVE;
	green_expiry_note(g, note, sizeof(note));
	if (json) {
		kg_sb_printf(o, "{\"sessions_live\":%zu,\"sessions_pending\":%zu,"
			     "\"grants\":%zu,\"bans\":%zu,\"draining\":%s,"
			     "\"expiry_warning\":", live, n - live, grants,
			     bans, g->admin->draining ? "true" : "false");
		kg_sb_json_str(o, note[0] ? note + 11 : "");
		kg_sb_printf(o, "}\n");
		return;
	}
	kg_sb_printf(o, "sessions: %zu live, %zu pending\ngrants: %zu\n"
		     "bans: %zu\ndraining: %s\n", live, n - live, grants,
		     bans, g->admin->draining ? "yes" : "no");
	if (note[0])
		kg_sb_printf(o, "%s\n", note + 2);
}
