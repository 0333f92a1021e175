/* Tests for the BPF subsystem collector against the real kernel: maps of
 * several types and a program that this test makes appear with their exact
 * attributes and entry counts (the kernel's counts, batches, and key by
 * key), an object going away mid-walk, and everything gone once closed.
 * Only the objects made here are looked at: other programs come and go on
 * the machine while it runs. Needs root and BPF. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_collector.h"
#include "check.h"
#include "map_entries.h"

/* One map this test makes: how, and what the collector must say of it. */
struct made {
	const char *name;
	enum bpf_map_type type;
	uint32_t key_size, value_size, max_entries, flags;
	uint32_t fill;	 /* entries put in */
	int64_t entries; /* the count expected: -1 for a type without keys */
	int fd;
	uint32_t id;
};

static struct made maps[] = {
	{ "elx_t_hash", BPF_MAP_TYPE_HASH, 4, 8, 64, 0, 7, 7, -1, 0 },
	{ "elx_t_hash_np", BPF_MAP_TYPE_HASH, 4, 8, 64, BPF_F_NO_PREALLOC, 4, 4, -1, 0 },
	/* More keys than a batch lookup's first chunk (256). */
	{ "elx_t_big_hash", BPF_MAP_TYPE_HASH, 4, 8, 4096, 0, 1000, 1000, -1, 0 },
	{ "elx_t_pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 64, 0, 5, 5, -1, 0 },
	{ "elx_t_lru_hash", BPF_MAP_TYPE_LRU_HASH, 8, 8, 1024, 0, 3, 3, -1, 0 },
	{ "elx_t_array", BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0, 2, 16, -1, 0 },
	{ "elx_t_pcpu_arr", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 8, 0, 0, 8, -1, 0 },
	{ "elx_t_lpm", BPF_MAP_TYPE_LPM_TRIE, 8, 8, 32, BPF_F_NO_PREALLOC, 5, 5, -1, 0 },
	{ "elx_t_ringbuf", BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, -1, -1, 0 },
	{ "elx_t_queue", BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0, 0, -1, -1, 0 },
	{ "elx_t_perf", BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 2, 0, 0, -1, -1, 0 },
};
#define NMAPS (sizeof(maps) / sizeof(maps[0]))

static uint32_t id_of(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	CHECK_INT(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* Keys 0..fill-1; an LPM key is a prefix length, then the address. */
static void fill(struct made *m)
{
	char key[16] = { 0 }, value[16] = { 0 };

	for (uint32_t i = 0; i < m->fill; i++) {
		if (m->type == BPF_MAP_TYPE_LPM_TRIE) {
			uint32_t prefix = 32, addr = 0x0a000000 + (i << 8);

			memcpy(key, &prefix, 4);
			memcpy(key + 4, &addr, 4);
		} else {
			memcpy(key, &i, 4);
		}
		if (m->type == BPF_MAP_TYPE_PERCPU_HASH) {
			size_t n = (size_t)libbpf_num_possible_cpus() * 16;
			char *values = calloc(1, n);

			CHECK(values);
			CHECK_INT(bpf_map_update_elem(m->fd, key, values, 0), 0);
			free(values);
			continue;
		}
		CHECK_INT(bpf_map_update_elem(m->fd, key, value, 0), 0);
	}
}

static void make_maps(void)
{
	for (size_t i = 0; i < NMAPS; i++) {
		struct made *m = &maps[i];
		LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m->flags);

		m->fd = bpf_map_create(m->type, m->name, m->key_size, m->value_size, m->max_entries,
				       &opts);
		if (m->fd < 0)
			fprintf(stderr, "creating %s: %s\n", m->name, strerror(errno));
		CHECK(m->fd >= 0);
		m->id = id_of(m->fd);
		fill(m);
	}
}

static const struct elx_bpf_map *find_map(const struct elx_bpf_scrape *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->nmaps; i++) {
		if (s->maps[i].id == id)
			return &s->maps[i];
	}
	return NULL;
}

static const struct elx_bpf_program *find_program(const struct elx_bpf_scrape *s, uint32_t id)
{
	for (uint32_t i = 0; i < s->nprograms; i++) {
		if (s->programs[i].id == id)
			return &s->programs[i];
	}
	return NULL;
}

/* The memlock line of one of our fds, read the plain way. */
static long long fdinfo_memlock(int fd)
{
	char path[64], text[1024], *line;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	CHECK(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	line = strstr(text, "memlock:");
	CHECK(line);
	return atoll(line + 8);
}

static void check_maps(const struct elx_bpf_scrape *s)
{
	for (size_t i = 0; i < NMAPS; i++) {
		const struct made *m = &maps[i];
		const struct elx_bpf_map *got = find_map(s, m->id);

		if (!got)
			fprintf(stderr, "map %s (id %u) not collected\n", m->name, m->id);
		CHECK(got);
		CHECK_STR(got->name, m->name);
		CHECK_INT(got->type, m->type);
		CHECK_INT(got->key_size, m->key_size);
		CHECK_INT(got->value_size, m->value_size);
		CHECK_INT(got->max_entries, m->max_entries);
		CHECK_INT(got->flags, m->flags);
		CHECK_INT(got->own, 1); /* this process holds it */
		/* Each map's own, though the walk read them all through one file. */
		CHECK_INT(got->memlock, fdinfo_memlock(m->fd));
		if (got->entries != m->entries)
			fprintf(stderr, "map %s\n", m->name);
		CHECK_INT(got->entries, m->entries);
	}
}

/* r0 = 0; exit */
static int load_program(void)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "elx_t_prog", "GPL", insns, 2, NULL);

