/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard site link with green: client traffic reaches red only
 * through it. The kernel here has no WireGuard, so red starts one
 * wireguard-go process for its interface, configures it over the UAPI
 * socket (keys in hex), and gives the interface its address and a route
 * to the tunnel range with ip(8). All of this happens once, at start:
 * nothing here runs in the knock path. An interface of the configured
 * name found at start is an earlier red's (killed outside systemd, its
 * wireguard-go orphaned) and is removed first.
 */
#include "red.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "crypto.h"
#include "log.h"
#include "wg.h"

extern char **environ;

static int spawn(pid_t *pid, char *const argv[], char *const envp[])
{
	posix_spawn_file_actions_t fa;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	return -rc;
}

static int run(char *const argv[], struct kg_err *e)
{
	pid_t pid;
	int st, rc = spawn(&pid, argv, environ);

	if (rc == 0 && waitpid(pid, &st, 0) < 0)
		rc = -errno;
	if (rc == 0 && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
		rc = -EIO;
	if (rc)
		kg_err_set(e, "%s %s %s: failed", argv[0], argv[1], argv[2]);
	return rc;
}

/* A base64 WireGuard key (from a file's first line or a string) as hex. */
static int key_hex(const char *b64, char hex[2 * KG_KEY_LEN + 1])
{
	uint8_t k[KG_KEY_LEN];
	char buf[64];
	size_t n;

	snprintf(buf, sizeof(buf), "%s", b64);
	n = strcspn(buf, " \t\r\n");
	buf[n] = '\0';
	if (kg_base64_decode(buf, k, sizeof(k)))
		return -EINVAL;
	kg_hex_encode(k, sizeof(k), hex);
	kg_wipe(k, sizeof(k));
	kg_wipe(buf, sizeof(buf));
	return 0;
}

static int read_key_file(const char *path, char hex[2 * KG_KEY_LEN + 1],
			 struct kg_err *e)
{
	char line[128] = "";
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		kg_err_set(e, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	rc = key_hex(line, hex);
	kg_wipe(line, sizeof(line));
	if (rc)
		kg_err_set(e, "%s: not a base64 WireGuard key", path);
	return rc;
}

static int uapi_connect(const char *ifname)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "/var/run/wireguard/%s.sock",
		 ifname);
	for (int i = 0; i < 100; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
	}
	return -ETIMEDOUT;
}

/* set=1 with red's key and green as the only peer; the answer must end
 * with errno=0. */
static int uapi_set(const struct kg_red_config *c, const char *priv_hex,
		    struct kg_err *e)
{
	char req[1024], pub_hex[2 * KG_KEY_LEN + 1], ep[KG_ADDR_STRLEN + 16] = "";
	char rng[KG_ADDR_STRLEN], peer[KG_ADDR_STRLEN], a[KG_ADDR_STRLEN];
	char ans[256] = "";
	int fd, rc = 0, n;
	ssize_t got;

