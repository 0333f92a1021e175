/* Tests for the map reader against real kernel maps: batch and key-by-key
 * reads, keys deleted mid-walk, per-CPU slots, odd sizes. Needs root and BPF. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "map_reader.h"

static const char *current_test;

#define FAIL(fmt, ...)                                                                             \
	do {                                                                                       \
		fprintf(stderr, "%s:%d: in %s: " fmt "\n", __FILE__, __LINE__, current_test,       \
			__VA_ARGS__);                                                              \
		exit(1);                                                                           \
	} while (0)

#define ASSERT_TRUE(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FAIL("%s is false", #cond);                                                \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_);                            \
	} while (0)

/* The u64 -> u64 hash maps hold key_of(i) -> value_of(key_of(i)) for i < n;
 * keys are spread out so that a misread index cannot pass for another. */
static uint64_t key_of(uint32_t i)
{
	return (uint64_t)i * 7919 + 3;
}

static uint64_t value_of(uint64_t key)
{
	return key * 3 + 5;
}

static int64_t index_of(uint64_t key, uint32_t n)
{
	if (key < 3 || (key - 3) % 7919 || (key - 3) / 7919 >= n)
		return -1;
	return (int64_t)((key - 3) / 7919);
}

static int create_map(enum bpf_map_type type, uint32_t key_size, uint32_t value_size,
		      uint32_t max_entries, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, "test_map", key_size, value_size, max_entries, &opts);

	if (fd < 0)
		FAIL("bpf_map_create(type %d): %s", type, strerror(-fd));
	return fd;
}

static int create_u64_hash(uint32_t max_entries, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int fd = create_map(BPF_MAP_TYPE_HASH, 8, 8, max_entries, 0);
	uint64_t *keys = calloc(n + 1, 8), *values = calloc(n + 1, 8);
	uint32_t count = n;

	ASSERT_TRUE(keys && values);
	for (uint32_t i = 0; i < n; i++) {
		keys[i] = key_of(i);
		values[i] = value_of(keys[i]);
	}
	if (n) {
		ASSERT_EQ(bpf_map_update_batch(fd, keys, values, &count, &opts), 0);
		ASSERT_EQ(count, n);
	}
	free(keys);
	free(values);
	return fd;
}

/* Every key with expect[i] set appears exactly once with its value, and no
 * other key appears. */
static void check_u64_hash(const struct elx_batch *b, const uint8_t *expect, uint32_t n)
{
	uint8_t *got = calloc(n, 1);
	uint32_t want = 0;

	ASSERT_TRUE(got);
	ASSERT_EQ(b->error, 0);
	ASSERT_EQ(b->key_size, 8);
	ASSERT_EQ(b->value_stride, 8);
	ASSERT_EQ(b->ncpus, 1);
	for (uint32_t i = 0; i < b->count; i++) {
		uint64_t key, value;
		int64_t idx;

		memcpy(&key, b->keys + i * 8, 8);
		memcpy(&value, b->values + i * 8, 8);
		idx = index_of(key, n);
		if (idx < 0)
			FAIL("unexpected key %llu", (unsigned long long)key);
		if (got[idx])
			FAIL("key %llu read twice", (unsigned long long)key);
		got[idx] = 1;
		ASSERT_EQ(value, value_of(key));
	}
	for (uint32_t i = 0; i < n; i++) {
		if (got[i] != expect[i])
			FAIL("key %llu: read %d, expected %d", (unsigned long long)key_of(i),
			     got[i], expect[i]);
		want += expect[i];
	}
	ASSERT_EQ(b->count, want);
	free(got);
}

static uint8_t *all_present(uint32_t n)
{
	uint8_t *expect = malloc(n);

	ASSERT_TRUE(expect);
	memset(expect, 1, n);
	return expect;
}

