/* SPDX-License-Identifier: MIT */
#ifndef GMT_ERRBUF_H
#define GMT_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Every failure the user can see is one line: what is wrong and what to do.
 * Library code fills an errbuf instead of printing, so the CLI decides where
 * the line goes and tests can assert on it.
 */
struct errbuf {
	char msg[512];
};

__attribute__((format(printf, 2, 3)))
int errbuf_set(struct errbuf *err, const char *fmt, ...);

#endif
