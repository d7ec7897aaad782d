/* SPDX-License-Identifier: MIT */
#include "session_info.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "session_state.h"

int kg_info_path(const char *ifname, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s.auth", kg_state_dir(), ifname);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static void put_services(FILE *f, const struct kg_ctrl_session_info *s)
{
	fputs("services =", f);
	for (size_t i = 0; i < s->n_services; i++)
		fprintf(f, "%s %s", i ? "," : "", s->services[i]);
	fputc('\n', f);
}

int kg_info_write(const char *ifname, const struct kg_profile *p,
		  const struct kg_ctrl_session_info *s, pid_t pid, time_t since)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8], addr[KG_ADDR_STRLEN];
	FILE *f;
	int fd, rc = kg_info_path(ifname, path, sizeof(path));

	if (rc)
		return rc;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = kg_state_open(tmp);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	fprintf(f, "[auth]\npid = %ld\nsession = %016" PRIx64 "\nuser = %s\n"
		   "green_id = %s\ntunnel_address = %s\n",
		(long)pid, s->id, p->user, p->green_id,
		kg_addr_str(&p->tunnel_address, addr));
	put_services(f, s);
	fprintf(f, "since = %lld\nreproof_interval = %u\n", (long long)since,
		s->reproof_interval);
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

int kg_info_pid(const char *ifname, pid_t *pid)
{
	char path[PATH_MAX];
	struct kg_conf c = { 0 };
	uint64_t v = 0;
	int rc = kg_info_path(ifname, path, sizeof(path));

	if (rc)
		return rc;
	if (access(path, F_OK) < 0)
		return -ENOENT;
	rc = kg_conf_load(&c, path, NULL);
	if (!rc)
		rc = kg_conf_uint(&c, "auth", "pid", true, 0, 2, INT_MAX, &v, NULL);
	kg_conf_free(&c);
	if (rc)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int kg_info_remove(const char *ifname)
{
	char path[PATH_MAX];
	int rc = kg_info_path(ifname, path, sizeof(path));

	if (rc)
		return rc;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
