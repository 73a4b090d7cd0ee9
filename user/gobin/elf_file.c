// SPDX-License-Identifier: MIT
/*
 * A small ELF64 reader of our own: Go binaries need only sections, PT_LOAD
 * segments and .symtab, and the bytes may come from a fuzzer, so every
 * offset and size is checked against the image before it is used.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "elf_file.h"
#include "le.h"

/* Go's DWARF inflates to tens of MiB; anything near this is hostile. */
#define MAX_INFLATED (1ULL << 30)
#define MAX_SECTIONS 65535




/* True when [off, off+len) lies inside an object of size total. */
static bool in_range(uint64_t off, uint64_t len, uint64_t total)
{
	return off <= total && len <= total - off;
}

/* NUL-terminated string at off inside [tab, tab+tabsz), or NULL. */
static const char *str_at(const uint8_t *tab, uint64_t tabsz, uint64_t off)
{
	if (off >= tabsz)
		return NULL;
	if (!memchr(tab + off, 0, tabsz - off))
		return NULL;
	return (const char *)tab + off;
}

static int check_ident(const uint8_t *data, size_t size, struct errbuf *err)
{
	if (size < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG))
		return errbuf_set(err, "not an ELF file");
	if (data[EI_CLASS] == ELFCLASS32)
		return errbuf_set(err, "32-bit ELF file; only 64-bit "
				  "(x86_64) Go binaries are supported");
	if (data[EI_CLASS] != ELFCLASS64)
		return errbuf_set(err, "ELF file of unknown class %u",
				  data[EI_CLASS]);
	if (data[EI_DATA] != ELFDATA2LSB)
		return errbuf_set(err, "big-endian ELF file; only "
				  "little-endian (x86_64) is supported");
	if (size < sizeof(Elf64_Ehdr))
		return errbuf_set(err, "truncated ELF file (%zu bytes, "
				  "shorter than its header)", size);
	return 0;
}

static int parse_segments(struct elf_file *ef, struct errbuf *err)
{
	const uint8_t *eh = ef->data;
	uint64_t phoff = rd64(eh + 32);
	uint16_t phentsize = rd16(eh + 54);
	uint16_t phnum = rd16(eh + 56);
	size_t n = 0;

	if (!phnum)
		return 0;
	if (phentsize < sizeof(Elf64_Phdr) ||
	    !in_range(phoff, (uint64_t)phentsize * phnum, ef->size))
		return errbuf_set(err, "truncated ELF file (program headers "
				  "lie outside the file)");
	ef->segments = calloc(phnum, sizeof(*ef->segments));
	if (!ef->segments)
		return errbuf_set(err, "out of memory");
	for (uint16_t i = 0; i < phnum; i++) {
		const uint8_t *ph = ef->data + phoff + (uint64_t)i * phentsize;
		struct elf_segment *s = &ef->segments[n];

		if (rd32(ph) != PT_LOAD)
			continue;
		s->flags = rd32(ph + 4);
		s->offset = rd64(ph + 8);
		s->vaddr = rd64(ph + 16);
		s->filesz = rd64(ph + 32);
		s->memsz = rd64(ph + 40);
		n++;
	}
	ef->nsegments = n;
	return 0;
}

/* The section count and string-table index may live in section 0. */
static int section_counts(struct elf_file *ef, uint64_t shoff,
			  uint16_t shentsize, uint64_t *shnum,
			  uint64_t *shstrndx, struct errbuf *err)
{
	const uint8_t *eh = ef->data;
	const uint8_t *sh0;

	*shnum = rd16(eh + 60);
	*shstrndx = rd16(eh + 62);
	if (!shoff)
		return 0;
	if (shentsize < sizeof(Elf64_Shdr) ||
	    !in_range(shoff, shentsize, ef->size))
		return errbuf_set(err, "truncated ELF file (section headers "
				  "lie outside the file)");
	sh0 = ef->data + shoff;
	if (*shnum == 0)
		*shnum = rd64(sh0 + 32);
	if (*shstrndx == SHN_XINDEX)
		*shstrndx = rd32(sh0 + 40);
	if (*shnum > MAX_SECTIONS)
		return errbuf_set(err, "corrupt ELF file (%llu sections)",
				  (unsigned long long)*shnum);
	if (!in_range(shoff, (uint64_t)shentsize * *shnum, ef->size))
		return errbuf_set(err, "truncated ELF file (section headers "
				  "lie outside the file)");
	return 0;
}

static void read_section(struct elf_section *s, const uint8_t *sh)
{
	s->type = rd32(sh + 4);
	s->flags = rd64(sh + 8);
	s->addr = rd64(sh + 16);
	s->offset = rd64(sh + 24);
	s->size = rd64(sh + 32);
}

