/* Reads a whole BPF map per scrape into buffers sized once from the map's
 * info: batch lookups where the kernel has them, a key-by-key walk otherwise. */
#include "map_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"

/* The kernel's "operation not supported" for a map without batch ops; it is
 * not in the userspace errno.h. */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

/* Keys counted during one walk, as indexes into r->keys: the key bytes are
 * already there, so a slot costs 8 bytes whatever the key size. Open
 * addressing with linear probing at a load factor of at most 1/2. */
struct elx_key_set {
	uint32_t mask; /* capacity - 1 */
	uint32_t gen;  /* a slot whose gen differs is empty */
	struct key_slot {
		uint32_t gen;
		uint32_t index;
	} * slots;
};

static struct elx_key_set *key_set_new(uint32_t max_entries)
{
	struct elx_key_set *set;
	uint64_t cap = 2;

	while (cap < 2 * (uint64_t)max_entries)
		cap <<= 1;
	/* mask is a u32, and indexes past this could not be stored anyway. */
	if (cap > (1ULL << 32))
		return NULL;
	set = calloc(1, sizeof(*set));
	if (!set)
		return NULL;
	set->slots = calloc(cap, sizeof(*set->slots));
	if (!set->slots) {
		free(set);
		return NULL;
	}
	set->mask = (uint32_t)(cap - 1);
	set->gen = 1;
	return set;
}

static void key_set_free(struct elx_key_set *set)
{
	if (!set)
		return;
	free(set->slots);
	free(set);
}

/* Empties the set in O(1) per walk; only a wrapped generation costs a memset. */
static void key_set_clear(struct elx_key_set *set)
{
	if (++set->gen == 0) {
		memset(set->slots, 0, ((size_t)set->mask + 1) * sizeof(*set->slots));
		set->gen = 1;
	}
}

/* FNV-1a, then murmur3's finalizer: keys are often small integers, which plain
 * FNV would leave clustered under linear probing. */
static uint32_t key_hash(const uint8_t *key, size_t size)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < size; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Returns 1 when key is in the set; otherwise 0 and *pos is the empty slot
 * key_set_insert fills. */
static int key_set_find(const struct elx_key_set *set, const uint8_t *keys, size_t key_size,
			const uint8_t *key, uint32_t *pos)
{
	uint32_t i = key_hash(key, key_size) & set->mask;

	/* Terminates: the set never holds more than half its capacity. */
	while (set->slots[i].gen == set->gen) {
		if (!memcmp(keys + (size_t)set->slots[i].index * key_size, key, key_size))
			return 1;
		i = (i + 1) & set->mask;
	}
	*pos = i;
	return 0;
}

static void key_set_insert(struct elx_key_set *set, uint32_t pos, uint32_t index)
{
	set->slots[pos].gen = set->gen;
	set->slots[pos].index = index;
}

int elx_map_type_percpu(uint32_t map_type)
{
	switch (map_type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		return 1;
	default:
		return 0;
	}
}

/* A batch token is a u32 bucket index for hash maps but a whole key for maps
 * on the kernel's generic batch code (arrays). */
static size_t token_size(const struct elx_map_reader *r)
{
	size_t size = r->batch.key_size < 8 ? 8 : r->batch.key_size;

	return (size + 7) & ~(size_t)7;
}

static size_t value_bytes(const struct elx_map_reader *r)
{
	return (size_t)r->batch.ncpus * r->batch.value_stride;
}

int elx_map_reader_init(struct elx_map_reader *r, int fd, const char *name)
{
	struct bpf_map_info info = {};
	uint32_t info_len = sizeof(info);
	size_t keys_size, values_size;
	uint32_t ncpus = 1, stride;
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = fd;
	err = bpf_obj_get_info_by_fd(fd, &info, &info_len);
	if (err)
		goto fail;
	/* Queues, stacks, ring buffers and bloom filters have no keys to walk. */
	if (!info.key_size || !info.value_size || !info.max_entries) {
		err = -EINVAL;
		goto fail;
	}
	stride = info.value_size;
	if (elx_map_type_percpu(info.type)) {
		int n = libbpf_num_possible_cpus();

		if (n < 0) {
			err = n;
			goto fail;
		}
		ncpus = n;
		/* The kernel copies per-CPU values out in 8-byte-aligned slots. */
		stride = (info.value_size + 7) & ~7u;
	}

	r->max_entries = info.max_entries;
	r->value_size = info.value_size;
	r->batch.name = name;
	r->batch.map_type = info.type;
	r->batch.key_size = info.key_size;
	r->batch.value_stride = stride;
	r->batch.ncpus = ncpus;

	if (__builtin_mul_overflow((size_t)info.max_entries, (size_t)info.key_size, &keys_size) ||
	    __builtin_mul_overflow((size_t)info.max_entries, value_bytes(r), &values_size)) {
		err = -E2BIG;
		goto fail;
	}
	r->keys = malloc(keys_size);
	r->values = malloc(values_size);
	r->scratch = calloc(3, token_size(r));
	r->seen = key_set_new(info.max_entries);
	if (!r->keys || !r->values || !r->scratch || !r->seen) {
		err = -ENOMEM;
		goto fail;
	}
	r->batch.keys = r->keys;
	r->batch.values = r->values;
	return 0;

fail:
	elx_map_reader_free(r);
	return err;
}

