// SPDX-License-Identifier: MIT
/*
 * Creating output files as root where other users can write (see
 * include/safe_file.h). fs.protected_symlinks may be 0: the kernel does not
 * stop root from following a link planted in /tmp, so we never do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_file.h"

static int planted_link(const char *path, struct errbuf *err)
{
	return errbuf_set(err, "found a symbolic link at %s: refusing to "
			  "write through or replace it (remove it or give "
			  "another name)", path);
}

static bool ours(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * A symlink only root (or we) could have made: it and its directory are
 * ours, and nobody else can write to that directory. /dev/stdout is one.
 */
static bool trusted_link(const char *path, const struct stat *lst)
{
	struct stat dst;
	char *copy = strdup(path);
	bool ok;

	if (!copy)
		return false;
	ok = ours(lst->st_uid) && !stat(dirname(copy), &dst) &&
	     ours(dst.st_uid) && !(dst.st_mode & (S_IWGRP | S_IWOTH));
	free(copy);
	return ok;
}

static bool special(mode_t m)
{
	return S_ISFIFO(m) || S_ISCHR(m) || S_ISBLK(m);
}

int safe_out_kind(const char *path, bool *in_place, struct errbuf *err)
{
	struct stat st;

	*in_place = false;
	if (lstat(path, &st))
		return errno == ENOENT ? 0 :
		       errbuf_set(err, "cannot examine %s: %s", path,
				  strerror(errno));
	if (S_ISLNK(st.st_mode)) {
		if (!trusted_link(path, &st))
			return planted_link(path, err);
		if (stat(path, &st) || !special(st.st_mode))
			return errbuf_set(err, "%s is a symbolic link, not "
					  "to a FIFO or a device: give the "
					  "name of a file", path);
		*in_place = true;
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return errbuf_set(err, "%s is a directory: give a file name",
				  path);
	*in_place = !S_ISREG(st.st_mode);
	return 0;
}

FILE *safe_fopen_in_place(const char *path, struct errbuf *err)
{
	int flags = O_WRONLY | O_NOCTTY | O_CLOEXEC;
	struct stat st;
	FILE *fp;
	int fd;

	/* Follow a link only when safe_out_kind's test still holds. */
	if (!lstat(path, &st) && S_ISLNK(st.st_mode)) {
		if (!trusted_link(path, &st)) {
			planted_link(path, err);
			return NULL;
		}
	} else {
		flags |= O_NOFOLLOW;
	}
	fd = open(path, flags);
	if (fd < 0) {
		errbuf_set(err, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !special(st.st_mode)) {
		close(fd);
		errbuf_set(err, "%s changed while being opened: it is no "
			   "longer a FIFO or a device", path);
		return NULL;
	}
	fp = fdopen(fd, "w");
	if (!fp) {
		close(fd);
		errbuf_set(err, "cannot open %s: %s", path, strerror(errno));
	}
	return fp;
}

/* O_EXCL|O_NOFOLLOW: fails on anything at NAME, a dangling link included. */
static int create_excl(const char *name)
{
	return open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0666);
}

/* What is at NAME when create_excl found something there. */
static int explain_existing(const char *name, bool replace_regular,
			    struct errbuf *err)
{
	struct stat st;

	if (lstat(name, &st))
		return errno == ENOENT ? 0 :
		       errbuf_set(err, "cannot examine %s: %s", name,
				  strerror(errno));
	if (S_ISLNK(st.st_mode))
		return planted_link(name, err);
	if (!S_ISREG(st.st_mode) || !replace_regular)
		return errbuf_set(err, "%s already exists and is not ours to "
				  "replace: remove it", name);
	/* Unlinking a name never writes to the file (a hard link is safe). */
	if (unlink(name) && errno != ENOENT)
		return errbuf_set(err, "cannot remove the old %s: %s", name,
				  strerror(errno));
	return 0;
}

FILE *safe_fopen_new(const char *name, bool replace_regular,
		     struct errbuf *err)
{
	FILE *fp;
	int fd = -1;

	/* Twice at most: a second collision is someone racing us. */
	for (int i = 0; i < 2 && fd < 0; i++) {
		fd = create_excl(name);
		if (fd >= 0)
			break;
		if (errno != EEXIST) {
			errbuf_set(err, "cannot create %s: %s", name,
				   strerror(errno));
			return NULL;
		}
		if (explain_existing(name, replace_regular && i == 0, err))
			return NULL;
	}
	if (fd < 0) {
		errbuf_set(err, "cannot create %s: something keeps "
			   "appearing there", name);
		return NULL;
	}
	fp = fdopen(fd, "wb");
	if (!fp) {
		close(fd);
		unlink(name);
		errbuf_set(err, "cannot create %s: %s", name, strerror(errno));
	}
	return fp;
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

FILE *safe_fopen_temp(const char *path, char **tmp, struct errbuf *err)
{
	size_t len = strlen(path) + sizeof(".tmp.XXXXXX");
	FILE *fp;
	int fd;

	*tmp = malloc(len);
	if (!*tmp) {
		errbuf_set(err, "out of memory");
		return NULL;
	}
	snprintf(*tmp, len, "%s.tmp.XXXXXX", path);
	/* mkostemp: a random name, O_CREAT|O_EXCL, mode 0600. */
	fd = mkostemp(*tmp, O_CLOEXEC);
	if (fd < 0) {
		errbuf_set(err, "cannot create %s: %s", *tmp, strerror(errno));
		goto fail;
	}
	fchmod(fd, 0666 & ~current_umask());
	fp = fdopen(fd, "w");
	if (fp)
		return fp;
	errbuf_set(err, "cannot create %s: %s", *tmp, strerror(errno));
	close(fd);
	unlink(*tmp);
fail:
	free(*tmp);
	*tmp = NULL;
	return NULL;
}

int safe_try_create(const char *tmp, struct errbuf *err)
{
	struct stat st;
	int fd;

	if (!lstat(tmp, &st)) {
		if (S_ISLNK(st.st_mode))
			return planted_link(tmp, err);
		if (!S_ISREG(st.st_mode))
			return errbuf_set(err, "%s already exists and is not "
					  "a regular file: remove it", tmp);
		return 0;	/* an old leftover: the writer replaces it */
	}
	fd = create_excl(tmp);
	if (fd < 0)
		return errno == EEXIST ? explain_existing(tmp, false, err) :
		       errbuf_set(err, "cannot create %s: %s: give -o a file "
				  "in a writable directory", tmp,
				  strerror(errno));
	close(fd);
	unlink(tmp);
	return 0;
}

int safe_check_final(const char *path, struct errbuf *err)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 :
		       errbuf_set(err, "cannot examine %s: %s", path,
				  strerror(errno));
	if (S_ISLNK(st.st_mode))
		return planted_link(path, err);
	if (S_ISDIR(st.st_mode))
		return errbuf_set(err, "%s is a directory: give a file name",
				  path);
	if (!S_ISREG(st.st_mode))
		return errbuf_set(err, "%s is not a regular file: give the "
				  "name of a file to create", path);
	return 0;
}

int safe_rename(const char *tmp, const char *path, struct errbuf *err)
{
	/*
	 * rename() itself never follows a link at PATH; the check keeps a
	 * planted one from being silently replaced.
	 */
	if (safe_check_final(path, err))
		return -1;
	if (rename(tmp, path))
		return errbuf_set(err, "cannot rename %s to %s: %s", tmp, path,
				  strerror(errno));
	return 0;
}

int safe_private_dir(const char *dir, struct errbuf *err)
{
	bool created = !mkdir(dir, 0700);
	struct stat st;
	int fd, ret = 0;

	if (!created && errno != EEXIST)
		return errbuf_set(err, "cannot create %s: %s", dir,
				  strerror(errno));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		/* O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR or ELOOP. */
		bool link = !lstat(dir, &st) && S_ISLNK(st.st_mode);

		return errbuf_set(err, "%s is not a directory we can use "
				  "(%s): refusing it", dir,
				  link ? "a symbolic link" : strerror(errno));
	}
	if (fstat(fd, &st))
		ret = errbuf_set(err, "cannot examine %s: %s", dir,
				 strerror(errno));
	else if (st.st_uid != geteuid())
		ret = errbuf_set(err, "%s is owned by uid %u, not by us: "
				 "refusing it", dir, (unsigned)st.st_uid);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		ret = errbuf_set(err, "%s can be written by other users "
				 "(mode %04o): refusing it", dir,
				 (unsigned)(st.st_mode & 07777));
	else if (created && fchmod(fd, 0700))
		ret = errbuf_set(err, "cannot chmod %s: %s", dir,
				 strerror(errno));
	close(fd);
	return ret;
}
