// SPDX-License-Identifier: MIT
/* Numbers and names for people to read (user/textfmt.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when the bytes
 * there are not one: overlong forms, surrogates and values past U+10FFFF
 * count as invalid, as a terminal or a JSON parser would see them.
 */
size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)	/* a NUL stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* C0, DEL, or C1 (U+0080..U+009F, two bytes in UTF-8). */
static bool is_control(const unsigned char *s, size_t n)
{
	return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) ||
	       (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

/*
 * Writes the escaped form of s to out (NULL: only counts); returns its
 * length. ESC becomes \x1b, newline \n, tab \t, CR \r, any other control
 * character and every byte of invalid UTF-8 \xNN.
 */
static size_t escape_to(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = 0;

	while (*s) {
		size_t n = utf8_seq_len(s);
		char tmp[8];
		const char *e = NULL;

		if (n && !is_control(s, n)) {
			if (out)
				fwrite(s, 1, n, out);
			len += n;
			s += n;
			continue;
		}
		if (!n)
			n = 1;
		for (size_t i = 0; i < n; i++, s++) {
			e = *s == '\n' ? "\\n" : *s == '\t' ? "\\t" :
			    *s == '\r' ? "\\r" : NULL;
			if (!e) {
				snprintf(tmp, sizeof(tmp), "\\x%02x", *s);
				e = tmp;
			}
			if (out)
				fputs(e, out);
			len += strlen(e);
		}
	}
	return len;
}

bool text_is_safe(const char *s)
{
	return escape_to(NULL, s) == strlen(s);
}

void fput_safe(FILE *out, const char *s)
{
	escape_to(out, s ? s : "(null)");
}

/*
 * The escaped copies live in a small ring, so one printf can show several
 * names. A slot is freed when the ring comes round to it again.
 */
#define SAFE_SLOTS 16

const char *safe_text(const char *s)
{
	static __thread char *ring[SAFE_SLOTS];
	static __thread unsigned next;
	char **slot;
	size_t len;
	FILE *f;

	if (!s || text_is_safe(s))
		return s;
	slot = &ring[next++ % SAFE_SLOTS];
	free(*slot);
	*slot = NULL;
	f = open_memstream(slot, &len);
	if (!f)
		return "(name not shown: out of memory)";
	escape_to(f, s);
	if (fclose(f)) {
		free(*slot);
		*slot = NULL;
		return "(name not shown: out of memory)";
	}
	return *slot;
}
