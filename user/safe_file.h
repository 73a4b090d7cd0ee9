/* SPDX-License-Identifier: MIT */
#ifndef GMT_SAFE_FILE_H
#define GMT_SAFE_FILE_H

#include <stdbool.h>
#include <stdio.h>

#include "errbuf.h"

/*
 * Creating files as root in directories other users can write to (/tmp).
 * Nothing here follows a symbolic link someone else planted: new files are
 * made with O_CREAT|O_EXCL|O_NOFOLLOW beside their final name, and renamed
 * only over a regular file or over nothing. A FIFO or a device named as the
 * output is written in place, opened without O_CREAT.
 */

/*
 * How PATH is to be written: *in_place for a FIFO or a device (also one
 * reached through a root-owned symlink in a root-owned directory nobody else
 * can write to, such as /dev/stdout), otherwise a new file renamed over
 * nothing or over a regular file. A directory, or a symlink anyone else
 * could have made, is refused with one line.
 */
int safe_out_kind(const char *path, bool *in_place, struct errbuf *err);

/* Opens a FIFO or device for writing; never creates or truncates. */
FILE *safe_fopen_in_place(const char *path, struct errbuf *err);

/*
 * Creates NAME exclusively (mode 0666 less the umask). A regular file
 * already there (an earlier run's leftover) is unlinked first when
 * replace_regular; a symlink or anything else there is refused.
 */
FILE *safe_fopen_new(const char *name, bool replace_regular,
		     struct errbuf *err);

/*
 * Creates an unpredictable "PATH.tmp.XXXXXX" beside PATH; *tmp gets the
 * name (malloc'd).
 */
FILE *safe_fopen_temp(const char *path, char **tmp, struct errbuf *err);

/*
 * Checks that TMP could be created (a trial, removed again) and that
 * nothing but a regular file is there already.
 */
int safe_try_create(const char *tmp, struct errbuf *err);

/* Refuses PATH when it is anything but nothing or a regular file. */
int safe_check_final(const char *path, struct errbuf *err);

/* Renames TMP to PATH when PATH is nothing or a regular file. */
int safe_rename(const char *tmp, const char *path, struct errbuf *err);

/*
 * The daemon's directory: created mode 0700 owned by us, or an existing one
 * that is a real directory we own which nobody else can write to.
 */
int safe_private_dir(const char *dir, struct errbuf *err);

#endif
