/* Test object the verifier must reject: a hash map value used without the
 * NULL check (an array lookup with a constant key would pass on new kernels).
 * The exporter has to print the verifier's reason and exit 1. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} bad_total SEC(".maps");

SEC("tp_btf/timer_start")
int BPF_PROG(unchecked_lookup)
{
	u32 zero = 0;
	u64 *value = bpf_map_lookup_elem(&bad_total, &zero);

	*value += 1; /* no NULL check: rejected */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