	CHECK(fd >= 0);
	return fd;
}

static void check_program(const struct elx_bpf_scrape *s, int fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info);
	const struct elx_bpf_program *p;

	CHECK_INT(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	p = find_program(s, info.id);
	CHECK(p);
	CHECK_STR(p->name, "elx_t_prog");
	CHECK_INT(p->type, BPF_PROG_TYPE_SOCKET_FILTER);
	CHECK_MEM(p->tag, 8, info.tag, 8);
	CHECK_INT(p->xlated_bytes, 2 * sizeof(struct bpf_insn));
	CHECK_INT(p->verified_insns, 2);
	CHECK_INT(p->load_time_ns, info.load_time);
	CHECK_INT(p->memlock, 4096); /* one page holds two instructions */
	CHECK_INT(p->own, 1);
}

/* The own totals are the sums over what this process holds. */
static void check_own(const struct elx_bpf_scrape *s)
{
	uint64_t memlock = 0;
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->nmaps; i++) {
		if (s->maps[i].own) {
			memlock += s->maps[i].memlock;
			n++;
		}
	}
	CHECK_INT(s->own.nmaps, n);
	CHECK_INT(s->own.nmaps, NMAPS);
	CHECK_INT(s->own.map_memlock, memlock);
}

struct vanish {
	uint32_t id; /* closed when the walk reaches it */
	int fd;
	int done;
};

static void close_mid_walk(enum elx_bpf_part part, uint32_t id, void *arg)
{
	struct vanish *v = arg;

	if (part == ELX_BPF_MAPS && id == v->id && !v->done) {
		close(v->fd);
		v->done = 1;
	}
}

static struct elx_flags collector_flags(void)
{
	struct elx_flags f = { 0 };

	f.collector_bpf = 1;
	f.collector_bpf_programs = 1;
	f.collector_bpf_maps = 1;
	f.collector_bpf_links = 1;
	f.collector_bpf_btf = 1;
	f.collector_bpf_map_entries = 1;
	return f;
}

int main(void)
{
	struct elx_flags flags = collector_flags();
	struct elx_bpf_collector *c;
	const struct elx_bpf_scrape *s;
	struct vanish v = { 0 };
	int prog_fd;

	make_maps();
	prog_fd = load_program();
	CHECK_INT(elx_bpf_collector_new(&flags, &c), 0);
	CHECK(c);
	CHECK_INT(elx_map_entries_kernel_counts(elx_bpf_collector_entries(c)), 1);

	s = elx_bpf_collector_collect(c);
	CHECK_INT(s->visible_only, 0);
	CHECK_INT(s->parts, 0xf);
	check_maps(s);
	check_program(s, prog_fd);
	check_own(s);
	CHECK_INT(s->errors[ELX_BPF_MAPS], 0);
	/* vmlinux's BTF is always there, as id 1. */
	CHECK_STR(s->btfs[0].name, "vmlinux");
	CHECK_INT(s->btfs[0].kernel, 1);

	/* Without the kernel's counts: batches for hash maps, same counts. */
	elx_map_entries_set_kernel_counts(elx_bpf_collector_entries(c), 0);
	s = elx_bpf_collector_collect(c);
	check_maps(s);

	/* A map closed between its id and its fd is left out, without error. */
	v.id = maps[1].id;
	v.fd = maps[1].fd;
	elx_bpf_collector_set_walk_hook(c, close_mid_walk, &v);
	s = elx_bpf_collector_collect(c);
	CHECK_INT(v.done, 1);
	CHECK(!find_map(s, maps[1].id));
	CHECK(find_map(s, maps[2].id));
	CHECK_INT(s->errors[ELX_BPF_MAPS], 0);
	elx_bpf_collector_set_walk_hook(c, NULL, NULL);

	/* Closed, they are gone from the kernel and from the next walk. */
	for (size_t i = 0; i < NMAPS; i++) {
		if (i != 1)
			close(maps[i].fd);
	}
	close(prog_fd);
	s = elx_bpf_collector_collect(c);
	for (size_t i = 0; i < NMAPS; i++)
		CHECK(!find_map(s, maps[i].id));
	CHECK_INT(s->own.nmaps, 0);
	CHECK_INT(s->errors[ELX_BPF_MAPS], 0);
	elx_bpf_collector_free(c);
	printf("ok\n");
	return 0;
}
