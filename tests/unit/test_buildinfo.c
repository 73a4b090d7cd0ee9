// SPDX-License-Identifier: MIT
/*
 * .go.buildinfo in both layouts: inline strings (Go >= 1.18) and pointers
 * to Go string headers (older), plus the file-wide search.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buildinfo.h"
#include "testutil.h"

/* main.c (left out of unit tests) defines fail(); weak so a real one wins. */
__attribute__((weak)) int (fail)(const char *fmt, ...)
{
	(void)fmt;
	return 1;
}

static const char modinfo[] =
	"0w\xaf\x0c\x92t\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6"
	"path\tgomaptrace.test/targets/infotest\n"
	"mod\tgomaptrace.test/targets\t(devel)\t\n"
	"build\t-compiler=gc\n"
	"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";

/* Header + varint-prefixed version and modinfo, as Go 1.18+ writes. */
static size_t build_inline(uint8_t *b, size_t cap, const char *version)
{
	size_t n = BUILDINFO_HDR_LEN, vlen = strlen(version);
	size_t mlen = sizeof(modinfo) - 1;

	memset(b, 0, cap);
	memcpy(b, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN);
	b[14] = 8;
	b[15] = 0x2;
	b[n++] = (uint8_t)vlen;
	memcpy(b + n, version, vlen);
	n += vlen;
	b[n++] = (uint8_t)(mlen & 0x7f) | 0x80;
	b[n++] = (uint8_t)(mlen >> 7);
	memcpy(b + n, modinfo, mlen);
	return n + mlen;
}

static void test_inline(void **state)
{
	uint8_t b[512];
	size_t n = build_inline(b, sizeof(b), "go1.19.8");
	struct buildinfo bi;
	struct errbuf err = { { 0 } };

	(void)state;
	assert_int_equal(buildinfo_parse(b, n, NULL, NULL, &bi, &err), 0);
	assert_string_equal(bi.version, "go1.19.8");
	assert_string_equal(bi.path, "gomaptrace.test/targets/infotest");
	/* every truncation fails cleanly or still finds the version */
	for (size_t k = 0; k < n; k++) {
		int r = buildinfo_parse(b, k, NULL, NULL, &bi, &err);

		assert_true(r == -1 || !strcmp(bi.version, "go1.19.8"));
	}
}

static void test_not_a_version(void **state)
{
	uint8_t b[512];
	size_t n = build_inline(b, sizeof(b), "hello");
	struct buildinfo bi;
	struct errbuf err = { { 0 } };

	(void)state;
	assert_int_equal(buildinfo_parse(b, n, NULL, NULL, &bi, &err), -1);
	b[0] = 0;
	assert_int_equal(buildinfo_parse(b, n, NULL, NULL, &bi, &err), -1);
}

/* A fake memory image: addresses are offsets into img. */
static uint8_t img[256];

static const uint8_t *img_read(void *ctx, uint64_t addr, size_t len)
{
	(void)ctx;
	if (addr > sizeof(img) || len > sizeof(img) - addr)
		return NULL;
	return img + addr;
}

static void test_pointers(void **state)
{
	uint8_t b[BUILDINFO_HDR_LEN] = { 0 };
	struct buildinfo bi;
	struct errbuf err = { { 0 } };

	(void)state;
	memset(img, 0, sizeof(img));
	memcpy(img + 100, "go1.16.15", 9);
	put64(img + 64, 100);		/* string header at 64 */
	put64(img + 72, 9);
	memcpy(b, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN);
	b[14] = 8;
	put64(b + 16, 64);		/* -> version header */
	put64(b + 24, 200);		/* -> modinfo header (empty) */
	assert_int_equal(buildinfo_parse(b, sizeof(b), img_read, NULL, &bi,
					 &err), 0);
	assert_string_equal(bi.version, "go1.16.15");
	assert_string_equal(bi.path, "");
	/* without a reader the old layout cannot be read */
	assert_int_equal(buildinfo_parse(b, sizeof(b), NULL, NULL, &bi, &err),
			 -1);
	/* a pointer past the image */
	put64(b + 16, 250);
	assert_int_equal(buildinfo_parse(b, sizeof(b), img_read, NULL, &bi,
					 &err), -1);
}

static void test_search(void **state)
{
	uint8_t file[2048] = { 0 };
	struct buildinfo bi;
	size_t off = 0;

	(void)state;
	/* an unaligned copy of the magic (as in code using debug/buildinfo) */
	memcpy(file + 37, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN);
	build_inline(file + 1024, 512, "go1.21.0");
	assert_int_equal(buildinfo_search(file, sizeof(file), &off, NULL, NULL,
					  &bi), 0);
	assert_int_equal(off, 1024);
	assert_string_equal(bi.version, "go1.21.0");
	off = 0;
	assert_int_equal(buildinfo_search(file, 1030, &off, NULL, NULL, &bi),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_not_a_version),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_search),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
