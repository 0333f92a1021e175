/* Counts timers started in the kernel by their callback function; the exporter
 * turns each callback address into its symbol name with the ksym decoder.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* Kernels have a few hundred distinct timer callbacks; once the map is full
 * new callbacks go uncounted while known ones keep counting.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} timer_starts_total SEC(".maps");

/* tp_btf gives typed access to the timer, so reading ->function needs no
 * probe read. The tracepoint's later arguments (expiry) are not needed and
 * have changed between kernel versions, so they are not declared.
 */
SEC("tp_btf/timer_start")
int BPF_PROG(timer_start, struct timer_list *timer)
{
	u64 function = (u64)timer->function;

	increment_map(&timer_starts_total, &function, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
