/* Symbol lookup with libelf, as libbpf does it for uprobes by name: a
 * function's offset in the file is its address minus its section's address
 * plus that section's file offset. */
#define _GNU_SOURCE
#include "elf_func.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

/* Answers kept: a few binaries with a few probed functions each. */
#define CACHE_SIZE 64

struct answer {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *func;
	uint64_t offset;
};

static struct answer cache[CACHE_SIZE];
static size_t next_slot;
static uint64_t hits;

static int same_file(const struct answer *a, const struct stat *st)
{
	return a->func && a->dev == st->st_dev && a->ino == st->st_ino && a->size == st->st_size &&
	       a->mtime.tv_sec == st->st_mtim.tv_sec && a->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static const struct answer *remembered(const struct stat *st, const char *func)
{
	for (size_t i = 0; i < CACHE_SIZE; i++) {
		if (same_file(&cache[i], st) && strcmp(cache[i].func, func) == 0)
			return &cache[i];
	}
	return NULL;
}

static void remember(const struct stat *st, const char *func, uint64_t offset)
{
	struct answer *a = &cache[next_slot];
	char *copy = strdup(func);

	if (!copy)
		return;
	next_slot = (next_slot + 1) % CACHE_SIZE;
	free(a->func);
	*a = (struct answer){ .dev = st->st_dev,
			      .ino = st->st_ino,
			      .size = st->st_size,
			      .mtime = st->st_mtim,
			      .func = copy,
			      .offset = offset };
}

/* Looks in one symbol table, `found` saying whether *offset already holds
 * an answer. Returns 1 found (here or before), 0 not yet, -ENOTUNIQ. */
static int search_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr, const char *func,
			uint64_t *offset, int found)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n = shdr->sh_entsize ? shdr->sh_size / shdr->sh_entsize : 0;

	for (size_t i = 0; data && i < n; i++) {
		GElf_Sym sym;
		GElf_Shdr home;
		const char *name;
		int type;
		uint64_t off;

		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE)
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		if (!name || strcmp(name, func) != 0)
			continue;
		if (!gelf_getshdr(elf_getscn(elf, sym.st_shndx), &home))
			continue;
		off = sym.st_value - home.sh_addr + home.sh_offset;
		/* .symtab and .dynsym both list exported functions: the
		 * same offset twice is one function. */
		if (found && off != *offset)
			return -ENOTUNIQ;
		*offset = off;
		found = 1;
	}
	return found;
}

static int search(int fd, const char *func, uint64_t *offset, char **err)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	int found = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return elx_errorf(err, -EINVAL, "libelf: %s", elf_errmsg(-1));
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return elx_errorf(err, -ENOEXEC, "not an ELF file");
	}
	while (found >= 0 && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;

		if (gelf_getshdr(scn, &shdr) &&
		    (shdr.sh_type == SHT_SYMTAB || shdr.sh_type == SHT_DYNSYM))
			found = search_table(elf, scn, &shdr, func, offset, found);
	}
	elf_end(elf);
	if (found == -ENOTUNIQ)
		return elx_errorf(err, found, "more than one function %s, at different offsets",
				  func);
	if (!found)
		return elx_errorf(err, -ENOENT, "no function %s in its symbols", func);
	return 0;
}

int elx_elf_func_offset(int fd, const char *func, uint64_t *offset, char **err)
{
	struct stat st;
	const struct answer *a;
	int ret;

	if (fstat(fd, &st) != 0)
		return elx_errorf(err, -errno, "fstat: %s", strerror(errno));
	a = remembered(&st, func);
	if (a) {
		hits++;
		*offset = a->offset;
		return 0;
	}
	ret = search(fd, func, offset, err);
	if (!ret)
		remember(&st, func, *offset);
	return ret;
}

void elx_elf_func_forget(void)
{
	for (size_t i = 0; i < CACHE_SIZE; i++)
		free(cache[i].func);
	memset(cache, 0, sizeof(cache));
	next_slot = 0;
}

uint64_t elx_elf_func_cache_hits(void)
{
	return hits;
}
