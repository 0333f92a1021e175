/* Reads a whole BPF map per scrape into buffers allocated once, with one
 * batch lookup where the kernel supports it and a key-by-key walk otherwise. */
#ifndef ELX_MAP_READER_H
#define ELX_MAP_READER_H

#include <stdint.h>

#include "abi.h"

struct elx_key_set; /* keys seen during one key-by-key walk */

/* A walk gives up after this many get_next_key steps: each deletion of the
 * key it stands on restarts a hash map from its first key, so a map under
 * heavy churn could otherwise keep it going forever. */
#define ELX_WALK_MAX_STEPS(max_entries) ((uint64_t)(max_entries)*4 + 16)

struct elx_map_reader {
	int fd; /* not owned */
	uint32_t max_entries;
	uint32_t value_size; /* as the map declares it */
	int no_batch;	     /* the kernel refused batch lookups for this map */
	void *keys;	     /* max_entries * key_size */
	void *values;	     /* max_entries * ncpus * value_stride */
	struct elx_key_set *seen;
	void *scratch;		/* two batch tokens and the walk cursor */
	uint64_t walk_cutoffs;	/* walks stopped by ELX_WALK_MAX_STEPS */
	struct elx_batch batch; /* what Lua reads; points into keys/values */
	/* Test hook: called in a key-by-key walk between finding a key and
	 * looking up its value, so a spec can delete keys mid-walk. */
	void (*walk_hook)(struct elx_map_reader *r, const void *key, void *arg);
	void *walk_hook_arg;
};

/* Sizes the buffers from the map's info (type, key/value size, max_entries;
 * per-CPU maps get one 8-byte-rounded slot per possible CPU). `name` must
 * outlive the reader. Returns 0 or -errno. */
int elx_map_reader_init(struct elx_map_reader *r, int fd, const char *name);

/* Reads every key and value into the buffers and fills r->batch. A key that
 * disappears during a walk is skipped and never counted twice; a walk cut
 * short by ELX_WALK_MAX_STEPS keeps the keys it read and counts a cutoff.
 * On failure batch.count is 0 and batch.error is set. Returns 0 or -errno. */
int elx_map_reader_read(struct elx_map_reader *r);

void elx_map_reader_free(struct elx_map_reader *r);

/* Whether maps of this type hold a value slot per possible CPU: the one list
 * of per-CPU map types (Lua reads it as elx_map_info.percpu). */
int elx_map_type_percpu(uint32_t map_type);

#endif
