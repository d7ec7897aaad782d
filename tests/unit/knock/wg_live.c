/* SPDX-License-Identifier: MIT */
/*
 * kg-test-wg-live IFNAME: drives lib/wg against a real wireguard-go. Run
 * as root inside a scratch network namespace (tests/e2e/t-knock-wg-uapi.sh).
 * Prints each check; exit 0 if all passed, 1 otherwise, 77 to skip.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/wg.h"

static int failures;

static void check(bool ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		failures++;
}

static int exercise(const char *ifname)
{
	uint8_t priv[32], pub[32], peer_priv[32], peer[32];
	struct kg_wg_device set = { .has_private_key = true, .has_listen_port = true,
				    .listen_port = 51999, .replace_peers = true };
	struct kg_wg_device got;
	struct kg_prefix a[2];
	struct sockaddr_in ep = { .sin_family = AF_INET, .sin_port = htons(4242) };
	uint64_t hs = 1;

	inet_pton(AF_INET, "198.51.100.10", &ep.sin_addr);
	kg_x25519_generate(priv, pub);
	kg_x25519_generate(peer_priv, peer);
	memcpy(set.private_key, priv, 32);
	check(kg_wg_set(ifname, &set) == 0, "set private_key and listen_port");
	check(kg_wg_get(ifname, &got) == 0 && got.listen_port == 51999 &&
	      got.n_peers == 0, "get shows listen_port=51999 and no peers");
	kg_wg_device_free(&got);

	kg_prefix_parse("10.88.1.10/32", &a[0]);
	kg_prefix_parse("fd00::10/128", &a[1]);
	check(kg_wg_peer_put(ifname, peer, a, 2, (struct sockaddr *)&ep, 0) == 0,
	      "add peer with two allowed-ips and an endpoint");
	check(kg_wg_get(ifname, &got) == 0 && got.n_peers == 1 &&
	      kg_memeq(got.peers[0].public_key, peer, 32) &&
	      got.peers[0].n_allowed == 2 && got.peers[0].has_endpoint &&
	      ntohs(got.peers[0].endpoint.in.sin_port) == 4242,
	      "get shows the peer, its 2 allowed-ips and endpoint :4242");
	kg_wg_device_free(&got);

	check(kg_wg_peer_put(ifname, peer, a, 1, NULL, 0) == 0,
	      "replace the peer's allowed-ips by one");
	check(kg_wg_get(ifname, &got) == 0 && got.n_peers == 1 &&
	      got.peers[0].n_allowed == 1, "allowed-ips replaced, not added");
	kg_wg_device_free(&got);
	check(kg_wg_peer_handshake(ifname, peer, &hs) == 0 && hs == 0,
	      "last handshake of a silent peer is 0");

	check(kg_wg_peer_remove(ifname, peer) == 0, "remove the peer");
	check(kg_wg_peer_handshake(ifname, peer, &hs) == -ENOENT,
	      "removed peer is gone");
	set.has_private_key = false;
	set.has_listen_port = true;
	set.listen_port = 0;
	set.replace_peers = false;
	{
		struct kg_wg_peer bad = { .remove = false };
		struct kg_wg_device d = { .peers = &bad, .n_peers = 1 };

		/* An allowed-ip with a bad prefix length: wireguard-go refuses,
		 * and the errno=N answer comes back as -N. */
		memcpy(bad.public_key, peer, 32);
		kg_prefix_parse("10.0.0.0/8", &bad.allowed[0]);
		bad.allowed[0].len = 40;
		bad.n_allowed = 1;
		check(kg_wg_set(ifname, &d) < 0, "a refused set returns the remote errno");
	}
	kg_wipe(priv, 32);
	kg_wipe(peer_priv, 32);
	return 0;
}

int main(int argc, char **argv)
{
	enum kg_wg_backend be;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: kg-test-wg-live IFNAME\n");
		return 2;
	}
	rc = kg_wg_iface_create(argv[1], &be);
	if (rc == -ENOENT) {
		printf("no kernel WireGuard and no wireguard-go\n");
		return 77;
	}
	check(rc == 0 && be == KG_WG_BACKEND_UAPI, "create interface via wireguard-go");
	if (rc)
		return 1;
	check(kg_wg_uapi_exists(argv[1]), "UAPI socket exists");
	check(kg_wg_iface_create(argv[1], &be) == -EEXIST, "second create is -EEXIST");
	exercise(argv[1]);
	check(kg_wg_iface_addr_up(argv[1], "10.88.0.1/16", NULL) == 0,
	      "address and link up at setup");
	check(kg_wg_iface_remove(argv[1]) == 0 && !kg_wg_uapi_exists(argv[1]),
	      "remove interface; wireguard-go exits and its socket goes");
	return failures ? 1 : 0;
}
