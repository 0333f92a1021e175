/* The kernel symbol index: /proc/kallsyms read into one sorted array of
 * addresses and one arena of names, outside every Lua state. One parser of
 * kallsyms for the whole exporter: the ksym and kstack decoders (through the
 * FFI functions declared in abi.h) and kaddrs (kaddrs.c) look symbols up here.
 */
#ifndef ELX_KSYM_INDEX_H
#define ELX_KSYM_INDEX_H

#include <stdint.h>

#include "abi.h"

/* The file whose index the process shares (elx_ksym_shared). */
#define ELX_KSYM_KALLSYMS "/proc/kallsyms"

/* Seconds between two reads of the file that a miss may cause. */
#define ELX_KSYM_REREAD_INTERVAL 5.0

/* The lowest non-zero address of a symbol named `name` (module symbols
 * match by their name without "\t[module]"), read from the index as it is.
 * Returns 0, -ENOENT when no symbol has that name, or -EPERM when the file
 * showed no addresses at all (kernel.kptr_restrict, or no CAP_SYSLOG). */
int elx_ksym_index_address(const struct elx_ksym_index *index, const char *name, uint64_t *addr);

/* Reads the file when the index has never been read or was read `max_age`
 * seconds or more before `now` (a monotonic clock). Returns 0 or -errno;
 * elx_ksym_index_error then says why. */
int elx_ksym_index_refresh(struct elx_ksym_index *index, double now, double max_age);

/* The path the index reads. */
const char *elx_ksym_index_path(const struct elx_ksym_index *index);

#endif