	if (key_hex(c->site.peer_public_key, pub_hex)) {
		kg_err_set(e, "[site] peer_public_key: not a base64 key");
		return -EINVAL;
	}
	if (c->site.peer_port)
		snprintf(ep, sizeof(ep), "endpoint=%s%s%s:%u\n",
			 c->site.peer_endpoint.family == AF_INET6 ? "[" : "",
			 kg_addr_str(&c->site.peer_endpoint, a),
			 c->site.peer_endpoint.family == AF_INET6 ? "]" : "",
			 c->site.peer_port);
	n = snprintf(req, sizeof(req),
		     "set=1\nprivate_key=%s\nlisten_port=%u\nreplace_peers=true\n"
		     "public_key=%s\n%spersistent_keepalive_interval=25\n"
		     "replace_allowed_ips=true\nallowed_ip=%s/%u\nallowed_ip=%s/32\n",
		     priv_hex, c->site.listen_port, pub_hex, ep,
		     kg_addr_str(&c->tunnel_range.a, rng), c->tunnel_range.len,
		     kg_addr_str(&c->site.peer_address, peer));
	/* IPv6 tunnel addresses come through the same peer */
	if (c->tunnel_range6.a.family == AF_INET6 && n > 0 &&
	    (size_t)n < sizeof(req))
		n += snprintf(req + n, sizeof(req) - (size_t)n, "allowed_ip=%s/%u\n",
			      kg_addr_str(&c->tunnel_range6.a, a),
			      c->tunnel_range6.len);
	/* knocks come from the greens' link addresses: the peer may use them */
	for (size_t i = 0; i < c->n_greens && n > 0 && (size_t)n < sizeof(req); i++)
		if (!kg_addr_eq(&c->greens[i].link, &c->site.peer_address))
			n += snprintf(req + n, sizeof(req) - (size_t)n,
				      "allowed_ip=%s/%u\n",
				      kg_addr_str(&c->greens[i].link, a),
				      c->greens[i].link.family == AF_INET ? 32 : 128);
	if (n > 0 && (size_t)n < sizeof(req) - 1) {
		req[n++] = '\n';
		req[n] = '\0';
	} else {
		kg_err_set(e, "[site]: the WireGuard configuration is too long");
		kg_wipe(req, sizeof(req));
		return -EINVAL;
	}
	fd = uapi_connect(c->site.interface);
	if (fd < 0) {
		kg_err_set(e, "wireguard-go UAPI for %s: %s", c->site.interface,
			   strerror(-fd));
		rc = fd;
		goto out;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		rc = -errno;
	got = rc ? 0 : read(fd, ans, sizeof(ans) - 1);
	if (!rc && (got <= 0 || !strstr(ans, "errno=0\n"))) {
		kg_err_set(e, "wireguard-go refused the site configuration");
		rc = -EIO;
	}
	close(fd);
out:
	kg_wipe(req, sizeof(req));
	return rc;
}

static int address_and_route(const struct kg_red_config *c, struct kg_err *e)
{
	char addr[KG_ADDR_STRLEN + 8], rng[KG_ADDR_STRLEN + 8], s[KG_ADDR_STRLEN];
	char *ifn = (char *)c->site.interface;
	int rc;

	snprintf(addr, sizeof(addr), "%s/%u", kg_addr_str(&c->site.address.a, s),
		 c->site.address.len);
	snprintf(rng, sizeof(rng), "%s/%u", kg_addr_str(&c->tunnel_range.a, s),
		 c->tunnel_range.len);
	if ((rc = run((char *[]){ "ip", "address", "add", addr, "dev", ifn, NULL }, e)) ||
	    (rc = run((char *[]){ "ip", "link", "set", ifn, "up", NULL }, e)) ||
	    (rc = run((char *[]){ "ip", "route", "replace", rng, "dev", ifn, NULL }, e)))
		return rc;
	if (c->site.address6.a.family == AF_INET6) {
		snprintf(addr, sizeof(addr), "%s/%u",
			 kg_addr_str(&c->site.address6.a, s), c->site.address6.len);
		/* nodad: the link has one other end, and a tentative address
		 * would refuse the first grants' replies for a second */
		if ((rc = run((char *[]){ "ip", "-6", "address", "add", addr,
					  "dev", ifn, "nodad", NULL }, e)))
			return rc;
	}
	if (c->tunnel_range6.a.family == AF_INET6) {
		snprintf(rng, sizeof(rng), "%s/%u",
			 kg_addr_str(&c->tunnel_range6.a, s), c->tunnel_range6.len);
		if ((rc = run((char *[]){ "ip", "-6", "route", "replace", rng,
					  "dev", ifn, NULL }, e)))
			return rc;
	}
	return 0;
}

/* The configured name is red's alone: an interface that has it now was
 * left by an earlier red whose wireguard-go outlived it. Removing the
 * interface makes that wireguard-go exit, which removes its UAPI socket
 * (lib/wg_iface.c waits for that), so the new one cannot lose its socket
 * to the old one's exit. A socket file with no interface is stale (its
 * wireguard-go is gone; the new one replaces it). */
static int remove_orphan(const char *ifn, struct kg_err *e)
{
	int rc;

	if (!if_nametoindex(ifn))
		return 0;
	rc = kg_wg_iface_remove(ifn);
	if (rc) {
		kg_err_set(e, "removing the earlier interface %s: %s", ifn,
			   strerror(-rc));
		kg_log_event(KG_LOG_ERR, "site", "result", "error", "reason",
			     "orphan_interface", "interface", ifn, "error", e->msg);
		return rc;
	}
	kg_log_event(KG_LOG_NOTICE, "site", "result", "orphan_removed",
		     "interface", ifn);
	return 0;
}

int red_site_up(struct red *r, struct kg_err *e)
{
	static char env0[] = "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1";
	char *envp[] = { env0, NULL };
	char priv[2 * KG_KEY_LEN + 1];
	char *ifn = r->cfg.site.interface;
	int rc;

	if ((rc = read_key_file(r->cfg.site.private_key, priv, e)) ||
	    (rc = remove_orphan(ifn, e)))
		goto out;
	rc = spawn(&r->wg_pid, (char *[]){ "wireguard-go", "-f", ifn, NULL }, envp);
	if (rc) {
		kg_err_set(e, "starting wireguard-go: %s", strerror(-rc));
		r->wg_pid = 0;
		goto out;
	}
	if ((rc = uapi_set(&r->cfg, priv, e)) ||
	    (rc = address_and_route(&r->cfg, e)))
		goto out;
	kg_log_event(KG_LOG_INFO, "site", "result", "up", "interface", ifn);
out:
	kg_wipe(priv, sizeof(priv));
	return rc;
}

void red_site_down(struct red *r)
{
	int st;

	if (r->wg_pid <= 0)
		return;
	kill(r->wg_pid, SIGTERM);
	waitpid(r->wg_pid, &st, 0);
	r->wg_pid = 0;
}
