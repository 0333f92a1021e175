/* The map `make bench` scrapes: 100,000 u64 -> u64 entries, filled from user
 * space by elx-bench-baseline. No program is needed to read a map. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 100000);
	__type(key, u64);
	__type(value, u64);
} bench_values SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
