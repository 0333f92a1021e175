/* Counts softirq handler runs by kind and CPU. The map is per-CPU, so each CPU
 * bumps its own slot without atomics and the exporter reports one series per
 * kind and CPU (the YAML's trailing cpu label).
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* One slot per softirq kind; NR_SOFTIRQS comes from the kernel's own enum. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_SOFTIRQS);
	__type(key, u32);
	__type(value, u64);
} softirqs_total SEC(".maps");

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec_nr)
{
	u32 kind = vec_nr;
	u64 *count;

	/* An out-of-range kind would be a new kernel softirq: skip it. */
	read_array_ptr(&softirqs_total, &kind, count);
	*count += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
