/* Counting the entries of BPF maps (see map_entries.h for the methods). */
#define _GNU_SOURCE
#include "map_entries.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libbpf_log.h"
#include "log.h"
#include "map_entries.skel.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's "not supported", not in userspace errno.h */
#endif

/* Map types newer than this system's UAPI headers. */
enum {
	MAP_TYPE_CGRP_STORAGE = 32,
	MAP_TYPE_ARENA = 33,
};

/* Entries a batch lookup asks for at first; a hash bucket holding more
 * makes the kernel answer ENOSPC, and the chunk doubles. */
#define BATCH_CHUNK 256

/* One record of the iterator's stream (core/bpf/map_entries.bpf.c). */
struct map_count {
	uint32_t id;
	uint32_t type;
	int64_t count;
};

struct elx_map_entries {
	struct elx_map_count_iter *iter; /* NULL: the kernel's counts are not read */
	int use_iter;
	struct map_count *counts; /* from the last refresh, by id */
	size_t ncounts, cap;
	void *keys, *values; /* scratch for batches and walks */
	size_t keys_size, values_size;
	int ncpus;
};

enum method { BY_KERNEL_COUNT, FULL_ARRAY, KEY_BY_KEY, NO_KEYS };

static enum method method_of(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_HASH_OF_MAPS:
		return BY_KERNEL_COUNT;
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return FULL_ARRAY;
	/* A perf event array's slots are per CPU, not entries: ebpf_exporter
	 * (digitalocean-labs) leaves it out too. */
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
	case BPF_MAP_TYPE_QUEUE:
	case BPF_MAP_TYPE_STACK:
	case BPF_MAP_TYPE_SK_STORAGE:
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_INODE_STORAGE:
	case BPF_MAP_TYPE_TASK_STORAGE:
	case BPF_MAP_TYPE_BLOOM_FILTER:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case MAP_TYPE_CGRP_STORAGE:
	case MAP_TYPE_ARENA:
		return NO_KEYS;
	default:
		return KEY_BY_KEY;
	}
}

int elx_map_entries_new(struct elx_map_entries **out)
{
	struct elx_map_entries *me = calloc(1, sizeof(*me));
	int ncpus = libbpf_num_possible_cpus();

	*out = NULL;
	if (!me)
		return -ENOMEM;
	me->ncpus = ncpus > 0 ? ncpus : 1;
	elx_libbpf_reason_clear();
	me->iter = elx_map_count_iter__open_and_load();
	if (me->iter && elx_map_count_iter__attach(me->iter) != 0) {
		elx_map_count_iter__destroy(me->iter);
		me->iter = NULL;
	}
	if (!me->iter)
		log_info("--collector.bpf.map-entries: hash maps are counted by batch lookups, "
			 "the kernel's own counts being out of reach (%s)",
			 elx_libbpf_why(-errno));
	me->use_iter = me->iter != NULL;
	*out = me;
	return 0;
}

static int grow(void **buf, size_t *size, size_t want)
{
	void *grown;

	if (*size >= want)
		return 0;
	grown = realloc(*buf, want);
	if (!grown)
		return -ENOMEM;
	*buf = grown;
	*size = want;
	return 0;
}

static int compare_counts(const void *a, const void *b)
{
	uint32_t x = ((const struct map_count *)a)->id, y = ((const struct map_count *)b)->id;

	return x < y ? -1 : x > y;
}

/* One pass of the iterator: a record per map in the kernel. */
static int read_counts(struct elx_map_entries *me)
{
	int fd = bpf_iter_create(bpf_link__fd(me->iter->links.elx_map_count));
	size_t bytes = 0;
	ssize_t n = 0;

	if (fd < 0)
		return fd;
	do {
		if (grow((void **)&me->counts, &me->cap, bytes + 64 * 1024) != 0) {
			n = -ENOMEM;
			break;
		}
		n = read(fd, (char *)me->counts + bytes, me->cap - bytes);
		if (n > 0)
			bytes += (size_t)n;
	} while (n > 0);
	if (n < 0 && n != -ENOMEM)
		n = -errno;
	close(fd);
	me->ncounts = bytes / sizeof(struct map_count);
	return n < 0 ? (int)n : 0;
}