static void test_hash_batch_and_walk(void)
{
	const uint32_t n = 10000;
	struct elx_map_reader r;
	uint8_t *expect = all_present(n);
	int fd = create_u64_hash(n, n);

	current_test = "hash batch and walk";
	ASSERT_EQ(elx_map_reader_init(&r, fd, "hash"), 0);
	ASSERT_EQ(r.max_entries, n);
	ASSERT_EQ(r.value_size, 8);
	ASSERT_TRUE(r.batch.name && !strcmp(r.batch.name, "hash"));
	ASSERT_EQ(r.batch.map_type, BPF_MAP_TYPE_HASH);

	ASSERT_EQ(elx_map_reader_read(&r), 0);
	ASSERT_EQ(r.no_batch, 0);
	check_u64_hash(&r.batch, expect, n);
	/* A second scrape reuses the buffers and reads the same. */
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_u64_hash(&r.batch, expect, n);

	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_u64_hash(&r.batch, expect, n);
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_u64_hash(&r.batch, expect, n);
	ASSERT_EQ(r.walk_cutoffs, 0);

	elx_map_reader_free(&r);
	free(expect);
	close(fd);
}

enum hook_mode { DELETE_FOUND, DELETE_OTHERS, DELETE_REINSERT, CHURN };

struct hook_ctl {
	enum hook_mode mode;
	uint32_t n;
	uint32_t calls;
	uint8_t *expect;  /* cleared for keys the hook deletes for good */
	uint8_t *visited; /* keys the hook has seen */
	uint64_t fresh;	  /* next new key for CHURN */
};

static void walk_hook(struct elx_map_reader *r, const void *key_ptr, void *arg)
{
	struct hook_ctl *ctl = arg;
	uint64_t key, value;
	int64_t idx;

	memcpy(&key, key_ptr, 8);
	ctl->calls++;
	if (ctl->mode == CHURN) {
		/* The walk stands on a key that vanishes at every step and the
		 * map never empties: without a bound it would never end. */
		ASSERT_EQ(bpf_map_delete_elem(r->fd, &key), 0);
		value = value_of(ctl->fresh);
		ASSERT_EQ(bpf_map_update_elem(r->fd, &ctl->fresh, &value, BPF_NOEXIST), 0);
		ctl->fresh++;
		return;
	}
	idx = index_of(key, ctl->n);
	ASSERT_TRUE(idx >= 0);
	if (ctl->visited[idx])
		FAIL("hook called twice for key %llu", (unsigned long long)key);
	ctl->visited[idx] = 1;

	switch (ctl->mode) {
	case DELETE_FOUND:
		/* Each of these makes the hash map restart from its first key,
		 * so every key counted before comes round again. */
		if (ctl->calls == 100 || ctl->calls == 5000 || ctl->calls == 9000) {
			ASSERT_EQ(bpf_map_delete_elem(r->fd, &key), 0);
			ctl->expect[idx] = 0;
		}
		break;
	case DELETE_OTHERS:
		if (ctl->calls == 100) {
			uint32_t deleted = 0;

			for (uint32_t i = 0; i < ctl->n && deleted < 50; i++) {
				uint64_t other = key_of(i);

				if (ctl->visited[i])
					continue;
				ASSERT_EQ(bpf_map_delete_elem(r->fd, &other), 0);
				ctl->expect[i] = 0;
				deleted++;
			}
			ASSERT_EQ(deleted, 50);
		}
		break;
	case DELETE_REINSERT:
		/* The key comes back at the head of its bucket, ahead of keys
		 * the walk already passed, which it will then meet again. */
		if (ctl->calls == 1 || ctl->calls % 97 == 0) {
			value = value_of(key);
			ASSERT_EQ(bpf_map_delete_elem(r->fd, &key), 0);
			ASSERT_EQ(bpf_map_update_elem(r->fd, &key, &value, BPF_NOEXIST), 0);
		}
		break;
	case CHURN:
		break;
	}
}

