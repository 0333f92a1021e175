/* Test object with a perf_event/ section the exporter must refuse, naming
 * the wrong key. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} perf_event_bad_total SEC(".maps");

SEC("perf_event/type=1,config=0,period=1000")
int bad_spec(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
