// SPDX-License-Identifier: MIT
/* Kept apart from main.c so the unit tests, which leave main.o out, link. */
#include <stdarg.h>
#include <stdio.h>

#include "commands.h"
#include "textfmt.h"

int fail(const char *fmt, ...)
{
	va_list ap;
	char msg[1024];

	/*
	 * Messages name paths and symbols taken from the target: escaped,
	 * so the one line stays one line and cannot drive the terminal.
	 */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("gomaptrace: ", stderr);
	fput_safe(stderr, msg);
	fputc('\n', stderr);
	return 1;
}
