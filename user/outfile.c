// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "safe_file.h"

static int open_in_place(struct outfile *o, const char *path,
			 struct errbuf *err)
{
	o->fp = safe_fopen_in_place(path, err);
	return o->fp ? 0 : -1;
}

int outfile_open(struct outfile *o, const char *path, struct errbuf *err)
{
	bool in_place;

	memset(o, 0, sizeof(*o));
	if (safe_out_kind(path, &in_place, err))
		return -1;
	if (in_place)
		return open_in_place(o, path, err);
	o->path = strdup(path);
	if (!o->path)
		return errbuf_set(err, "out of memory");
	o->fp = safe_fopen_temp(path, &o->tmp, err);
	if (!o->fp) {
		outfile_abort(o);
		return -1;
	}
	return 0;
}

int outfile_check(const char *path, struct errbuf *err)
{
	bool in_place;
	char *tmp;
	FILE *fp;

	if (safe_out_kind(path, &in_place, err))
		return -1;
	if (in_place)
		return 0;	/* a FIFO or a device: opened only to write */
	fp = safe_fopen_temp(path, &tmp, err);
	if (!fp)
		return -1;
	fclose(fp);
	unlink(tmp);
	free(tmp);
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
	if (o->tmp && safe_rename(o->tmp, o->path, err)) {
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
