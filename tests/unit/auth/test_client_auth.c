/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/pin.h"
#include "client/session_info.h"

static void test_pin_line_end_is_dropped(void **st)
{
	char pin[KG_PIN_MAX + 1];

	(void)st;
	assert_int_equal(kg_pin_from_text("123456\n", 7, pin, sizeof(pin), NULL), 0);
	assert_string_equal(pin, "123456");
	assert_int_equal(kg_pin_from_text("12345678\r\nrest", 15, pin, sizeof(pin), NULL), 0);
	assert_string_equal(pin, "12345678");
	assert_int_equal(kg_pin_from_text("654321", 6, pin, sizeof(pin), NULL), 0);
	assert_string_equal(pin, "654321");
}

static void test_pin_of_wrong_length_or_with_control_chars_is_refused(void **st)
{
	char pin[KG_PIN_MAX + 1];

	(void)st;
	assert_int_equal(kg_pin_from_text("", 0, pin, sizeof(pin), NULL), -EINVAL);
	assert_int_equal(kg_pin_from_text("12345\n", 6, pin, sizeof(pin), NULL), -EINVAL);
	assert_int_equal(kg_pin_from_text("123456789", 9, pin, sizeof(pin), NULL), -EINVAL);
	assert_int_equal(kg_pin_from_text("123\t456", 7, pin, sizeof(pin), NULL), -EINVAL);
	/* the caller's buffer bounds it too */
	assert_int_equal(kg_pin_from_text("1234567", 7, pin, 7, NULL), -EINVAL);
}

static void test_pin_error_message_never_holds_the_pin(void **st)
{
	struct kg_err e = { { 0 } };
	char pin[KG_PIN_MAX + 1];

	(void)st;
	assert_int_equal(kg_pin_from_text("98765\x01", 6, pin, sizeof(pin), &e), -EINVAL);
	assert_null(strstr(e.msg, "98765"));
	setenv(KG_PIN_ENV, "1234567890", 1);
	assert_int_equal(kg_pin_get(NULL, pin, sizeof(pin), &e), -EINVAL);
	assert_null(strstr(e.msg, "1234567890"));
	assert_non_null(strstr(e.msg, KG_PIN_ENV));
	unsetenv(KG_PIN_ENV);
}

static void test_pin_file_wins_over_environment(void **st)
{
	char path[] = "/tmp/kg-pin-test-XXXXXX", pin[KG_PIN_MAX + 1];
	int fd = mkstemp(path);

	(void)st;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "111111\n", 7), 7);
	close(fd);
	setenv(KG_PIN_ENV, "222222", 1);
	assert_int_equal(kg_pin_get(path, pin, sizeof(pin), NULL), 0);
	assert_string_equal(pin, "111111");
	assert_int_equal(kg_pin_get(NULL, pin, sizeof(pin), NULL), 0);
	assert_string_equal(pin, "222222");
	unsetenv(KG_PIN_ENV);
	unlink(path);
	assert_int_equal(kg_pin_get(path, pin, sizeof(pin), NULL), -ENOENT);
}

static void test_session_file_gives_pid_readable_by_sudo_group(void **st)
{
	char dir[] = "/tmp/kg-run-test-XXXXXX", path[512];
	struct kg_ctrl_session_info s = { .id = 0x1122334455667788ull,
					  .n_services = 2, .reproof_interval = 300 };
	struct kg_profile p;
	struct stat sb;
	pid_t pid = 0;

	(void)st;
	assert_non_null(mkdtemp(dir));
	setenv("KG_RUN_DIR", dir, 1);
	memset(&p, 0, sizeof(p));
	strcpy(p.user, "alice");
	strcpy(p.green_id, "green1");
	assert_int_equal(kg_addr_parse("10.88.1.10", &p.tunnel_address), 0);
	strcpy(s.services[0], "web");
	strcpy(s.services[1], "ssh");
	assert_int_equal(kg_info_pid("kg-alice", &pid), -ENOENT);
	/* Readable by the group of the user who ran sudo (status without
	 * root), by nobody else: it holds no secret, but is theirs. */
	setenv("SUDO_GID", "65534", 1);
	assert_int_equal(kg_info_write("kg-alice", &p, &s, 4242, 1000), 0);
	unsetenv("SUDO_GID");
	assert_int_equal(kg_info_pid("kg-alice", &pid), 0);
	assert_int_equal(pid, 4242);
	assert_int_equal(kg_info_path("kg-alice", path, sizeof(path)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	if (geteuid() == 0)
		assert_int_equal(sb.st_gid, 65534);
	assert_int_equal(kg_info_remove("kg-alice"), 0);
	assert_int_equal(kg_info_pid("kg-alice", &pid), -ENOENT);
	rmdir(dir);
	unsetenv("KG_RUN_DIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_line_end_is_dropped),
		cmocka_unit_test(test_pin_of_wrong_length_or_with_control_chars_is_refused),
		cmocka_unit_test(test_pin_error_message_never_holds_the_pin),
		cmocka_unit_test(test_pin_file_wins_over_environment),
		cmocka_unit_test(test_session_file_gives_pid_readable_by_sudo_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
