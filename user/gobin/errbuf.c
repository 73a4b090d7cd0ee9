// SPDX-License-Identifier: MIT
#include <stdio.h>

#include "errbuf.h"

int errbuf_set(struct errbuf *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}
