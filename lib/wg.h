/* SPDX-License-Identifier: MIT */
/*
 * WireGuard control without forking `wg`: plain structs describing a
 * device and its peers (like wireguard-tools' containers.h), moved to the
 * running interface by one of two backends chosen at run time:
 *
 *   - UAPI (lib/wg_uapi.c): the text protocol over wireguard-go's unix
 *     socket /var/run/wireguard/IFNAME.sock (keys in hex, answers end with
 *     errno=N);
 *   - kernel generic netlink (lib/wg_nl.c) over libmnl, used when the
 *     kernel has WireGuard. It cannot run on the test machines (no module);
 *     its message encoding and answer parsing are unit-tested.
 *
 * Interfaces themselves (create/remove, address, up) are lib/wg_iface.c.
 * All functions return 0 or -errno; -EPROTO means the peer side answered
 * something unparseable; a UAPI errno=N answer is returned as -N.
 */
#ifndef KG_WG_H
#define KG_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "addr.h"
#include "crypto.h"

#define KG_WG_MAX_ALLOWED 8
#define KG_WG_SOCKET_DIR "/var/run/wireguard"
#define KG_WG_IFNAMSIZ 16

struct kg_wg_peer {
	uint8_t public_key[KG_KEY_LEN];
	bool remove;                      /* set: remove this peer */
	bool replace_allowed_ips;         /* set: allowed replaces, not adds */
	struct kg_prefix allowed[KG_WG_MAX_ALLOWED];
	size_t n_allowed;
	bool has_endpoint;
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} endpoint;
	bool has_keepalive;
	uint16_t keepalive_s;             /* 0 disables */
	/* Filled by get only. */
	uint64_t last_handshake_sec, last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
};

struct kg_wg_device {
	bool has_private_key;
	uint8_t private_key[KG_KEY_LEN];
	bool has_listen_port;
	uint16_t listen_port;
	bool replace_peers;               /* set: drop every other peer */
	/* set: borrowed from the caller; get: owned (kg_wg_device_free). */
	struct kg_wg_peer *peers;
	size_t n_peers;
};

/* Frees the peers a get allocated and wipes the private key. */
void kg_wg_device_free(struct kg_wg_device *d);

/* Applies dev to interface ifname through whichever backend serves it
 * (a UAPI socket if one exists for ifname, else kernel netlink). */
int kg_wg_set(const char *ifname, const struct kg_wg_device *dev);
/* Reads the interface into *out (owned by the caller). */
int kg_wg_get(const char *ifname, struct kg_wg_device *out);

/* Helpers over kg_wg_set for the daemon and client: add or replace one
 * peer (allowed-ips replaced by the given ones; n_allowed 0 keeps the
 * current ones, so a roaming client can move the endpoint without losing
 * the routes its granted services added; endpoint NULL keeps the current
 * one), and remove one. 0 or -errno. */
int kg_wg_peer_put(const char *ifname, const uint8_t pub[KG_KEY_LEN],
		   const struct kg_prefix *allowed, size_t n_allowed,
		   const struct sockaddr *endpoint, uint16_t keepalive_s);
int kg_wg_peer_remove(const char *ifname, const uint8_t pub[KG_KEY_LEN]);
/* The peer's last handshake (seconds since the epoch, 0 = never), or
 * -ENOENT if the interface has no such peer. */
int kg_wg_peer_handshake(const char *ifname, const uint8_t pub[KG_KEY_LEN],
			 uint64_t *sec);

/* --- UAPI backend (wg_uapi.c) --- */
/* Path of ifname's UAPI socket into buf; -ENAMETOOLONG. */
int kg_wg_uapi_path(const char *ifname, char *buf, size_t cap);
bool kg_wg_uapi_exists(const char *ifname);
/* Pure formatting/parsing (no I/O), for tests. format writes the whole
 * "set=1\n...\n\n" request; -EMSGSIZE if it does not fit. parse reads a
 * get answer up to its errno= line: 0 with *out filled (owned) and
 * *remote_errno set, or -EPROTO. */
int kg_wg_uapi_format_set(const struct kg_wg_device *dev, char *buf,
			  size_t cap, size_t *len);
int kg_wg_uapi_parse_get(const char *text, size_t len,
			 struct kg_wg_device *out, int *remote_errno);
int kg_wg_uapi_set(const char *ifname, const struct kg_wg_device *dev);
int kg_wg_uapi_get(const char *ifname, struct kg_wg_device *out);

/* --- kernel generic netlink backend (wg_nl.c) --- */
/* Encodes one WG_CMD_SET_DEVICE message for ifname with the given genl
 * family id and sequence number into buf (no I/O, for tests). -EMSGSIZE if
 * it does not fit (callers split big peer lists), -EINVAL. */
int kg_wg_nl_encode_set(const char *ifname, uint16_t family, uint32_t seq,
			const struct kg_wg_device *dev, void *buf, size_t cap,
			size_t *len);
/* Resolves the "wireguard" genl family id: -ENOENT when the kernel has no
 * WireGuard (then the UAPI backend is used). */
int kg_wg_nl_family(uint16_t *family);
int kg_wg_nl_set(const char *ifname, const struct kg_wg_device *dev);
/* Adds one WG_CMD_GET_DEVICE answer message (of a dump) to *d: listen
 * port, peers with endpoint, last handshake, rx/tx, keepalive and
 * allowed-ips; a peer split over messages is merged. No I/O, for tests.
 * 0, -EPROTO (malformed), -ENOMEM. *d is owned by the caller. */
int kg_wg_nl_parse_get(const void *msg, size_t len, struct kg_wg_device *d);
int kg_wg_nl_get(const char *ifname, struct kg_wg_device *out);

/* --- interfaces (wg_iface.c) --- */
enum kg_wg_backend { KG_WG_BACKEND_UAPI, KG_WG_BACKEND_KERNEL };

/* Creates WireGuard interface ifname in the current network namespace:
 * kernel WireGuard via rtnetlink when the kernel has it, else one
 * wireguard-go process (daemonised; it exits when the interface is
 * removed), waiting up to 5 s for its UAPI socket. -EEXIST if the name is
 * taken, -ENOENT if neither backend is available, -ETIMEDOUT. */
int kg_wg_iface_create(const char *ifname, enum kg_wg_backend *backend);
/* Removes the interface (and so its wireguard-go process) and waits for
 * its UAPI socket to go. 0 also if it was not there. */
int kg_wg_iface_remove(const char *ifname);
/* Setup-time only (never per peer): adds address addr (with peer_addr
 * as point-to-point peer if not NULL, else addr is "A.B.C.D/LEN") and sets
 * the link up, through `ip`. */
int kg_wg_iface_addr_up(const char *ifname, const char *addr,
			const char *peer_addr);
/* Setup-time only: sets the link up with no address (a device that only
 * carries routes, e.g. green's WireGuard shards), through `ip`. 0 or
 * -errno. */
int kg_wg_iface_up(const char *ifname);
/* Setup-time only: routes prefix ("A.B.C.D/LEN") through ifname (`ip
 * route replace`, so a start after a crash finds it done). 0, -EINVAL,
 * -EIO if ip failed. */
int kg_wg_iface_route(const char *ifname, const char *prefix);
/* Setup-time only: adds one more address ("ADDR/LEN", e.g. an IPv6
 * tunnel address beside the IPv4 one), without duplicate address
 * detection (the link has one other end), through `ip`. 0 or -errno. */
int kg_wg_iface_addr_add(const char *ifname, const char *addr);

#endif
