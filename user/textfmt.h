/* SPDX-License-Identifier: MIT */
#ifndef GMT_TEXTFMT_H
#define GMT_TEXTFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Numbers for people to read, shared by the text report and `top`.
 * 1234567 -> "1,234,567"; cut short rather than overflow buf. Returns buf.
 */
const char *commas(uint64_t v, char *buf, size_t len);

/*
 * Strings from the target (function, file and type names, the fatal
 * message, the exe path, the Go version) are hostile: a name holding
 * ESC[2J would clear the operator's terminal, one holding a newline could
 * forge report lines. safe_text() returns s itself when it is clean UTF-8
 * without control characters, else a copy with ESC shown as \x1b, newline
 * as \n, tab \t, CR \r, other C0, DEL and C1 characters and each byte of
 * invalid UTF-8 as \xNN. The copy stays valid for 15 more calls.
 */
const char *safe_text(const char *s);
void fput_safe(FILE *out, const char *s);
bool text_is_safe(const char *s);
/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
size_t utf8_seq_len(const unsigned char *s);

#endif
