/* kaddrs: kernel symbol addresses from /proc/kallsyms written into a BPF
 * object's `const volatile u64 kaddr_<symbol>` globals before it loads. */
#ifndef ELX_KADDRS_H
#define ELX_KADDRS_H

#include <stddef.h>

struct bpf_object;

/* Resolves every symbol and sets its variable. On failure *err (malloc'd)
 * names the symbol's place in the config: "kaddrs[1]: ...". `kallsyms` is
 * the file to read: for /proc/kallsyms the symbols come from the index the
 * ksym and kstack decoders share (ksym_index.h), read again first when it is
 * more than 5 seconds old. Returns 0 or -errno. */
int elx_kaddrs_set(struct bpf_object *obj, char *const *symbols, size_t n, const char *kallsyms,
		   char **err);

#endif