static void run_deletion_case(enum hook_mode mode, const char *name, uint32_t want_calls_minus)
{
	const uint32_t n = 10000;
	struct hook_ctl ctl = { .mode = mode, .n = n };
	struct elx_map_reader r;
	int fd = create_u64_hash(n, n);

	current_test = name;
	ctl.expect = all_present(n);
	ctl.visited = calloc(n, 1);
	ASSERT_TRUE(ctl.visited);
	ASSERT_EQ(elx_map_reader_init(&r, fd, name), 0);
	r.no_batch = 1;
	r.walk_hook = walk_hook;
	r.walk_hook_arg = &ctl;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_u64_hash(&r.batch, ctl.expect, n);
	/* The hook sees each distinct key once: repeats are skipped before it. */
	ASSERT_EQ(ctl.calls, n - want_calls_minus);
	ASSERT_EQ(r.walk_cutoffs, 0);

	/* The next walk starts from a clean set and sees what is left. */
	r.walk_hook = NULL;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_u64_hash(&r.batch, ctl.expect, n);

	elx_map_reader_free(&r);
	free(ctl.expect);
	free(ctl.visited);
	close(fd);
}

static void test_deletions_mid_walk(void)
{
	run_deletion_case(DELETE_FOUND, "walk deleting the key just found", 0);
	run_deletion_case(DELETE_OTHERS, "walk deleting keys not yet visited", 50);
	run_deletion_case(DELETE_REINSERT, "walk deleting and re-inserting keys", 0);
}

static void test_walk_bound(void)
{
	const uint32_t max_entries = 64;
	struct hook_ctl ctl = { .mode = CHURN, .fresh = 1ULL << 40 };
	struct elx_map_reader r;
	int fd = create_u64_hash(max_entries, 32);

	current_test = "walk bounded under churn";
	ASSERT_EQ(elx_map_reader_init(&r, fd, "churn"), 0);
	r.no_batch = 1;
	r.walk_hook = walk_hook;
	r.walk_hook_arg = &ctl;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	/* Every key found is deleted before its lookup, so none is counted
	 * and every step reaches the hook. */
	ASSERT_EQ(ctl.calls, ELX_WALK_MAX_STEPS(max_entries));
	ASSERT_EQ(r.batch.count, 0);
	ASSERT_EQ(r.batch.error, 0);
	ASSERT_EQ(r.walk_cutoffs, 1);

	elx_map_reader_free(&r);
	close(fd);
}

/* Per-CPU values: key i on CPU c holds i * 1000 + c. */
static void fill_percpu_u64(int fd, uint32_t n, int ncpus, int is_array)
{
	uint64_t *values = calloc(ncpus, 8);

	ASSERT_TRUE(values);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t key64 = key_of(i);
		uint32_t key32 = i;

		for (int c = 0; c < ncpus; c++)
			values[c] = (uint64_t)i * 1000 + c;
		ASSERT_EQ(bpf_map_update_elem(fd, is_array ? (void *)&key32 : (void *)&key64,
					      values, BPF_ANY),
			  0);
	}
	free(values);
}

static void check_percpu_u64(const struct elx_batch *b, uint32_t n, int ncpus, int is_array)
{
	uint8_t *got = calloc(n, 1);

	ASSERT_TRUE(got);
	ASSERT_EQ(b->error, 0);
	ASSERT_EQ(b->count, n);
	ASSERT_EQ(b->ncpus, ncpus);
	ASSERT_EQ(b->value_stride, 8);
	ASSERT_EQ(b->key_size, is_array ? 4 : 8);
	for (uint32_t i = 0; i < b->count; i++) {
		int64_t idx;

		if (is_array) {
			uint32_t key;

			memcpy(&key, b->keys + i * 4, 4);
			idx = key < n ? (int64_t)key : -1;
		} else {
			uint64_t key;

			memcpy(&key, b->keys + i * 8, 8);
			idx = index_of(key, n);
		}
		ASSERT_TRUE(idx >= 0);
		if (got[idx])
			FAIL("key index %lld read twice", (long long)idx);
		got[idx] = 1;
		for (int c = 0; c < ncpus; c++) {
			uint64_t value;

			memcpy(&value, b->values + ((size_t)i * ncpus + c) * 8, 8);
			ASSERT_EQ(value, (uint64_t)idx * 1000 + c);
		}
	}
	free(got);
}

