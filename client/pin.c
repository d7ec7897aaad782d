/* SPDX-License-Identifier: MIT */
#include "pin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crypto.h"

int kg_pin_from_text(const char *text, size_t len, char *pin, size_t cap,
		     struct kg_err *e)
{
	size_t n = 0;

	while (n < len && text[n] != '\n')
		n++;
	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n < KG_PIN_MIN || n > KG_PIN_MAX || n >= cap) {
		kg_err_set(e, "the PIN must have %d to %d characters",
			   KG_PIN_MIN, KG_PIN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
			kg_err_set(e, "the PIN holds a control character");
			return -EINVAL;
		}
	}
	memcpy(pin, text, n);
	pin[n] = '\0';
	return 0;
}

static int pin_from_file(const char *path, char *pin, size_t cap,
			 struct kg_err *e)
{
	char buf[64];
	ssize_t n;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		rc = -errno;
		kg_err_set(e, "--pin-file %s: %s", path, strerror(-rc));
		return rc;
	}
	n = read(fd, buf, sizeof(buf));
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		kg_err_set(e, "--pin-file %s: %s", path, strerror(-rc));
	else
		rc = kg_pin_from_text(buf, (size_t)n, pin, cap, e);
	kg_wipe(buf, sizeof(buf));
	return rc;
}

/* Reads one line from the terminal with echo off, restoring the terminal
 * whatever happens. */
static int pin_from_tty(char *pin, size_t cap, struct kg_err *e)
{
	struct termios old, quiet;
	char buf[64];
	ssize_t n;
	int rc, fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || tcgetattr(fd, &old) < 0) {
		if (fd >= 0)
			close(fd);
		kg_err_set(e, "no PIN: give --pin-file FILE, set %s, or run "
			   "on a terminal", KG_PIN_ENV);
		return -ENOTTY;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (write(fd, "Card PIN: ", 10) < 0 || tcsetattr(fd, TCSAFLUSH, &quiet) < 0) {
		close(fd);
		kg_err_set(e, "cannot prompt for the PIN on the terminal");
		return -ENOTTY;
	}
	/* No retry on EINTR: Ctrl-C at the prompt must give up (with the
	 * terminal restored), connect's handlers do not kill the process. */
	n = read(fd, buf, sizeof(buf));
	rc = n < 0 ? -errno : 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0) {
		/* the newline is cosmetic */
	}
	close(fd);
	if (rc)
		kg_err_set(e, "reading the PIN: %s", strerror(-rc));
	else
		rc = kg_pin_from_text(buf, (size_t)n, pin, cap, e);
	kg_wipe(buf, sizeof(buf));
	return rc;
}

int kg_pin_get(const char *pin_file, char *pin, size_t cap, struct kg_err *e)
{
	const char *env;

	if (pin_file)
		return pin_from_file(pin_file, pin, cap, e);
	env = getenv(KG_PIN_ENV);
	if (env && env[0]) {
		int rc = kg_pin_from_text(env, strlen(env), pin, cap, e);

		if (rc)
			kg_err_set(e, "%s: the PIN must have %d to %d characters",
				   KG_PIN_ENV, KG_PIN_MIN, KG_PIN_MAX);
		return rc;
	}
	return pin_from_tty(pin, cap, e);
}
