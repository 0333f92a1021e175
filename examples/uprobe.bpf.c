/* Counts calls of libc's malloc by the cgroup v2 of the calling task; the
 * exporter turns each cgroup id into the cgroup's path with the cgroup
 * decoder. The uprobe is on the library file, so it fires in every process
 * that maps this libc, started before or after the exporter. It costs a trap
 * into the kernel on every malloc: mind busy allocators.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* One entry per cgroup that ever called malloc; ids of deleted cgroups stay
 * until the map is full, then new cgroups go uncounted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u64);
} libc_malloc_calls_total SEC(".maps");

/* Debian's multiarch path: a bare "libc.so.6" would make libbpf search the
 * library path, which differs between machines.
 */
SEC("uprobe//lib/x86_64-linux-gnu/libc.so.6:malloc")
int BPF_UPROBE(malloc_call)
{
	u64 cgroup_id = bpf_get_current_cgroup_id();

	increment_map(&libc_malloc_calls_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
