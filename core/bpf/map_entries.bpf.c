/* The exporter's own BPF program: an iterator over every BPF map in the
 * kernel that writes each map's id and the element count the kernel keeps
 * for it (bpf_map_sum_elem_count, Linux 6.6+: the hash map family), so that
 * --collector.bpf.map-entries counts a hash map without reading it. One
 * read() of the iterator serves every map. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

/* Only the per-CPU counters of hash maps are kept by the kernel; for other
 * types it reads 0, and the core does not use the value. */
extern s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

/* What one map adds to the stream: struct map_count of core/map_entries.c. */
struct map_count {
	u32 id;
	u32 type;
	s64 count;
};

SEC("iter/bpf_map")
int elx_map_count(struct bpf_iter__bpf_map *ctx)
{
	struct bpf_map *map = ctx->map;
	struct map_count rec;

	if (!map)
		return 0;
	rec.id = map->id;
	rec.type = map->map_type;
	rec.count = bpf_map_sum_elem_count(map);
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
