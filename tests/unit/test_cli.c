// SPDX-License-Identifier: MIT
/*
 * The strict value parsers every subcommand shares (user/cli.c): what a
 * person may type is taken exactly; anything strtod or strtol would bend
 * into a number ("1e3", " 12", "+5", "0x10", "inf") is a usage error, 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

/* Before cmocka.h, whose fail() is a macro. */
#include "commands.h"

#include <cmocka.h>

/*
 * Each refusal prints its one line on stderr, which cmocka also uses: the
 * lines go to /dev/null for the call only, so a failing assert still shows.
 */
static int saved_stderr = -1;

static void quiet(void)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	fflush(stderr);
	saved_stderr = dup(2);
	dup2(null, 2);
	close(null);
}

static int loud(int ret)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	return ret;
}

#define Q(call)	(quiet(), loud(call))

static const char *const not_numbers[] = {
	"", "1e3", "0x10", "+5", "-5", " 12", "12 ", "12abc", "inf", "nan",
	"1,000", "99999999999999999999999",
};

#define NBAD	(sizeof(not_numbers) / sizeof(not_numbers[0]))

static void test_pid(void **state)
{
	pid_t pid = 0;

	(void)state;
	assert_int_equal(Q(cli_pid("-p", "1000", &pid)), 0);
	assert_int_equal(pid, 1000);
	assert_int_equal(Q(cli_pid("-p", "2147483647", &pid)), 0);
	assert_int_equal(pid, 2147483647);
	assert_int_equal(Q(cli_pid("-p", "2147483648", &pid)), 2);
	assert_int_equal(Q(cli_pid("-p", "0", &pid)), 2);
	assert_int_equal(Q(cli_pid("-p", "1000.0", &pid)), 2);
	for (size_t i = 0; i < NBAD; i++)
		assert_int_equal(Q(cli_pid("-p", not_numbers[i], &pid)), 2);
	assert_int_equal(pid, 2147483647);	/* untouched by a refusal */
}

static void test_uint(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(Q(cli_uint("-n", "1", 1, 10, &v)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(Q(cli_uint("-n", "10", 1, 10, &v)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(Q(cli_uint("-n", "11", 1, 10, &v)), 2);
	assert_int_equal(Q(cli_uint("-n", "0", 1, 10, &v)), 2);
	assert_int_equal(Q(cli_uint("-n", "007", 1, 10, &v)), 0);
	assert_int_equal(v, 7);
	for (size_t i = 0; i < NBAD; i++)
		assert_int_equal(Q(cli_uint("-n", not_numbers[i], 0, 1000000,
					  &v)), 2);
}

static void test_seconds(void **state)
{
	double v = 0;

	(void)state;
	assert_int_equal(Q(cli_seconds("-d", "10", 100, &v)), 0);
	assert_true(v == 10);
	assert_int_equal(Q(cli_seconds("-d", "0.25", 100, &v)), 0);
	assert_true(v == 0.25);
	assert_int_equal(Q(cli_seconds("-d", "100", 100, &v)), 0);
	assert_int_equal(Q(cli_seconds("-d", "100.5", 100, &v)), 2);
	assert_int_equal(Q(cli_seconds("-d", "0", 100, &v)), 2);
	assert_int_equal(Q(cli_seconds("-d", "0.0", 100, &v)), 2);
	assert_int_equal(Q(cli_seconds("-d", ".5", 100, &v)), 2);
	assert_int_equal(Q(cli_seconds("-d", "5.", 100, &v)), 2);
	assert_int_equal(Q(cli_seconds("-d", "1.2.3", 100, &v)), 2);
	for (size_t i = 0; i < NBAD; i++)
		assert_int_equal(Q(cli_seconds("-d", not_numbers[i], 1e9, &v)), 2);
}

static void test_ringbuf_and_ops(void **state)
{
	uint32_t bytes = 0, mask = 0;

	(void)state;
	assert_int_equal(Q(cli_ringbuf_mb("64", &bytes)), 0);
	assert_int_equal(bytes, 64u << 20);
	assert_int_equal(Q(cli_ringbuf_mb("2048", &bytes)), 0);
	assert_int_equal(Q(cli_ringbuf_mb("4096", &bytes)), 2);
	assert_int_equal(Q(cli_ringbuf_mb("3", &bytes)), 2);
	assert_int_equal(Q(cli_ringbuf_mb("0", &bytes)), 2);
	assert_int_equal(Q(cli_ringbuf_mb("0x40", &bytes)), 2);
	assert_int_equal(Q(cli_ops("assign,iterate", &mask)), 0);
	assert_int_equal(Q(cli_ops("assign,frob", &mask)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_seconds),
		cmocka_unit_test(test_ringbuf_and_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
