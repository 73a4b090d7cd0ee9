// SPDX-License-Identifier: MIT
/* Numbers for people to read (user/textfmt.h). */
#include <inttypes.h>
#include <stdio.h>

#include "textfmt.h"

const char *commas(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t j = 0;

	if (!len)
		return buf;
	/* j + 2 < len: room for a comma and a digit, and the NUL after. */
	for (int i = 0; i < n && j + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
	return buf;
}