static int parse_sections(struct elf_file *ef, struct errbuf *err)
{
	const uint8_t *eh = ef->data;
	uint64_t shoff = rd64(eh + 40);
	uint16_t shentsize = rd16(eh + 58);
	uint64_t shnum, shstrndx;
	const uint8_t *strtab = NULL;
	uint64_t strsz = 0;

	if (section_counts(ef, shoff, shentsize, &shnum, &shstrndx, err))
		return -1;
	if (!shoff || !shnum)
		return 0;
	ef->sections = calloc(shnum, sizeof(*ef->sections));
	if (!ef->sections)
		return errbuf_set(err, "out of memory");
	ef->nsections = shnum;
	for (uint64_t i = 0; i < shnum; i++)
		read_section(&ef->sections[i],
			     ef->data + shoff + i * shentsize);
	if (shstrndx < shnum) {
		const struct elf_section *ss = &ef->sections[shstrndx];

		if (ss->type != SHT_NOBITS &&
		    in_range(ss->offset, ss->size, ef->size)) {
			strtab = ef->data + ss->offset;
			strsz = ss->size;
		}
	}
	for (uint64_t i = 0; i < shnum; i++) {
		const uint8_t *sh = ef->data + shoff + i * shentsize;
		const char *name = strtab ? str_at(strtab, strsz, rd32(sh)) :
					    NULL;

		ef->sections[i].name = name ? name : "";
	}
	return 0;
}

int elf_file_parse(struct elf_file *ef, const uint8_t *data, size_t size,
		   struct errbuf *err)
{
	memset(ef, 0, sizeof(*ef));
	if (!data || check_ident(data, size, err))
		return data ? -1 : errbuf_set(err, "not an ELF file");
	ef->data = data;
	ef->size = size;
	ef->type = rd16(data + 16);
	ef->machine = rd16(data + 18);
	if (parse_segments(ef, err) || parse_sections(ef, err)) {
		elf_file_close(ef);
		return -1;
	}
	return 0;
}

