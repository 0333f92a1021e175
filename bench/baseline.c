/* Baselines for `make bench`, measured on the same map the exporter serves:
 *   elx-bench-baseline fill <map id> <n>      fill the map with n u64 -> u64 entries
 *   elx-bench-baseline fill-decoded <map id> <n>
 *                                             fill bench_decoded.bpf.c's map: keys of a real
 *                                             cgroup id, a distinct IPv6 address and a port
 *   elx-bench-baseline floor <map id> <runs>  one batch lookup + sprintf of each line
 *   elx-bench-baseline walk <map id> <runs>   get_next_key + lookup per key (ebpf_exporter's way)
 * The map is named by its kernel id, which the bench takes from the file
 * descriptors of the exporter under test (bench/common.lua's map_id): a name
 * is machine-wide, and another copy of the bench object loaded elsewhere on
 * the machine has a map of the same name. Each timing prints the best of
 * <runs> in milliseconds, one number per line. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The map of kernel id `id_text`, with its info; a descriptor or -errno. */
static int open_map(const char *id_text, struct bpf_map_info *info)
{
	char *end;
	unsigned long id = strtoul(id_text, &end, 10);
	__u32 len = sizeof(*info);
	int fd;

	if (*id_text == '\0' || *end != '\0' || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	fd = bpf_map_get_fd_by_id((__u32)id);
	if (fd < 0)
		return -errno;
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len) != 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int fill(int fd, __u32 n)
{
	__u64 *keys = malloc(n * sizeof(*keys)), *values = malloc(n * sizeof(*values));
	__u32 count = n;
	int ret;

	if (!keys || !values)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		keys[i] = (__u64)i * 7919 + 1;
		values[i] = (__u64)i * 3 + 1;
	}
	ret = bpf_map_update_batch(fd, keys, values, &count, NULL);
	free(keys);
	free(values);
	return ret;
}

/* Round r of keys that churn: the tenth of the n keys that round r - 1
 * added first (the first tenth of fill's, for round 1) goes, and as many
 * new ones come, so that 10% of the keys are new at each round. */
static int churn(int fd, __u32 n, __u32 round)
{
	__u32 m = n / 10, count = m;
	__u64 *gone = malloc(m * sizeof(*gone)), *keys = malloc(m * sizeof(*keys));
	__u64 *values = malloc(m * sizeof(*values));
	int ret = -ENOMEM;

	if (gone && keys && values) {
		for (__u32 i = 0; i < m; i++) {
			gone[i] = ((__u64)(round - 1) * m + i) * 7919 + 1;
			keys[i] = ((__u64)n + (__u64)(round - 1) * m + i) * 7919 + 1;
			values[i] = i + 1;
		}
		ret = bpf_map_delete_batch(fd, gone, &count, NULL);
		count = m;
		if (!ret)
			ret = bpf_map_update_batch(fd, keys, values, &count, NULL);
	}
	free(gone);
	free(keys);
	free(values);
	return ret;
}

/* Inode numbers of the cgroup2 directories: the ids bpf_get_current_cgroup_id
 * returns, so the cgroup decoder finds them. */
static __u64 cgroup_ids[4096];
static int ncgroup_ids;

static int add_cgroup(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type == FTW_D && ncgroup_ids < (int)(sizeof(cgroup_ids) / sizeof(cgroup_ids[0])))
		cgroup_ids[ncgroup_ids++] = st->st_ino;
	return 0;
}

static int find_cgroup_ids(void)
{
	char line[4096], mount[4096] = "";
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return -errno;
	/* ... <mount point> <options> ... - cgroup2 ... */
	while (fgets(line, sizeof(line), f)) {
		char point[4096];
		const char *sep = strstr(line, " - cgroup2 ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1) {
			snprintf(mount, sizeof(mount), "%s", point);
			break;
		}
	}
	fclose(f);
	if (!mount[0] || nftw(mount, add_cgroup, 16, FTW_PHYS) != 0 || ncgroup_ids == 0)
		return -ENOENT;
	return 0;
}

/* Ports a user decoder folds into a handful of services. */
static const __u32 bench_ports[] = { 22, 80, 443, 5432, 8080, 40000, 50001, 61000 };

struct decoded_key {
	__u64 cgroup;
	__u8 addr[16];
	__u32 port;
	__u32 pad;
};

