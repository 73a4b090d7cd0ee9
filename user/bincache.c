// SPDX-License-Identifier: MIT
/* Which binaries are Go programs, by device and inode (bincache.h). */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bincache.h"
#include "elf_file.h"

#define CACHE_SLOTS	8192	/* a power of two; emptied when full */

struct slot {
	struct bin_id id;
	uint8_t kind;		/* 0: empty */
};

struct bincache {
	struct slot *slots;
	size_t n;
	uint64_t checks;
};

struct bincache *bincache_new(void)
{
	struct bincache *bc = calloc(1, sizeof(*bc));

	if (!bc)
		return NULL;
	bc->slots = calloc(CACHE_SLOTS, sizeof(*bc->slots));
	if (!bc->slots) {
		free(bc);
		return NULL;
	}
	return bc;
}

void bincache_free(struct bincache *bc)
{
	if (!bc)
		return;
	free(bc->slots);
	free(bc);
}

static size_t slot_of(const struct bin_id *id)
{
	uint64_t h = id->dev * 0x9e3779b97f4a7c15ULL ^ id->ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return (h ^ (h >> 32)) & (CACHE_SLOTS - 1);
}

static struct slot *find(struct bincache *bc, const struct bin_id *id)
{
	size_t i = slot_of(id);

	for (size_t k = 0; k < CACHE_SLOTS; k++, i = (i + 1) & (CACHE_SLOTS - 1)) {
		struct slot *s = &bc->slots[i];

		if (!s->kind || (s->id.dev == id->dev && s->id.ino == id->ino))
			return s;
	}
	return NULL;
}

/* The ELF check: a Go binary for this architecture, by its sections. */
static enum bin_kind check(const char *path)
{
	struct elf_file ef;
	enum bin_kind k = BIN_OTHER;

	if (elf_file_open(&ef, path, NULL))
		return BIN_OTHER;
	if (ef.machine == EM_X86_64 &&
	    (elf_find_section(&ef, ".gopclntab") ||
	     elf_find_section(&ef, ".go.buildinfo")))
		k = BIN_GO;
	elf_file_close(&ef);
	return k;
}

enum bin_kind bincache_classify(struct bincache *bc, pid_t pid,
				struct bin_id *id)
{
	char path[64];
	struct stat st;
	struct slot *s;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	if (stat(path, &st))
		return BIN_UNKNOWN;
	*id = (struct bin_id){ st.st_dev, st.st_ino };
	if (!S_ISREG(st.st_mode))
		return BIN_OTHER;
	s = find(bc, id);
	if (s && s->kind)
		return s->kind;
	/* Keep it bounded: 3/4 full, start over. */
	if (!s || bc->n >= CACHE_SLOTS / 4 * 3) {
		for (size_t i = 0; i < CACHE_SLOTS; i++)
			bc->slots[i].kind = 0;
		bc->n = 0;
		s = find(bc, id);
	}
	s->id = *id;
	s->kind = check(path);
	bc->n++;
	bc->checks++;
	return s->kind;
}

uint64_t bincache_checks(const struct bincache *bc)
{
	return bc->checks;
}
