// SPDX-License-Identifier: MIT
/* Kept apart from main.c so the unit tests, which leave main.o out, link. */
#include <stdarg.h>
#include <stdio.h>

#include "commands.h"

int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("gomaptrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}
