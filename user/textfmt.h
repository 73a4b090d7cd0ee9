/* SPDX-License-Identifier: MIT */
#ifndef GMT_TEXTFMT_H
#define GMT_TEXTFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Numbers for people to read, shared by the text report and `top`.
 * 1234567 -> "1,234,567"; cut short rather than overflow buf. Returns buf.
 */
const char *commas(uint64_t v, char *buf, size_t len);

#endif
