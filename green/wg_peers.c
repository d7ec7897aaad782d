/* SPDX-License-Identifier: MIT */
/*
 * Green's own WireGuard interface: made at start (an interface of the same
 * name an earlier instance left is removed first, with all its peers, so
 * nothing it let in survives), removed at stop. Peers are added and
 * removed one at a time through lib/wg (UAPI or kernel netlink).
 */
#include "gate.h"
#include "log.h"
#include "wg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The key file holds one base64 key (wg genkey), maybe a newline. */
static int read_key(const char *path, uint8_t key[32], struct kg_err *e)
{
	char buf[128];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0) {
		r = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return r;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		r = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	if (kg_base64_decode(buf, key, 32)) {
		kg_err_set(e, "%s: expected a base64 WireGuard private key", path);
		r = -EINVAL;
	}
out:
	kg_wipe(buf, sizeof(buf));
	return r;
}

static int configure(struct green_gate *gt, const struct green_conf *c,
		     struct kg_err *e)
{
	struct kg_wg_device d = { 0 };
	char addr[KG_ADDR_STRLEN + 4];
	int r;

	d.has_private_key = true;
	memcpy(d.private_key, gt->wg_priv, 32);
	d.has_listen_port = true;
	d.listen_port = c->wg_port;
	d.replace_peers = true;
	r = kg_wg_set(gt->ifname, &d);
	kg_wipe(&d, sizeof(d));
	if (r) {
		kg_err_set(e, "%s: setting key and port: %s", gt->ifname, strerror(-r));
		return r;
	}
	kg_addr_str(&c->tunnel_address, addr);
	strcat(addr, "/16");
	r = kg_wg_iface_addr_up(gt->ifname, addr, NULL);
	if (r)
		kg_err_set(e, "%s: address %s / up: %s", gt->ifname, addr, strerror(-r));
	return r;
}

int gate_wg_up(struct green_gate *gt, const struct green_conf *c,
	       struct kg_err *e)
{
	enum kg_wg_backend be;
	char pub[48];
	int r;

	snprintf(gt->ifname, sizeof(gt->ifname), "%s", c->wg_interface);
	if ((r = read_key(c->gate->wg_private_key, gt->wg_priv, e)))
		return r;
	if ((r = kg_x25519_public(gt->wg_priv, gt->wg_pub))) {
		kg_err_set(e, "WireGuard public key: %s", strerror(-r));
		return r;
	}
	/* A leftover of an earlier instance: its peers must not survive. */
	r = kg_wg_iface_remove(gt->ifname);
	if (r)
		kg_log(KG_LOG_WARNING, "%s: removing old interface: %s",
		       gt->ifname, strerror(-r));
	r = kg_wg_iface_create(gt->ifname, &be);
	if (r) {
		kg_err_set(e, "creating WireGuard interface %s: %s", gt->ifname,
			   strerror(-r));
		return r;
	}
	gt->iface_up = true;
	if ((r = configure(gt, c, e)))
		return r;
	kg_base64_encode(gt->wg_pub, 32, pub);
	kg_log_event(KG_LOG_NOTICE, "wireguard", "result", "up",
		     "interface", gt->ifname,
		     "backend", be == KG_WG_BACKEND_KERNEL ? "kernel" : "wireguard-go",
		     "public_key", pub);
	return 0;
}

void gate_wg_down(struct green_gate *gt)
{
	int r;

	if (!gt->iface_up)
		return;
	r = kg_wg_iface_remove(gt->ifname);
	if (r)
		kg_log(KG_LOG_ERR, "%s: removing interface: %s", gt->ifname,
		       strerror(-r));
	gt->iface_up = false;
}

int gate_wg_peer_add(struct green_gate *gt, const uint8_t key[32],
		     const struct kg_addr *tunnel)
{
	struct kg_prefix p = { .a = *tunnel, .len = 32 };

	return kg_wg_peer_put(gt->ifname, key, &p, 1, NULL, 0);
}

int gate_wg_peer_del(struct green_gate *gt, const uint8_t key[32])
{
	int r = kg_wg_peer_remove(gt->ifname, key);

	return r == -ENOENT ? 0 : r;
}
