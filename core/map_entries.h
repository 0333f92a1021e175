/* --collector.bpf.map-entries: how many entries a BPF map holds, never
 * with two syscalls per entry. Hash maps: the count the kernel keeps
 * (Linux 6.6+), read for every map at once through the exporter's own
 * iterator program, else batch lookups in chunks. Arrays: max_entries,
 * always. Other types with keys: one get_next_key per entry. Types without
 * keys (ring buffers, perf event arrays, queues, storages...) are not
 * counted. */
#ifndef ELX_MAP_ENTRIES_H
#define ELX_MAP_ENTRIES_H

#include <stdint.h>

#include "abi.h"

struct elx_map_entries;

/* Loads the iterator program when the kernel takes it (otherwise says so
 * in a debug line and counts without it). Returns 0 or -ENOMEM. */
int elx_map_entries_new(struct elx_map_entries **out);

/* Reads the kernel's count of every map through the iterator: once per
 * scrape, before the counts of that scrape. */
void elx_map_entries_refresh(struct elx_map_entries *me);

/* The entries of map m, open as fd. Returns 0 with *entries set,
 * -EOPNOTSUPP for a type without keys, or -errno. */
int elx_map_entries_count(struct elx_map_entries *me, int fd, const struct elx_bpf_map *m,
			  int64_t *entries);

/* Whether the iterator program is loaded and in use. Tests turn it off to
 * count hash maps by batch lookups. */
int elx_map_entries_kernel_counts(const struct elx_map_entries *me);
void elx_map_entries_set_kernel_counts(struct elx_map_entries *me, int use);

void elx_map_entries_free(struct elx_map_entries *me);

#endif