static void run_percpu_case(enum bpf_map_type type, const char *name, uint32_t max_entries,
			    uint32_t n)
{
	int is_array = type == BPF_MAP_TYPE_PERCPU_ARRAY;
	int ncpus = libbpf_num_possible_cpus();
	int fd = create_map(type, is_array ? 4 : 8, 8, max_entries, 0);
	struct elx_map_reader r;

	current_test = name;
	ASSERT_TRUE(ncpus > 0);
	fill_percpu_u64(fd, n, ncpus, is_array);
	ASSERT_EQ(elx_map_reader_init(&r, fd, name), 0);
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	ASSERT_EQ(r.no_batch, 0);
	check_percpu_u64(&r.batch, n, ncpus, is_array);
	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_percpu_u64(&r.batch, n, ncpus, is_array);
	elx_map_reader_free(&r);
	close(fd);
}

static void test_percpu(void)
{
	run_percpu_case(BPF_MAP_TYPE_PERCPU_HASH, "percpu hash", 1000, 1000);
	run_percpu_case(BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru percpu hash", 1000, 500);
	/* An array always holds max_entries keys. */
	run_percpu_case(BPF_MAP_TYPE_PERCPU_ARRAY, "percpu array", 64, 64);
}

static void check_array16(const struct elx_batch *b)
{
	uint8_t got[16] = { 0 };

	ASSERT_EQ(b->error, 0);
	ASSERT_EQ(b->count, 16);
	ASSERT_EQ(b->key_size, 4);
	ASSERT_EQ(b->value_stride, 8);
	ASSERT_EQ(b->ncpus, 1);
	for (uint32_t i = 0; i < b->count; i++) {
		uint32_t key;
		uint64_t value;

		memcpy(&key, b->keys + i * 4, 4);
		memcpy(&value, b->values + i * 8, 8);
		ASSERT_TRUE(key < 16);
		ASSERT_EQ(got[key], 0);
		got[key] = 1;
		/* Index 5 was never written: arrays still return it, zeroed. */
		ASSERT_EQ(value, key == 5 ? 0 : (uint64_t)key * 11 + 1);
	}
}

static void test_array(void)
{
	int fd = create_map(BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0);
	struct elx_map_reader r;

	current_test = "array";
	for (uint32_t i = 0; i < 16; i++) {
		uint64_t value = (uint64_t)i * 11 + 1;

		if (i != 5)
			ASSERT_EQ(bpf_map_update_elem(fd, &i, &value, BPF_ANY), 0);
	}
	ASSERT_EQ(elx_map_reader_init(&r, fd, "array"), 0);
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	ASSERT_EQ(r.no_batch, 0);
	check_array16(&r.batch);
	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_array16(&r.batch);
	elx_map_reader_free(&r);
	close(fd);
}

/* A 12-byte key with no padding, so every byte is the program's. */
struct odd_key {
	uint32_t pid;
	uint32_t tid;
	uint32_t cpu;
};

static void check_odd(const struct elx_batch *b, uint32_t n, int ncpus, uint32_t stride)
{
	uint8_t *got = calloc(n, 1);

	ASSERT_TRUE(got);
	ASSERT_EQ(b->error, 0);
	ASSERT_EQ(b->count, n);
	ASSERT_EQ(b->key_size, 12);
	ASSERT_EQ(b->ncpus, ncpus);
	ASSERT_EQ(b->value_stride, stride);
	for (uint32_t i = 0; i < b->count; i++) {
		struct odd_key key;

		memcpy(&key, b->keys + (size_t)i * 12, 12);
		ASSERT_TRUE(key.pid < n);
		ASSERT_EQ(key.tid, key.pid + 7);
		ASSERT_EQ(key.cpu, key.pid ^ 0xabcdef);
		ASSERT_EQ(got[key.pid], 0);
		got[key.pid] = 1;
		for (int c = 0; c < ncpus; c++) {
			uint32_t value;

			memcpy(&value, b->values + ((size_t)i * ncpus + c) * stride, 4);
			ASSERT_EQ(value, key.pid * 100 + c);
		}
	}
	free(got);
}

static void run_odd_case(enum bpf_map_type type, const char *name)
{
	const uint32_t n = 300;
	int percpu = type == BPF_MAP_TYPE_PERCPU_HASH;
	int ncpus = percpu ? libbpf_num_possible_cpus() : 1;
	uint32_t stride = percpu ? 8 : 4;
	int fd = create_map(type, sizeof(struct odd_key), 4, 512, 0);
	/* Per-CPU updates take one 8-byte slot per CPU, even for 4-byte values. */
	uint8_t *values = calloc(ncpus, 8);
	struct elx_map_reader r;

	current_test = name;
	ASSERT_EQ(sizeof(struct odd_key), 12);
	ASSERT_TRUE(values);
	for (uint32_t i = 0; i < n; i++) {
		struct odd_key key = { .pid = i, .tid = i + 7, .cpu = i ^ 0xabcdef };

		for (int c = 0; c < ncpus; c++) {
			uint32_t value = i * 100 + c;

			memcpy(values + (size_t)c * stride, &value, 4);
		}
		ASSERT_EQ(bpf_map_update_elem(fd, &key, values, BPF_NOEXIST), 0);
	}
	ASSERT_EQ(elx_map_reader_init(&r, fd, name), 0);
	ASSERT_EQ(r.value_size, 4);
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_odd(&r.batch, n, ncpus, stride);
	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	check_odd(&r.batch, n, ncpus, stride);
	elx_map_reader_free(&r);
	free(values);
	close(fd);
}

static void test_odd_sizes(void)
{
	run_odd_case(BPF_MAP_TYPE_PERCPU_HASH, "12-byte keys, 4-byte per-CPU values");
	/* Not per-CPU: values are packed at their own size. */
	run_odd_case(BPF_MAP_TYPE_HASH, "12-byte keys, 4-byte values");
}

static void test_empty(void)
{
	int fd = create_u64_hash(128, 0);
	struct elx_map_reader r;

	current_test = "empty hash";
	ASSERT_EQ(elx_map_reader_init(&r, fd, "empty"), 0);
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	ASSERT_EQ(r.batch.count, 0);
	ASSERT_EQ(r.batch.error, 0);
	ASSERT_EQ(r.no_batch, 0);
	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	ASSERT_EQ(r.batch.count, 0);
	ASSERT_EQ(r.batch.error, 0);
	elx_map_reader_free(&r);
	close(fd);
}

/* Device maps have get_next_key and lookup but no batch ops (ENOTSUPP): the
 * reader finds that out on its first read and walks from then on. A devmap is
 * an array whose empty slots look up as ENOENT, which the walk skips. */
static void run_no_batch_case(enum bpf_map_type type, const char *name)
{
	const uint32_t ifindex_lo = 1;
	int fd = create_map(type, 4, 4, 16, 0);
	uint32_t want = 0;
	struct elx_map_reader r;

	current_test = name;
	/* Even keys only: for the array, odd slots stay empty. */
	for (uint32_t key = 0; key < 16; key += 2, want++)
		ASSERT_EQ(bpf_map_update_elem(fd, &key, &ifindex_lo, BPF_ANY), 0);
	ASSERT_EQ(elx_map_reader_init(&r, fd, name), 0);
	ASSERT_EQ(r.no_batch, 0);
	for (int round = 0; round < 2; round++) {
		uint8_t got[16] = { 0 };

		ASSERT_EQ(elx_map_reader_read(&r), 0);
		ASSERT_EQ(r.no_batch, 1);
		ASSERT_EQ(r.batch.error, 0);
		ASSERT_EQ(r.batch.count, want);
		for (uint32_t i = 0; i < r.batch.count; i++) {
			uint32_t key, value;

			memcpy(&key, r.batch.keys + i * 4, 4);
			memcpy(&value, r.batch.values + i * 4, 4);
			ASSERT_TRUE(key < 16 && key % 2 == 0);
			ASSERT_EQ(got[key], 0);
			got[key] = 1;
			ASSERT_EQ(value, ifindex_lo);
		}
	}
	elx_map_reader_free(&r);
	close(fd);
}

static void test_no_batch_detected(void)
{
	run_no_batch_case(BPF_MAP_TYPE_DEVMAP, "devmap: no batch, empty slots skipped");
	run_no_batch_case(BPF_MAP_TYPE_DEVMAP_HASH, "devmap hash: no batch");
}

static void test_errors(void)
{
	struct elx_map_reader r;
	int pipefd[2], fd, dupfd;

	current_test = "errors";
	ASSERT_EQ(pipe(pipefd), 0);
	ASSERT_EQ(elx_map_reader_init(&r, pipefd[0], "pipe"), -EINVAL);
	ASSERT_TRUE(!r.keys && !r.values && !r.seen && !r.scratch);
	elx_map_reader_free(&r);
	close(pipefd[0]);
	close(pipefd[1]);

	/* A queue has no keys to read. */
	fd = bpf_map_create(BPF_MAP_TYPE_QUEUE, "queue", 0, 8, 16, NULL);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ(elx_map_reader_init(&r, fd, "queue"), -EINVAL);
	close(fd);

	/* A read failing for another reason than missing batch support fails
	 * the map, in both modes. */
	fd = create_u64_hash(16, 4);
	dupfd = dup(fd);
	ASSERT_TRUE(dupfd >= 0);
	ASSERT_EQ(elx_map_reader_init(&r, dupfd, "closed"), 0);
	close(dupfd);
	ASSERT_EQ(elx_map_reader_read(&r), -EBADF);
	ASSERT_EQ(r.batch.count, 0);
	ASSERT_EQ(r.batch.error, -EBADF);
	ASSERT_EQ(r.no_batch, 0);
	r.no_batch = 1;
	ASSERT_EQ(elx_map_reader_read(&r), -EBADF);
	ASSERT_EQ(r.batch.count, 0);
	ASSERT_EQ(r.batch.error, -EBADF);
	elx_map_reader_free(&r);
	close(fd);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* For information only: timings depend on the machine. */
static void test_timing(void)
{
	const uint32_t n = 100000;
	int fd = create_u64_hash(n, n);
	struct elx_map_reader r;
	double t0, batch_ms, walk_ms;

	current_test = "timing";
	ASSERT_EQ(elx_map_reader_init(&r, fd, "big"), 0);
	t0 = now_ms();
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	batch_ms = now_ms() - t0;
	ASSERT_EQ(r.batch.count, n);
	r.no_batch = 1;
	t0 = now_ms();
	ASSERT_EQ(elx_map_reader_read(&r), 0);
	walk_ms = now_ms() - t0;
	ASSERT_EQ(r.batch.count, n);
	printf("timing: %u entries: batch read %.2f ms, key-by-key walk %.2f ms\n", n, batch_ms,
	       walk_ms);
	elx_map_reader_free(&r);
	close(fd);
}

int main(void)
{
	elx_log_setup(1, 0);
	test_hash_batch_and_walk();
	test_deletions_mid_walk();
	test_walk_bound();
	test_percpu();
	test_array();
	test_odd_sizes();
	test_empty();
	test_no_batch_detected();
	test_errors();
	test_timing();
	printf("test_map_reader: all passed\n");
	return 0;
}
