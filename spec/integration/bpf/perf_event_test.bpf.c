/* Test object for the perf_event/ section: a software cpu-clock sampling
 * event on every online CPU, counting its samples per CPU; and a program
 * whose section has a key the exporter must refuse. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} perf_event_samples_total SEC(".maps");

/* PERF_TYPE_SOFTWARE = 1, PERF_COUNT_SW_CPU_CLOCK = 0 */
SEC("perf_event/type=1,config=0,frequency=1000")
int cpu_clock(void *ctx)
{
	u32 zero = 0;

	increment_map_nosync(&perf_event_samples_total, &zero, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
