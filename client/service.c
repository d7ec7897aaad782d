/* SPDX-License-Identifier: MIT */
/* The service request step of connect (service.h). */
#include "service.h"
#include "grant_record.h"
#include "time.h"
#include "wg.h"

#include <errno.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static long ms_since(int64_t a)
{
	return (long)(kg_mono_ms() - a);
}

/* ip route replace ADDR/32 dev IFNAME: the service's address goes
 * through the tunnel whatever the host's other routes say. */
static int route_via(const char *ifname, const struct kg_addr *a)
{
	char dst[KG_ADDR_STRLEN + 4], s[KG_ADDR_STRLEN];
	char *argv[] = { (char *)"ip", (char *)"route", (char *)"replace", dst,
			 (char *)"dev", (char *)ifname, NULL };
	pid_t pid;
	int st, r;

	snprintf(dst, sizeof(dst), "%s/%u", kg_addr_str(a, s),
		 a->family == AF_INET ? 32 : 128);
	r = posix_spawnp(&pid, "ip", NULL, NULL, argv, environ);
	if (r)
		return -r;
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

int kg_service_route(const struct kg_profile *p, const struct kg_tunnel *t,
		     const struct kg_ctrl_grant *g)
{
	struct kg_prefix allowed[2];
	int r;

	/* WireGuard sends only to a peer whose allowed-ips cover the
	 * destination: green's peer gets red's site address too. */
	allowed[0].a = p->green_tunnel;
	allowed[0].len = (uint8_t)(kg_addr_len(&p->green_tunnel) * 8);
	allowed[1].a = g->addr;
	allowed[1].len = (uint8_t)(kg_addr_len(&g->addr) * 8);
	r = kg_wg_peer_put(t->ifname, p->green_wg_pub, allowed, 2, NULL, 25);
	return r ? r : route_via(t->ifname, &g->addr);
}

int kg_service_open(struct kg_ctrl_client *c, const struct kg_profile *p,
		    const struct kg_tunnel *t, const char *service,
		    struct kg_service_grant *out, struct kg_err *e)
{
	int64_t a;
	int r;

	memset(out, 0, sizeof(*out));
	if (strlen(service) > KG_CTRL_MAX_NAME ||
	    !kg_ctrl_name_ok((const uint8_t *)service, strlen(service))) {
		kg_err_set(e, "'%s' is not a service name", service);
		return -EINVAL;
	}
	memcpy(out->service, service, strlen(service) + 1);
	a = kg_mono_ms();
	r = kg_ctrl_client_request(c, service, &out->g, e);
	out->request_ms = ms_since(a);
	if (r)
		return r;
	r = kg_service_route(p, t, &out->g);
	if (r)
		kg_err_set(e, "routing %s through %s: %s", service, t->ifname,
			   strerror(-r));
	return r;
}

/* "A:P until T (lease N s)" ("[A]:P" for IPv6): T on this host's clock, from the seconds
 * left that green sent (printed as soon as they arrive). */
static void print_place(FILE *f, const struct kg_service_grant *s)
{
	char a[KG_ADDR_STRLEN], when[32];
	time_t end = (time_t)(kg_wall_s() + s->g.lease);
	long left = (long)s->g.lease;
	struct tm tm;

	gmtime_r(&end, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	bool v6 = s->g.addr.family == AF_INET6;

	fprintf(f, "%s%s%s:%u until %s (lease %ld s, renewed by green while the "
		"session lives)\n", v6 ? "[" : "", kg_addr_str(&s->g.addr, a),
		v6 ? "]" : "", s->g.port, when, left);
}

void kg_service_print(FILE *f, const struct kg_service_grant *s)
{
	fprintf(f, "service %s at ", s->service);
	print_place(f, s);
	fprintf(f, "service %s granted after %ld ms\n", s->service,
		s->request_ms);
}

int kg_service_step(struct kg_ctrl_client *c, const struct kg_profile *p,
		    const struct kg_tunnel *t, const char *service,
		    bool verbose)
{
	struct kg_service_grant g;
	struct kg_err e = { { 0 } };
	int r;

	if (verbose)
		fprintf(stderr, "knockgate connect: service: asking green for '%s' "
			"(card signs the request)\n", service);
	r = kg_service_open(c, p, t, service, &g, &e);
	if (r) {
		fprintf(stderr, "knockgate connect: service %s: %s%s\n", service,
			r == -EACCES ? kg_ctrl_code_name(c->code) :
			e.msg[0] ? e.msg : strerror(-r),
			r == -EACCES ? " (green refused it: is the service name right "
			"and allowed for you? ask the admin)" : "");
		return 1;
	}
	kg_service_print(stdout, &g);
	fflush(stdout);
	if (kg_grant_record_set(service, &g.g))
		fprintf(stderr, "knockgate connect: service %s: not recorded for "
			"forwarding (too many services)\n", service);
	if (verbose)
		fprintf(stderr, "knockgate connect: service: routed through %s\n",
			t->ifname);
	return 0;
}

static void on_moved(void *ctx, const char *service,
		     const struct kg_ctrl_grant *g)
{
	struct kg_service_follow *f = ctx;
	struct kg_service_grant sg = { .g = *g };
	int r = kg_service_route(f->p, f->t, g);

	snprintf(sg.service, sizeof(sg.service), "%s", service);
	/* the forwarder's next connection goes to the new place */
	kg_grant_record_set(service, g);
	printf("service %s moved to ", service);
	print_place(stdout, &sg);
	fflush(stdout);
	if (r)
		fprintf(stderr, "knockgate connect: service %s: routing the new place: %s\n",
			service, strerror(-r));
}

void kg_service_follow(struct kg_ctrl_client *c, struct kg_service_follow *ctx)
{
	c->on_moved = on_moved;
	c->moved_ctx = ctx;
}
