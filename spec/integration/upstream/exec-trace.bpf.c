/* As ebpf_exporter's exec-trace: a span per process descended from a
 * /bin/bash, from its exec (or fork) to its exit, named after the file it
 * executed; a bash whose parent is not traced starts a trace. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracing.bpf.h"

struct exec_span_t {
	struct span_base_t span_base;
	char exe[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct exec_span_t);
} traced_tgids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} exec_spans SEC(".maps");

static __always_inline int is_bash(const char *path)
{
	const char bash[] = "/bin/bash";

	for (int i = 0; i < sizeof(bash); i++) {
		if (path[i] != bash[i])
			return 0;
	}
	return 1;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_start, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	u64 now = bpf_ktime_get_ns();
	u32 tgid = p->tgid, ptgid = p->real_parent->tgid;
	struct exec_span_t span = {}, *parent;

	if (bpf_probe_read_kernel_str(span.exe, sizeof(span.exe), bprm->filename) < 0)
		return 0;
	parent = bpf_map_lookup_elem(&traced_tgids, &ptgid);
	if (parent) {
		span.span_base.parent.trace_id_hi = parent->span_base.parent.trace_id_hi;
		span.span_base.parent.trace_id_lo = parent->span_base.parent.trace_id_lo;
		span.span_base.parent.span_id = parent->span_base.span_id;
	} else if (is_bash(span.exe)) {
		span.span_base.parent.trace_id_lo = now;
	} else {
		return 0;
	}
	span.span_base.span_id = now;
	span.span_base.span_monotonic_timestamp_ns = now;
	bpf_map_update_elem(&traced_tgids, &tgid, &span, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(exec_fork, struct task_struct *parent, struct task_struct *child)
{
	u64 now = bpf_ktime_get_ns();
	u32 ptgid = parent->tgid, ctgid = child->tgid;
	struct exec_span_t *span, forked;

	if (ptgid == ctgid)
		return 0;
	span = bpf_map_lookup_elem(&traced_tgids, &ptgid);
	if (!span)
		return 0;
	forked = *span;
	forked.span_base.parent.span_id = span->span_base.span_id;
	forked.span_base.span_id = now;
	bpf_map_update_elem(&traced_tgids, &ctgid, &forked, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exec_exit, struct task_struct *p)
{
	u32 tgid = p->tgid;
	struct exec_span_t *span = bpf_map_lookup_elem(&traced_tgids, &tgid), *out;

	if (!span)
		return 0;
	span->span_base.span_duration_ns =
	    bpf_ktime_get_ns() - span->span_base.span_monotonic_timestamp_ns;
	out = bpf_ringbuf_reserve(&exec_spans, sizeof(*out), 0);
	if (out) {
		*out = *span;
		bpf_ringbuf_submit(out, 0);
	}
	bpf_map_delete_elem(&traced_tgids, &tgid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
