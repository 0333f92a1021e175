/* Function symbols of ELF files as file offsets, which is what a uprobe is
 * placed at. Answers are remembered per file, by its device, inode, size and
 * modification time: a binary replaced on disk (a package upgrade) or
 * rewritten is another file, so an offset is never taken from another build
 * of it. */
#ifndef ELX_ELF_FUNC_H
#define ELX_ELF_FUNC_H

#include <stdint.h>

/* The file offset of function `func` in the ELF file open on `fd` (from
 * .symtab or .dynsym). Returns 0, or -errno with *err malloc'd: -ENOENT for
 * no such function, -ENOTUNIQ when two symbols of that name differ. */
int elx_elf_func_offset(int fd, const char *func, uint64_t *offset, char **err);

/* Forgets every answer (shutdown, tests). */
void elx_elf_func_forget(void);

/* Answers given from memory since the start: for tests. */
uint64_t elx_elf_func_cache_hits(void);

#endif
