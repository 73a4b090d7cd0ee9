// SPDX-License-Identifier: MIT
/*
 * Names from the target on a terminal and in JSON (user/textfmt.c,
 * user/json_writer.c): every control character and invalid UTF-8 byte is
 * escaped, clean names pass through as the same pointer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_writer.h"
#include "textfmt.h"

static void test_clean_passes(void **state)
{
	const char *s = "main.(*T).put\xc3\xa9 \xe2\x82\xac";	/* é € */

	(void)state;
	assert_ptr_equal(safe_text(s), s);
	assert_true(text_is_safe(s));
	assert_null(safe_text(NULL));
}

static void test_escapes(void **state)
{
	(void)state;
	assert_string_equal(safe_text("main.\x1b[2Jf\nfatal error: x"),
			    "main.\\x1b[2Jf\\nfatal error: x");
	assert_string_equal(safe_text("a\tb\rc\x7f" "d\x01"),
			    "a\\tb\\rc\\x7fd\\x01");
	/* C1 CSI in UTF-8, a lone continuation byte, a cut sequence. */
	assert_string_equal(safe_text("x\xc2\x9by\x80z\xe2\x82"),
			    "x\\xc2\\x9by\\x80z\\xe2\\x82");
	/* Overlong '/', a surrogate, past U+10FFFF. */
	assert_string_equal(safe_text("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"),
			    "\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80");
}

static void test_ring_keeps_several(void **state)
{
	const char *a, *b;

	(void)state;
	a = safe_text("one\n");
	b = safe_text("two\n");
	assert_string_equal(a, "one\\n");
	assert_string_equal(b, "two\\n");
}

static void test_fput_safe(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	fput_safe(f, "\x1b]0;title\x07");
	fclose(f);
	assert_string_equal(buf, "\\x1b]0;title\\x07");
	free(buf);
}

static void test_json_utf8(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json_writer jw;

	(void)state;
	assert_non_null(f);
	jw_init(&jw, f, false);
	jw_start_array(&jw);
	jw_string(&jw, "a\x1b[2J\n\xff\xc3\xa9\xc2\x9b\x7f\xe2\x82");
	jw_end_array(&jw);
	fclose(f);
	assert_string_equal(buf, "[\"a\\u001b[2J\\n\\ufffd\xc3\xa9\\u009b"
			    "\\u007f\\ufffd\\ufffd\"]");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_passes),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_ring_keeps_several),
		cmocka_unit_test(test_fput_safe),
		cmocka_unit_test(test_json_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