int elf_file_open(struct elf_file *ef, const char *path, struct errbuf *err)
{
	struct stat st;
	void *map;
	int fd;

	memset(ef, 0, sizeof(*ef));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errbuf_set(err, "%s: cannot open: %s", path,
				  strerror(errno));
	if (fstat(fd, &st) < 0) {
		errbuf_set(err, "%s: cannot stat: %s", path, strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		errbuf_set(err, "%s: not a regular file", path);
		goto out_close;
	}
	if (st.st_size < EI_NIDENT) {
		errbuf_set(err, "%s: not an ELF file (%lld bytes)", path,
			   (long long)st.st_size);
		goto out_close;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		errbuf_set(err, "%s: cannot map: %s", path, strerror(errno));
		goto out_close;
	}
	close(fd);
	if (elf_file_parse(ef, map, st.st_size, err)) {
		char why[sizeof(err->msg)];

		munmap(map, st.st_size);
		if (err) {
			memcpy(why, err->msg, sizeof(why));
			errbuf_set(err, "%s: %s", path, why);
		}
		return -1;
	}
	ef->mapped = true;
	return 0;

out_close:
	close(fd);
	return -1;
}

void elf_file_close(struct elf_file *ef)
{
	if (ef->mapped && ef->data)
		munmap((void *)ef->data, ef->size);
	free(ef->sections);
	free(ef->segments);
	memset(ef, 0, sizeof(*ef));
}

const struct elf_section *elf_find_section(const struct elf_file *ef,
					   const char *name)
{
	for (size_t i = 0; i < ef->nsections; i++) {
		if (!strcmp(ef->sections[i].name, name))
			return &ef->sections[i];
	}
	return NULL;
}

static int inflate_all(const uint8_t *in, size_t inlen, uint8_t *out,
		       size_t outlen, const char *name, struct errbuf *err)
{
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return errbuf_set(err, "zlib: cannot initialise");
	/* zlib counts in uInt; Go sections never come near 4 GiB. */
	zs.next_in = (Bytef *)in;
	zs.avail_in = inlen > UINT32_MAX ? UINT32_MAX : (uInt)inlen;
	zs.next_out = out;
	zs.avail_out = (uInt)outlen;
	rc = inflate(&zs, Z_FINISH);
	inflateEnd(&zs);
	if (rc != Z_STREAM_END || zs.total_out != outlen)
		return errbuf_set(err, "section %s: corrupt compressed data "
				  "(inflated %lu of %zu bytes)", name,
				  zs.total_out, outlen);
	return 0;
}

static int section_inflate(const struct elf_section *sec, const uint8_t *raw,
			   const uint8_t **out, size_t *len, bool *owned,
			   struct errbuf *err)
{
	uint64_t want;
	uint8_t *buf;

	if (sec->size < sizeof(Elf64_Chdr))
		return errbuf_set(err, "section %s: truncated compression "
				  "header", sec->name);
	if (rd32(raw) != ELFCOMPRESS_ZLIB)
		return errbuf_set(err, "section %s: unsupported compression "
				  "type %u", sec->name, rd32(raw));
	want = rd64(raw + 8);
	if (want == 0 || want > MAX_INFLATED)
		return errbuf_set(err, "section %s: implausible inflated "
				  "size %llu", sec->name,
				  (unsigned long long)want);
	buf = malloc(want);
	if (!buf)
		return errbuf_set(err, "section %s: out of memory inflating "
				  "%llu bytes", sec->name,
				  (unsigned long long)want);
	if (inflate_all(raw + sizeof(Elf64_Chdr),
			sec->size - sizeof(Elf64_Chdr), buf, want, sec->name,
			err)) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = want;
	*owned = true;
	return 0;
}

int elf_section_bytes(const struct elf_file *ef, const struct elf_section *sec,
		      const uint8_t **out, size_t *len, bool *owned,
		      struct errbuf *err)
{
	const uint8_t *raw;

	*out = NULL;
	*len = 0;
	*owned = false;
	if (sec->type == SHT_NOBITS)
		return errbuf_set(err, "section %s has no file contents",
				  sec->name);
	if (!in_range(sec->offset, sec->size, ef->size))
		return errbuf_set(err, "truncated ELF file (section %s lies "
				  "outside the file)", sec->name);
	raw = ef->data + sec->offset;
	if (sec->flags & SHF_COMPRESSED)
		return section_inflate(sec, raw, out, len, owned, err);
	*out = raw;
	*len = sec->size;
	return 0;
}

/* The PT_LOAD whose file-backed part holds [vaddr, vaddr+len), or NULL. */
static const struct elf_segment *segment_for(const struct elf_file *ef,
					     uint64_t vaddr, uint64_t len)
{
	for (size_t i = 0; i < ef->nsegments; i++) {
		const struct elf_segment *s = &ef->segments[i];

		if (vaddr < s->vaddr)
			continue;
		if (!in_range(vaddr - s->vaddr, len, s->filesz))
			continue;
		if (!in_range(s->offset, s->filesz, ef->size))
			continue;
		return s;
	}
	return NULL;
}

const uint8_t *elf_vaddr_ptr(const struct elf_file *ef, uint64_t vaddr,
			     size_t len)
{
	const struct elf_segment *s = segment_for(ef, vaddr, len);

	if (!s)
		return NULL;
	return ef->data + s->offset + (vaddr - s->vaddr);
}

int64_t elf_vaddr_to_offset(const struct elf_file *ef, uint64_t vaddr)
{
	const struct elf_segment *s = segment_for(ef, vaddr, 1);

	if (!s)
		return -1;
	return (int64_t)(s->offset + (vaddr - s->vaddr));
}

/* .symtab and its string table, validated against the image. */
struct symtab_view {
	const uint8_t *syms;
	uint64_t nsyms;
	const uint8_t *strs;
	uint64_t strsz;
};

static bool symtab_view(const struct elf_file *ef, struct symtab_view *v)
{
	const struct elf_section *sym = NULL, *str;
	size_t link;

	for (size_t i = 0; i < ef->nsections; i++) {
		if (ef->sections[i].type == SHT_SYMTAB) {
			sym = &ef->sections[i];
			link = i;
			break;
		}
	}
	if (!sym || !in_range(sym->offset, sym->size, ef->size))
		return false;
	/* sh_link is not in struct elf_section: reread the header. */
	link = rd32(ef->data + rd64(ef->data + 40) +
		    (uint64_t)link * rd16(ef->data + 58) + 40);
	if (link >= ef->nsections)
		return false;
	str = &ef->sections[link];
	if (str->type != SHT_STRTAB ||
	    !in_range(str->offset, str->size, ef->size))
		return false;
	v->syms = ef->data + sym->offset;
	v->nsyms = sym->size / sizeof(Elf64_Sym);
	v->strs = ef->data + str->offset;
	v->strsz = str->size;
	return true;
}

bool elf_symbol_addr(const struct elf_file *ef, const char *name,
		     uint64_t *addr, uint64_t *size)
{
	struct symtab_view v;

	if (!symtab_view(ef, &v))
		return false;
	for (uint64_t i = 1; i < v.nsyms; i++) {
		const uint8_t *s = v.syms + i * sizeof(Elf64_Sym);
		const char *n = str_at(v.strs, v.strsz, rd32(s));

		if (!n || strcmp(n, name) || rd16(s + 6) == SHN_UNDEF)
			continue;
		if (addr)
			*addr = rd64(s + 8);
		if (size)
			*size = rd64(s + 16);
		return true;
	}
	return false;
}

const char *elf_symbol_at(const struct elf_file *ef, uint64_t addr)
{
	const char *exact = NULL;
	struct symtab_view v;

	if (!symtab_view(ef, &v))
		return NULL;
	for (uint64_t i = 1; i < v.nsyms; i++) {
		const uint8_t *s = v.syms + i * sizeof(Elf64_Sym);
		uint64_t value = rd64(s + 8), size = rd64(s + 16);
		const char *n;

		if (rd16(s + 6) == SHN_UNDEF || addr < value)
			continue;
		if (addr - value >= size && !(addr == value && !exact))
			continue;
		n = str_at(v.strs, v.strsz, rd32(s));
		if (!n || !*n)
			continue;
		if (addr - value < size)
			return n;
		exact = n;
	}
	return exact;
}
