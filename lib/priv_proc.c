/* SPDX-License-Identifier: MIT */
/*
 * The worker's process under privilege separation (lib/priv.h): the fork
 * joined by the socketpair, its reaping, the monitor's plain answers and
 * refusals, and the test builds' probe of what a compromised worker can
 * still do. Green's and red's monitors share these.
 */
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* A test program in the worker's place, the socket on fd 3, so a test
 * plays a compromised worker against the real monitor. */
static void exec_test_worker(const char *path, int sock)
{
	char *argv[] = { (char *)path, NULL };

	if (dup2(sock, 3) < 0)
		_exit(126);
	execv(path, argv);
	_exit(127);
}

int kg_priv_spawn(kg_priv_child_fn child, void *ctx, const char *test_worker,
		  pid_t *pid, int *sock, struct kg_err *e)
{
	int sv[2], rc;
	pid_t p;

	if ((rc = kg_priv_pair(sv))) {
		kg_err_set(e, "socketpair: %s", strerror(-rc));
		return rc;
	}
	fflush(NULL);   /* nothing buffered is written twice */
	p = fork();
	if (p < 0) {
		rc = -errno;
		kg_err_set(e, "fork: %s", strerror(-rc));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (p == 0) {
		close(sv[0]);
		if (test_worker)
			exec_test_worker(test_worker, sv[1]);
		child(ctx, sv[1]);
		_exit(1);   /* a worker's main never returns */
	}
	close(sv[1]);
	*pid = p;
	*sock = sv[0];
	return 0;
}

void kg_priv_reap(pid_t *pid, int *sock)
{
	/* Without CAP_KILL the worker (another uid) cannot be signalled:
	 * closing its socket ends its loop, and the kernel kills it when
	 * this process exits (PR_SET_PDEATHSIG). */
	if (*sock >= 0)
		close(*sock);
	*sock = -1;
	for (int i = 0; *pid > 0 && i < 200; i++) {
		if (waitpid(*pid, NULL, WNOHANG) != 0)
			*pid = 0;
		else
			usleep(10000);
	}
	*pid = 0;
}

void kg_priv_reply(int sock, uint8_t type, uint32_t status)
{
	struct kg_priv_ans a = { type, status };
	uint8_t buf[16];
	size_t n;

	if (!kg_priv_ans_encode(&a, buf, sizeof(buf), &n))
		(void)kg_priv_send(sock, buf, n);
}

void kg_priv_refuse(int sock, uint8_t type, const char *req,
		    const char *reason, const struct kg_addr *a,
		    uint32_t status)
{
	char s[KG_ADDR_STRLEN];

	kg_log_event(KG_LOG_WARNING, "privsep", "result", "refused", "request",
		     req, "reason", reason, "addr", a ? kg_addr_str(a, s) : NULL);
	kg_priv_reply(sock, type, status);
}

void kg_priv_probe(const char *keyfile)
{
	char *argv[] = { "/bin/true", NULL };
	char ex[16], op[16], so[16];
	int fd;

	errno = 0;
	execve("/bin/true", argv, NULL);
	snprintf(ex, sizeof(ex), "%d", errno);
	errno = 0;
	fd = open(keyfile, O_RDONLY);
	snprintf(op, sizeof(op), "%d", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	errno = 0;
	fd = socket(AF_NETLINK, SOCK_RAW, 0);
	snprintf(so, sizeof(so), "%d", fd < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	kg_log_event(KG_LOG_NOTICE, "privsep_probe", "execve", ex, "open", op,
		     "socket_netlink", so, "keyfile", keyfile);
}
