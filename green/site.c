/* SPDX-License-Identifier: MIT */
/*
 * The site link: green's WireGuard interface to the red hosts. Made once
 * at start (lib/wg_iface.c picks kernel WireGuard or wireguard-go), one
 * peer per [red NAME] allowed only its site address, and removed at stop.
 * The interface's prefix (10.89.0.1/30) is the route clients' packets to
 * red's site address take; green's forward chain decides which of them
 * may go (fwd_grants).
 */
#include "green.h"
#include "apply.h"
#include "log.h"
#include "wg.h"
#include "wg_key.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Packets a client sends to red's site address arrive on green's client
 * interface and return on the site link: both must forward (IPv4 decides
 * per input interface), and nothing else on green does. */
int green_site_forwarding(const char *ifname)
{
	char path[96];
	int fd, r = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		r = -errno;
	close(fd);
	return r;
}

int green_site_forwarding6(void)
{
	int fd, r = 0;

	fd = open("/proc/sys/net/ipv6/conf/all/forwarding", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "1\n", 2) != 2)
		r = -errno;
	close(fd);
	return r;
}

static void fill_peer(struct kg_wg_peer *p, const struct green_red *red)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, red->site_public_key, KG_KEY_LEN);
	p->replace_allowed_ips = true;
	p->allowed[0].a = red->site_address;
	p->allowed[0].len = 32;
	p->n_allowed = 1;
	if (red->site_address6.family == AF_INET6) {
		p->allowed[1].a = red->site_address6;
		p->allowed[1].len = 128;
		p->n_allowed = 2;
	}
	/* the addresses red shuffles IPv6 grants to */
	if (red->hop_prefix.a.family == AF_INET6)
		p->allowed[p->n_allowed++] = red->hop_prefix;
	p->has_endpoint = true;
	p->endpoint.in.sin_family = AF_INET;
	p->endpoint.in.sin_port = htons(red->site_port);
	memcpy(&p->endpoint.in.sin_addr, red->address.b, 4);
	p->has_keepalive = true;
	p->keepalive_s = 25;
}

int green_site_up(const struct green_site_conf *s, struct kg_err *e)
{
	struct kg_wg_device d = { 0 };
	char addr[KG_ADDR_STRLEN + 4], a[KG_ADDR_STRLEN];
	enum kg_wg_backend be;
	int r;

	if (!s->enabled)
		return 0;
	d.peers = calloc(s->n_reds, sizeof(*d.peers));
	if (!d.peers)
		return -ENOMEM;
	if ((r = kg_key_file_read(s->private_key, d.private_key, e)))
		goto out;
	d.has_private_key = true;
	d.has_listen_port = true;
	d.listen_port = s->listen_port;
	d.replace_peers = true;
	for (size_t i = 0; i < s->n_reds; i++)
		fill_peer(&d.peers[i], &s->reds[i]);
	d.n_peers = s->n_reds;
	snprintf(addr, sizeof(addr), "%s/%u", kg_addr_str(&s->address.a, a),
		 s->address.len);
	if ((r = green_apply_site_up(s->interface, &d, addr, &be, e)))
		goto out;
	if (s->address6.a.family == AF_INET6) {
		snprintf(addr, sizeof(addr), "%s/%u",
			 kg_addr_str(&s->address6.a, a), s->address6.len);
		if ((r = green_apply_addr_add(s->interface, addr))) {
			kg_err_set(e, "site link %s: address %s: %s",
				   s->interface, addr, strerror(-r));
			green_apply_site_down(s->interface);
			goto out;
		}
	}
	if ((r = green_site_forwarding(s->interface))) {
		kg_err_set(e, "site link %s: forwarding: %s", s->interface,
			   strerror(-r));
		green_apply_site_down(s->interface);
		goto out;
	}
	kg_log_event(KG_LOG_INFO, "site", "result", "up", "interface",
		     s->interface, "backend",
		     be == KG_WG_BACKEND_KERNEL ? "kernel" : "wireguard-go");
out:
	kg_wipe(d.private_key, sizeof(d.private_key));
	free(d.peers);
	return r;
}

int green_site_relink(const char *ifname, const struct green_red *red)
{
	struct kg_wg_peer p;

	fill_peer(&p, red);
	return green_apply_site_peer_reset(ifname, &p);
}

void green_site_down(const char *ifname)
{
	int r = green_apply_site_down(ifname);

	kg_log_event(r ? KG_LOG_ERR : KG_LOG_INFO, "site", "result",
		     r ? "error" : "down", "interface", ifname);
}
