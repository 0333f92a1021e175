/* Samples every online CPU 99 times a second with the software cpu-clock
 * event and counts the samples per CPU, split by whether the CPU was idle:
 * busy / (busy + idle) is the CPU's utilisation. The cpu-clock event is a
 * kernel timer, so it works where hardware counters do not (virtual
 * machines) and keeps firing on an idle CPU.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* Array indexes, the state label's values in the YAML. */
#define STATE_BUSY 0
#define STATE_IDLE 1

/* Per-CPU: each CPU counts its own samples without atomics, and the exporter
 * gives every CPU its own series through the YAML's cpu label.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} cpu_clock_samples_total SEC(".maps");

/* PERF_TYPE_SOFTWARE = 1, PERF_COUNT_SW_CPU_CLOCK = 0. An idle CPU runs its
 * idle task, the only one with pid 0.
 */
SEC("perf_event/type=1,config=0,frequency=99")
int cpu_clock_sample(struct bpf_perf_event_data *ctx)
{
	u32 state = (u32)bpf_get_current_pid_tgid() == 0 ? STATE_IDLE : STATE_BUSY;

	increment_map_nosync(&cpu_clock_samples_total, &state, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
