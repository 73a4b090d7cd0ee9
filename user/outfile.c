// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

static int open_in_place(struct outfile *o, const char *path,
			 struct errbuf *err)
{
	o->fp = fopen(path, "w");
	if (!o->fp)
		return errbuf_set(err, "cannot open %s: %s", path,
				  strerror(errno));
	return 0;
}

int outfile_open(struct outfile *o, const char *path, struct errbuf *err)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return errbuf_set(err, "%s is a directory: give a file name",
					  path);
		if (!S_ISREG(st.st_mode))
			return open_in_place(o, path, err);
	}
	o->path = strdup(path);
	o->tmp = malloc(strlen(path) + 32);
	if (!o->path || !o->tmp) {
		outfile_abort(o);
		return errbuf_set(err, "out of memory");
	}
	snprintf(o->tmp, strlen(path) + 32, "%s.tmp.%d", path, (int)getpid());
	o->fp = fopen(o->tmp, "w");
	if (!o->fp) {
		errbuf_set(err, "cannot create %s: %s", o->tmp, strerror(errno));
		outfile_abort(o);
		return -1;
	}
	return 0;
}

int outfile_commit(struct outfile *o, struct errbuf *err)
{
	FILE *fp = o->fp;
	int bad;

	o->fp = NULL;
	bad = ferror(fp);
	bad |= fclose(fp);
	if (bad) {
		errbuf_set(err, "cannot write %s: %s",
			   o->tmp ? o->tmp : "output", strerror(errno));
		outfile_abort(o);
		return -1;
	}
	if (o->tmp && rename(o->tmp, o->path)) {
		errbuf_set(err, "cannot rename %s to %s: %s", o->tmp, o->path,
			   strerror(errno));
		outfile_abort(o);
		return -1;
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return 0;
}

void outfile_abort(struct outfile *o)
{
	if (o->fp)
		fclose(o->fp);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof(*o));
}