void elx_map_entries_refresh(struct elx_map_entries *me)
{
	int ret;

	me->ncounts = 0;
	if (!me->use_iter)
		return;
	ret = read_counts(me);
	if (ret) {
		/* Without them each hash map is counted by batch lookups. */
		log_debug("--collector.bpf.map-entries: reading the iterator: %s", strerror(-ret));
		me->ncounts = 0;
		return;
	}
	/* The kernel walks maps by id; the sort only guards that order. */
	qsort(me->counts, me->ncounts, sizeof(struct map_count), compare_counts);
}

/* One get_next_key per entry. A key deleted under the walk restarts it on
 * some types: the walk stops after max_entries keys whatever happens. */
static int count_key_by_key(struct elx_map_entries *me, int fd, const struct elx_bpf_map *m,
			    int64_t *entries)
{
	size_t ksize = m->key_size ? m->key_size : 1;
	int64_t n = 0;
	int err;

	if (grow(&me->keys, &me->keys_size, 2 * ksize))
		return -ENOMEM;
	err = bpf_map_get_next_key(fd, NULL, me->keys);
	while (!err && n < (int64_t)m->max_entries) {
		n++;
		memcpy((char *)me->keys + ksize, me->keys, ksize);
		err = bpf_map_get_next_key(fd, (char *)me->keys + ksize, me->keys);
	}
	if (err == -ENOTSUPP || err == -EOPNOTSUPP)
		return -EOPNOTSUPP;
	if (err && err != -ENOENT)
		return err;
	*entries = n;
	return 0;
}

/* Batch lookups in chunks (the values are read too: the kernel has no
 * lookup of keys alone); a chunk that a hash bucket overflows doubles. */
static int count_by_batches(struct elx_map_entries *me, int fd, const struct elx_bpf_map *m,
			    int64_t *entries)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int percpu = m->type == BPF_MAP_TYPE_PERCPU_HASH || m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	size_t vbytes = percpu ? (size_t)me->ncpus * ((m->value_size + 7) & ~7u) : m->value_size;
	uint32_t chunk = BATCH_CHUNK, in = 0, out = 0;
	int64_t total = 0;
	int first = 1;

	for (;;) {
		__u32 count = chunk;
		int err;

		if (grow(&me->keys, &me->keys_size, (size_t)chunk * m->key_size) ||
		    grow(&me->values, &me->values_size, (size_t)chunk * vbytes))
			return -ENOMEM;
		err = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, me->keys, me->values,
					   &count, &opts);
		/* Kernels before 5.6, and hash-of-maps on some: no batch ops. */
		if (first && (err == -ENOTSUPP || err == -EOPNOTSUPP || err == -EINVAL))
			return count_key_by_key(me, fd, m, entries);
		if (err == -ENOSPC && count == 0 && chunk < (1u << 20)) {
			chunk *= 2;
			continue;
		}
		if (err && err != -ENOENT)
			return err;
		total += count;
		if (err == -ENOENT)
			break;
		in = out;
		first = 0;
	}
	*entries = total;
	return 0;
}

static const struct map_count *kernel_count(const struct elx_map_entries *me, uint32_t id)
{
	struct map_count key = { .id = id };

	if (!me->ncounts)
		return NULL;
	return bsearch(&key, me->counts, me->ncounts, sizeof(key), compare_counts);
}

int elx_map_entries_count(struct elx_map_entries *me, int fd, const struct elx_bpf_map *m,
			  int64_t *entries)
{
	const struct map_count *c;

	switch (method_of(m->type)) {
	case BY_KERNEL_COUNT:
		/* A map made since the iterator ran has no count there. */
		c = kernel_count(me, m->id);
		if (c && c->type == m->type) {
			*entries = c->count;
			return 0;
		}
		return count_by_batches(me, fd, m, entries);
	case FULL_ARRAY:
		*entries = m->max_entries;
		return 0;
	case KEY_BY_KEY:
		return count_key_by_key(me, fd, m, entries);
	case NO_KEYS:
	default:
		return -EOPNOTSUPP;
	}
}

int elx_map_entries_kernel_counts(const struct elx_map_entries *me)
{
	return me->use_iter;
}

void elx_map_entries_set_kernel_counts(struct elx_map_entries *me, int use)
{
	me->use_iter = use && me->iter;
	me->ncounts = 0;
}

void elx_map_entries_free(struct elx_map_entries *me)
{
	if (!me)
		return;
	if (me->iter)
		elx_map_count_iter__destroy(me->iter);
	free(me->counts);
	free(me->keys);
	free(me->values);
	free(me);
}