/* The errors with which a kernel says it has no batch lookup for this map
 * (ENOTSUPP) or at all (EINVAL before 5.6, ENOSYS, EOPNOTSUPP). */
static int batch_unsupported(int err)
{
	return err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP || err == -ENOSYS;
}

/* Sets *unsupported when the very first call fails with a "no batch ops"
 * error; the same error later in a read is a real failure. */
static int read_batch(struct elx_map_reader *r, int *unsupported)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint8_t *keys = r->keys, *values = r->values;
	uint8_t *tokens[2] = { r->scratch, (uint8_t *)r->scratch + token_size(r) };
	void *in = NULL;
	uint32_t total = 0, n;
	int err, t = 0;

	*unsupported = 0;
	do {
		n = r->max_entries - total;
		err = bpf_map_lookup_batch(r->fd, in, tokens[t],
					   keys + (size_t)total * r->batch.key_size,
					   values + (size_t)total * value_bytes(r), &n, &opts);
		/* ENOENT ends the map, with n still counting what this call read. */
		if (err && err != -ENOENT) {
			*unsupported = !in && batch_unsupported(err);
			return err;
		}
		total += n;
		in = tokens[t];
		t ^= 1;
		/* n == 0 without an error would make no progress; stop rather than spin. */
	} while (!err && n > 0 && total < r->max_entries);
	r->batch.count = total;
	return 0;
}

static int read_walk(struct elx_map_reader *r)
{
	size_t key_size = r->batch.key_size, vbytes = value_bytes(r);
	uint64_t steps, max_steps = ELX_WALK_MAX_STEPS(r->max_entries);
	uint8_t *keys = r->keys, *values = r->values;
	void *cursor = (uint8_t *)r->scratch + 2 * token_size(r);
	void *prev = NULL;
	uint32_t count = 0, pos;
	int err;

	key_set_clear(r->seen);
	for (steps = 0; count < r->max_entries; steps++) {
		uint8_t *key = keys + count * key_size;

		if (steps == max_steps) {
			if (!r->walk_cutoffs++)
				log_warn("map %s: walk stopped after %llu steps with %u keys: "
					 "the map changes faster than it can be walked",
					 r->batch.name, (unsigned long long)steps, count);
			break;
		}
		err = bpf_map_get_next_key(r->fd, prev, key);
		if (err == -ENOENT)
			break;
		if (err)
			return err;
		/* The next step starts from this key even when it is skipped and
		 * its slot in keys is reused. */
		memcpy(cursor, key, key_size);
		prev = cursor;
		/* A hash map whose current key was deleted restarts from its first
		 * key, so keys already counted come round again. */
		if (key_set_find(r->seen, keys, key_size, key, &pos))
			continue;
		if (r->walk_hook)
			r->walk_hook(r, key, r->walk_hook_arg);
		err = bpf_map_lookup_elem(r->fd, key, values + count * vbytes);
		/* Deleted since get_next_key returned it: not a failure. */
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		key_set_insert(r->seen, pos, count);
		count++;
	}
	r->batch.count = count;
	return 0;
}

int elx_map_reader_read(struct elx_map_reader *r)
{
	int err, unsupported;

	r->batch.count = 0;
	r->batch.error = 0;
	if (!r->no_batch) {
		err = read_batch(r, &unsupported);
		if (unsupported) {
			r->no_batch = 1;
			log_debug("map %s: no batch lookup (errno %d), reading it key by key",
				  r->batch.name, -err);
		}
		/* ENOSPC: a bucket held more keys than the room left, which only
		 * concurrent changes cause; a walk copes with that for this read. */
		if (!unsupported && err != -ENOSPC)
			goto out;
	}
	err = read_walk(r);
out:
	if (err) {
		r->batch.count = 0;
		r->batch.error = err;
	}
	return err;
}

void elx_map_reader_free(struct elx_map_reader *r)
{
	free(r->keys);
	free(r->values);
	free(r->scratch);
	key_set_free(r->seen);
	r->keys = NULL;
	r->values = NULL;
	r->scratch = NULL;
	r->seen = NULL;
	r->batch.keys = NULL;
	r->batch.values = NULL;
	r->batch.count = 0;
}
