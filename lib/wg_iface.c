/* SPDX-License-Identifier: MIT */
/*
 * WireGuard interfaces: kernel via rtnetlink when the kernel has
 * WireGuard, else one wireguard-go process. Addresses and link state are
 * set once at setup through `ip` (never per peer: peers go through
 * lib/wg.c without forking).
 */
#include "wg.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>

#define NL_BUF 8192   /* MNL_SOCKET_BUFFER_SIZE is not a constant */
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

extern char **environ;

static bool name_ok(const char *ifname)
{
	size_t n = strlen(ifname);

	if (n == 0 || n >= KG_WG_IFNAMSIZ)
		return false;
	for (const char *p = ifname; *p; p++)
		if (*p == '/' || *p <= ' ' || *p == ':')
			return false;
	return true;
}

/* One rtnetlink link request (RTM_NEWLINK kind wireguard, or RTM_DELLINK). */
static int rtnl_link(const char *ifname, uint16_t type, uint16_t flags)
{
	char buf[NL_BUF];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;
	ssize_t n;
	int rc = 0;

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		goto out;
	}
	memset(buf, 0, sizeof(buf));   /* libmnl leaves padding unset */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	if (type == RTM_NEWLINK) {
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
		mnl_attr_nest_end(nlh, info);
	}
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		goto out;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0 || mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq,
				mnl_socket_get_portid(nl), NULL, NULL) < 0)
		rc = -errno;
out:
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

/* Runs argv with extra environment; 0 if it exited 0. stdio to /dev/null
 * so a daemonising child holds no pipe of ours. */
static int run(char *const argv[], const char *extra_env)
{
	posix_spawn_file_actions_t fa;
	size_t n = 0;
	char **env;
	pid_t pid;
	int rc, st;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return -ENOMEM;
	memcpy(env, environ, n * sizeof(*env));
	env[n] = (char *)extra_env;   /* NULL ends the list if none */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (rc)
		return -rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static int wait_socket(const char *ifname, bool present)
{
	for (int i = 0; i < 100; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		if (kg_wg_uapi_exists(ifname) == present)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -ETIMEDOUT;
}

int kg_wg_iface_create(const char *ifname, enum kg_wg_backend *backend)
{
	char *argv[] = { (char *)"wireguard-go", (char *)ifname, NULL };
	uint16_t family;
	int rc;

	if (!name_ok(ifname))
		return -EINVAL;
	if (if_nametoindex(ifname) || kg_wg_uapi_exists(ifname))
		return -EEXIST;
	if (kg_wg_nl_family(&family) == 0) {
		*backend = KG_WG_BACKEND_KERNEL;
		return rtnl_link(ifname, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	}
	*backend = KG_WG_BACKEND_UAPI;
	rc = run(argv, "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1");
	if (rc == -ENOENT)
		return -ENOENT;
	if (rc)
		return rc;
	return wait_socket(ifname, true);
}

int kg_wg_iface_remove(const char *ifname)
{
	bool uapi = kg_wg_uapi_exists(ifname);
	int rc = 0;

	if (!name_ok(ifname))
		return -EINVAL;
	if (if_nametoindex(ifname))
		rc = rtnl_link(ifname, RTM_DELLINK, 0);
	if (rc == -ENODEV)
		rc = 0;
	/* wireguard-go exits and removes its socket once its tun is gone. */
	if (!rc && uapi)
		rc = wait_socket(ifname, false);
	return rc;
}

int kg_wg_iface_addr_add(const char *ifname, const char *addr)
{
	char *add[] = { (char *)"ip", (char *)"address", (char *)"add",
			(char *)addr, (char *)"dev", (char *)ifname,
			(char *)"nodad", NULL };

	if (!name_ok(ifname) || !addr || addr[0] == '-')
		return -EINVAL;
	/* nodad is IPv6 only */
	if (!strchr(addr, ':'))
		add[6] = NULL;
	return run(add, NULL);
}

int kg_wg_iface_addr_up(const char *ifname, const char *addr,
			const char *peer_addr)
{
	char *add[] = { (char *)"ip", (char *)"address", (char *)"add",
			(char *)addr, (char *)"dev", (char *)ifname, NULL, NULL, NULL };
	char *up[] = { (char *)"ip", (char *)"link", (char *)"set", (char *)ifname,
		       (char *)"up", NULL };
	int rc;

	if (!name_ok(ifname) || !addr || addr[0] == '-' ||
	    (peer_addr && peer_addr[0] == '-'))
		return -EINVAL;
	if (peer_addr) {
		add[4] = (char *)"peer";
		add[5] = (char *)peer_addr;
		add[6] = (char *)"dev";
		add[7] = (char *)ifname;
	}
	rc = run(add, NULL);
	return rc ? rc : run(up, NULL);
}

int kg_wg_iface_up(const char *ifname)
{
	char *up[] = { (char *)"ip", (char *)"link", (char *)"set", (char *)ifname,
		       (char *)"up", NULL };

	if (!name_ok(ifname))
		return -EINVAL;
	return run(up, NULL);
}

int kg_wg_iface_route(const char *ifname, const char *prefix)
{
	char *argv[] = { (char *)"ip", (char *)"route", (char *)"replace",
			 (char *)prefix, (char *)"dev", (char *)ifname, NULL };

	if (!name_ok(ifname) || !prefix || prefix[0] == '-')
		return -EINVAL;
	return run(argv, NULL);
}
