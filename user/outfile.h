/* SPDX-License-Identifier: MIT */
#ifndef GMT_OUTFILE_H
#define GMT_OUTFILE_H

#include <stdio.h>

#include "errbuf.h"

/*
 * An output that never shows a half-written file under its final name: a
 * regular file is written beside it and renamed into place on commit. A
 * FIFO, a terminal or a device (/dev/null, /dev/stdout) is written in place:
 * renaming over it would replace the node with a regular file.
 */
struct outfile {
	FILE *fp;
	char *path;		/* final name */
	char *tmp;		/* NULL when writing in place */
};

int outfile_open(struct outfile *o, const char *path, struct errbuf *err);
/*
 * Before the work that fills it: refuses what outfile_open would (a
 * planted symlink, a directory) and makes sure a file can be created
 * beside PATH (a trial, removed again).
 */
int outfile_check(const char *path, struct errbuf *err);
/* Flushes, closes and renames into place; on failure removes the temp. */
int outfile_commit(struct outfile *o, struct errbuf *err);
/* Closes and removes what was written (no-op after commit). */
void outfile_abort(struct outfile *o);

#endif
