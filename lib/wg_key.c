/* SPDX-License-Identifier: MIT */
#include "wg_key.h"
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int kg_key_file_read(const char *path, uint8_t key[32], struct kg_err *e)
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
	if (n < 0) {
		r = -errno;
		kg_err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
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
