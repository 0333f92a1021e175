/* The decoder-heavy map of `make bench`: 100,000 keys of a cgroup id, an IPv6
 * address and a port, filled from user space by elx-bench-baseline. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct bench_key {
	u64 cgroup;
	u8 addr[16];
	u32 port;
	u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 100000);
	__type(key, struct bench_key);
	__type(value, u64);
} bench_decoded SEC(".maps");

char LICENSE[] SEC("license") = "GPL";
