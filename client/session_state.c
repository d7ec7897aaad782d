/* SPDX-License-Identifier: MIT */
#include "session_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *kg_state_dir(void)
{
	const char *d = getenv("KG_RUN_DIR");

	return d && d[0] ? d : "/run/knockgate";
}

int kg_state_path(const char *ifname, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s.session", kg_state_dir(), ifname);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int kg_state_mkdir(void)
{
	struct stat st;

	if (mkdir(kg_state_dir(), 0755) < 0 && errno != EEXIST)
		return -errno;
	/* A directory an older version made 0700 keeps status from the user. */
	if (stat(kg_state_dir(), &st) == 0 && st.st_uid == geteuid() &&
	    (st.st_mode & 0755) != 0755)
		chmod(kg_state_dir(), (st.st_mode & 07777) | 0755);
	return 0;
}

int kg_state_open(const char *path)
{
	const char *g = getenv("SUDO_GID");
	char *end;
	unsigned long gid;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);

	if (fd < 0)
		return -errno;
	/* The user who ran sudo reads it through the group; nobody else. */
	if (geteuid() == 0 && g && g[0]) {
		gid = strtoul(g, &end, 10);
		if (!*end)
			(void)!fchown(fd, (uid_t)-1, (gid_t)gid);
	}
	fchmod(fd, 0640);
	return fd;
}

int kg_state_write(const struct kg_tunnel *t, const struct kg_profile *p)
{
	char path[PATH_MAX], b64[45], a1[KG_ADDR_STRLEN], a2[KG_ADDR_STRLEN];
	FILE *f;
	int fd, rc = kg_state_path(t->ifname, path, sizeof(path));

	if (rc)
		return rc;
	if ((rc = kg_state_mkdir()))
		return rc;
	fd = kg_state_open(path);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		return rc;
	}
	kg_base64_encode(t->pub, KG_KEY_LEN, b64);
	fprintf(f, "[session]\nifname = %s\nprofile = %s\nuser = %s\n"
		   "green_address = %s\ntunnel_address = %s\n"
		   "client_wg_public_key = %s\nstarted = %lld\n",
		t->ifname, p->dir, p->user, kg_addr_str(&p->green_address, a1),
		kg_addr_str(&p->tunnel_address, a2), b64, (long long)time(NULL));
	return fclose(f) == 0 ? 0 : -EIO;
}

int kg_state_find_only(char ifname[KG_WG_IFNAMSIZ])
{
	DIR *d = opendir(kg_state_dir());
	struct dirent *e;
	int found = 0;

	if (!d)
		return -ENOENT;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);

		if (n <= 8 || strcmp(e->d_name + n - 8, ".session") || n - 8 >= KG_WG_IFNAMSIZ)
			continue;
		if (found++ == 0) {
			memcpy(ifname, e->d_name, n - 8);
			ifname[n - 8] = '\0';
		}
	}
	closedir(d);
	return found == 0 ? -ENOENT : found > 1 ? -EEXIST : 0;
}

int kg_state_remove(const char *ifname)
{
	char path[PATH_MAX];
	int rc = kg_state_path(ifname, path, sizeof(path));

	if (rc)
		return rc;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}
