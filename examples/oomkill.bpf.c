/* Counts tasks the OOM killer picks, by the victim's cgroup v2 path and by
 * whether the whole machine (global_oom="1") or a memory cgroup's limit
 * (global_oom="0") ran out. Each kill is one record in a perf event array: OOM
 * kills are rare, so they cost nothing while none happen.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* Deep enough to reach the OOM killer's caller from the tracepoint: about ten
 * frames of tracing and OOM code come first.
 */
#define MAX_STACK_DEPTH 32

/* The record is the label bytes: the victim's cgroup id, then the kernel
 * stack, which the YAML's decoders reduce to global_oom.
 */
struct oom_kill_record {
	u64 cgroup_id;
	u64 stack[MAX_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} oom_kills_total SEC(".maps");

/* mark_victim fires once per task the OOM killer marks (TIF_MEMDIE is set
 * only once), whether it kills it or lets an already exiting one go. It sees
 * the victim, not the OOMing memory cgroup: kprobes on oom_kill_process, which
 * would see it, are not on every kernel. The victim's cgroup v2 id is what the
 * cgroup decoder resolves on every machine, also where the memory controller
 * sits on a cgroup v1 hierarchy whose ids it cannot name. The victim is read
 * from the task pointer because it is usually not the current task: the task
 * that ran out of memory picks the largest one.
 *
 * Whether the OOM was global is not on the tracepoint either. The kernel
 * stack tells: a memory cgroup's OOM comes through mem_cgroup_out_of_memory,
 * a global one straight from the page allocator. The exporter names the
 * frames (kstack decoder) and matches them (regexp decoder).
 */
SEC("tp_btf/mark_victim")
int BPF_PROG(mark_victim, struct task_struct *victim)
{
	struct oom_kill_record record;

	__builtin_memset(&record, 0, sizeof(record));
	record.cgroup_id = BPF_CORE_READ(victim, cgroups, dfl_cgrp, kn, id);
	/* On failure the helper zeroes the stack: the kill still counts, with
	 * global_oom="unknown".
	 */
	bpf_get_stack(ctx, record.stack, sizeof(record.stack), 0);
	bpf_perf_event_output(ctx, &oom_kills_total, BPF_F_CURRENT_CPU, &record, sizeof(record));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