static int fill_decoded(int fd, __u32 n)
{
	struct decoded_key *keys = calloc(n, sizeof(*keys));
	__u64 *values = malloc(n * sizeof(*values));
	__u32 count = n;
	int ret = find_cgroup_ids();

	if (ret)
		return ret;
	if (!keys || !values)
		return -ENOMEM;
	for (__u32 i = 0; i < n; i++) {
		keys[i].cgroup = cgroup_ids[i % ncgroup_ids];
		/* 2001:db8::<i>: every address distinct, every one a new series. */
		keys[i].addr[0] = 0x20;
		keys[i].addr[1] = 0x01;
		keys[i].addr[2] = 0x0d;
		keys[i].addr[3] = 0xb8;
		memcpy(&keys[i].addr[12], &(__u32){ __builtin_bswap32(i + 1) }, 4);
		keys[i].port = bench_ports[i % (sizeof(bench_ports) / sizeof(bench_ports[0]))];
		values[i] = (__u64)i + 1;
	}
	ret = bpf_map_update_batch(fd, keys, values, &count, NULL);
	free(keys);
	free(values);
	return ret;
}

/* The floor: everything an exporter must do at the least, in C. */
static double floor_once(int fd, __u32 max, __u64 *keys, __u64 *values, char *out)
{
	double start = now_ms();
	__u32 count = max, total = 0;
	__u64 in_batch, out_batch;
	void *in = NULL;
	int ret;

	do {
		count = max - total;
		ret = bpf_map_lookup_batch(fd, in, &out_batch, keys + total, values + total, &count,
					   NULL);
		total += count;
		in_batch = out_batch;
		in = &in_batch;
	} while (ret == 0 && total < max);
	size_t off = 0;
	for (__u32 i = 0; i < total; i++)
		off += sprintf(out + off, "ebpf_exporter_bench_values{key=\"%llu\"} %llu\n",
			       keys[i], values[i]);
	double ms = now_ms() - start;
	if (off == 0)
		fprintf(stderr, "floor: nothing read\n");
	return ms;
}

static double walk_once(int fd, char *out)
{
	double start = now_ms();
	__u64 key, prev, value;
	void *cursor = NULL;
	size_t off = 0;

	while (bpf_map_get_next_key(fd, cursor, &key) == 0) {
		if (bpf_map_lookup_elem(fd, &key, &value) == 0)
			off += sprintf(out + off, "ebpf_exporter_bench_values{key=\"%llu\"} %llu\n",
				       key, value);
		prev = key;
		cursor = &prev;
	}
	return now_ms() - start;
}

int main(int argc, char **argv)
{
	struct bpf_map_info info;
	int fd, runs;

	if (argc != 4) {
		fprintf(stderr, "usage: elx-bench-baseline fill|fill-decoded|churn|floor|walk "
				"<map id> <n|round|runs>\n");
		return 2;
	}
	fd = open_map(argv[2], &info);
	if (fd < 0) {
		fprintf(stderr, "elx-bench-baseline: map id %s: %s\n", argv[2], strerror(-fd));
		return 1;
	}
	runs = atoi(argv[3]);
	if (strcmp(argv[1], "fill-decoded") == 0) {
		int ret = info.key_size == sizeof(struct decoded_key)
			      ? fill_decoded(fd, (__u32)runs)
			      : -EINVAL;

		if (ret)
			fprintf(stderr, "elx-bench-baseline: fill-decoded: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}
	if (info.key_size != 8 || info.value_size != 8) {
		fprintf(stderr, "elx-bench-baseline: map %s (%s) is not a u64 -> u64 map\n",
			argv[2], info.name);
		return 1;
	}
	if (strcmp(argv[1], "fill") == 0) {
		int ret = fill(fd, (__u32)runs);

		if (ret)
			fprintf(stderr, "elx-bench-baseline: fill: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}
	if (strcmp(argv[1], "churn") == 0) {
		int ret = runs > 0 ? churn(fd, info.max_entries, (__u32)runs) : -EINVAL;

		if (ret)
			fprintf(stderr, "elx-bench-baseline: churn: %s\n", strerror(-ret));
		return ret ? 1 : 0;
	}
	__u64 *keys = malloc(info.max_entries * sizeof(*keys));
	__u64 *values = malloc(info.max_entries * sizeof(*values));
	char *out = malloc((size_t)info.max_entries * 96);
	double best = 1e18;

	if (!keys || !values || !out)
		return 1;
	for (int r = 0; r < runs; r++) {
		double ms = strcmp(argv[1], "walk") == 0
				? walk_once(fd, out)
				: floor_once(fd, info.max_entries, keys, values, out);
		if (ms < best)
			best = ms;
	}
	printf("%.3f\n", best);
	free(keys);
	free(values);
	free(out);
	return 0;
}
