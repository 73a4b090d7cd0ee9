// SPDX-License-Identifier: MIT
/*
 * user/safe_file.c in a scratch directory made like /tmp (mode 1777): links
 * planted at every name are refused and their targets left alone; the
 * daemon's directory is 0700 and ours, or refused. Runs as root (the suite
 * does): the other-owner cases chown to nobody.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "outfile.h"
#include "safe_file.h"
#include "trace_file.h"

#define NOBODY 65534

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/gmt-safe-XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 01777))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void path(char *buf, const char *name)
{
	snprintf(buf, 256, "%s/%s", dir, name);
}

static void write_text(const char *p, const char *s)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(s, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_text(const char *p, const char *want)
{
	char buf[64] = "";
	FILE *f = fopen(p, "r");

	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f) ?: buf);
	fclose(f);
	assert_string_equal(buf, want);
}

/* A link to "precious" at NAME; nobody owns it, as a planted one would be. */
static void plant(char *link, const char *name, char *target)
{
	path(target, "precious");
	write_text(target, "precious");
	path(link, name);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(lchown(link, NOBODY, NOBODY), 0);
}

static void test_new_refuses_link(void **state)
{
	char link[256], target[256];
	struct errbuf err = { "" };

	(void)state;
	plant(link, "out.partial", target);
	assert_null(safe_fopen_new(link, true, &err));
	assert_non_null(strstr(err.msg, "found a symbolic link at"));
	assert_non_null(strstr(err.msg, link));
	assert_text(target, "precious");
	assert_int_equal(safe_try_create(link, &err), -1);
	assert_text(target, "precious");
}

static void test_new_refuses_dangling_link(void **state)
{
	char link[256], target[256];
	struct errbuf err = { "" };

	(void)state;
	path(link, "dangling");
	path(target, "would-be-made");
	assert_int_equal(symlink(target, link), 0);
	assert_null(safe_fopen_new(link, true, &err));
	assert_int_equal(access(target, F_OK), -1);
}

static void test_new_replaces_old_regular(void **state)
{
	char p[256];
	struct errbuf err = { "" };
	FILE *f;

	(void)state;
	path(p, "old.partial");
	write_text(p, "old");
	assert_null(safe_fopen_new(p, false, &err));
	assert_non_null(strstr(err.msg, "already exists"));
	f = safe_fopen_new(p, true, &err);
	assert_non_null(f);
	fputs("new", f);
	fclose(f);
	assert_text(p, "new");
}

static void test_final_name(void **state)
{
	char link[256], target[256], tmp[256], reg[256];
	struct errbuf err = { "" };
	bool in_place = true;

	(void)state;
	plant(link, "out", target);
	assert_int_equal(safe_out_kind(link, &in_place, &err), -1);
	assert_non_null(strstr(err.msg, "found a symbolic link at"));
	path(tmp, "out.new");
	write_text(tmp, "data");
	assert_int_equal(safe_rename(tmp, link, &err), -1);
	assert_text(target, "precious");
	/* Over a regular file or nothing, the rename goes ahead. */
	path(reg, "reg");
	write_text(reg, "old");
	assert_int_equal(safe_out_kind(reg, &in_place, &err), 0);
	assert_false(in_place);
	assert_int_equal(safe_rename(tmp, reg, &err), 0);
	assert_text(reg, "data");
	/* A device is written in place; /dev/stdout reaches one by a link. */
	assert_int_equal(safe_out_kind("/dev/null", &in_place, &err), 0);
	assert_true(in_place);
	assert_int_equal(safe_out_kind(dir, &in_place, &err), -1);
	assert_non_null(strstr(err.msg, "is a directory"));
}

static void test_temp_is_random_and_private(void **state)
{
	char p[256], *t1 = NULL, *t2 = NULL;
	struct errbuf err = { "" };
	FILE *a, *b;

	(void)state;
	path(p, "report.txt");
	a = safe_fopen_temp(p, &t1, &err);
	b = safe_fopen_temp(p, &t2, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_string_not_equal(t1, t2);
	assert_int_equal(strncmp(t1, p, strlen(p)), 0);
	fclose(a);
	fclose(b);
	unlink(t1);
	unlink(t2);
	free(t1);
	free(t2);
}

/* How many names the scratch directory holds. */
static int entries(void)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/*
 * The checks run before the work: a link at the report's name, at the
 * trace's name or at its PATH.partial is refused; a device passes
 * unopened; a good name passes and its trial file is gone again.
 */
static void test_checks_before_work(void **state)
{
	char link[256], target[256], p[256];
	struct errbuf err = { "" };

	(void)state;
	plant(link, "out", target);
	assert_int_equal(outfile_check(link, &err), -1);
	assert_non_null(strstr(err.msg, "found a symbolic link at"));
	err.msg[0] = '\0';
	assert_int_equal(trace_writer_check(link, &err), -1);
	assert_non_null(strstr(err.msg, "found a symbolic link at"));
	unlink(link);
	plant(link, "out.partial", target);
	path(p, "out");
	assert_int_equal(outfile_check(p, &err), 0);
	assert_int_equal(trace_writer_check(p, &err), -1);
	assert_non_null(strstr(err.msg, link));
	assert_text(target, "precious");
	assert_int_equal(entries(), 2);	/* the link and "precious" */
	unlink(link);
	assert_int_equal(trace_writer_check(p, &err), 0);
	assert_int_equal(outfile_check("/dev/null", &err), 0);
	assert_int_equal(trace_writer_check("/dev/null", &err), 0);
	path(p, "no/out");
	assert_int_equal(outfile_check(p, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(trace_writer_check(p, &err), -1);
	assert_non_null(strstr(err.msg, "No such file or directory"));
	assert_int_equal(entries(), 1);	/* no trial file left */
}

static void test_private_dir(void **state)
{
	char d[256], link[256];
	struct errbuf err = { "" };
	struct stat st;

	(void)state;
	path(d, "daemon");
	umask(022);
	assert_int_equal(safe_private_dir(d, &err), 0);
	assert_int_equal(lstat(d, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
	/* Again: an existing private directory of ours is fine. */
	assert_int_equal(safe_private_dir(d, &err), 0);

	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(safe_private_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "can be written by other users"));
	assert_non_null(strstr(err.msg, "0777"));

	assert_int_equal(chmod(d, 0700), 0);
	assert_int_equal(chown(d, NOBODY, NOBODY), 0);
	assert_int_equal(safe_private_dir(d, &err), -1);
	assert_non_null(strstr(err.msg, "is owned by uid 65534"));

	/* A link to a good directory is still a link someone made. */
	assert_int_equal(chown(d, 0, 0), 0);
	path(link, "daemon-link");
	assert_int_equal(symlink(d, link), 0);
	assert_int_equal(safe_private_dir(link, &err), -1);
	assert_non_null(strstr(err.msg, "a symbolic link"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_new_refuses_link, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_new_refuses_dangling_link,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_replaces_old_regular,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_temp_is_random_and_private,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_checks_before_work, setup,
						teardown),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_safe_file: run as root (lchown to nobody)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
