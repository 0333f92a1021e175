/* A span per process, from its exec to its exit, named after the file it
 * executed. A process whose parent has a span gets a span in the parent's
 * trace, under the parent's span: a shell script is one trace, its commands
 * the spans under the shell's. A process whose parent has none starts a
 * trace of its own. Every exec on the machine makes a span: on a busy host
 * that is many.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracing.bpf.h"

#define FILENAME_LEN 64

struct exec_span_t {
	struct span_base_t span_base;
	char filename[FILENAME_LEN];
	u32 pid;
	u32 ppid;
};

/* The running processes' spans, until they exit. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct exec_span_t);
} exec_running SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} exec_spans SEC(".maps");

static __always_inline u64 random_id(void)
{
	return ((u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_start, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	u32 pid = p->tgid, ppid = p->real_parent->tgid;
	struct exec_span_t *parent = bpf_map_lookup_elem(&exec_running, &ppid);
	struct exec_span_t span = {};

	if (bpf_probe_read_kernel_str(span.filename, sizeof(span.filename), bprm->filename) < 0)
		return 0;
	if (parent) {
		span.span_base.parent.trace_id_hi = parent->span_base.parent.trace_id_hi;
		span.span_base.parent.trace_id_lo = parent->span_base.parent.trace_id_lo;
		span.span_base.parent.span_id = parent->span_base.span_id;
	} else {
		span.span_base.parent.trace_id_hi = random_id();
		span.span_base.parent.trace_id_lo = random_id();
	}
	span.span_base.span_id = random_id();
	span.span_base.span_monotonic_timestamp_ns = bpf_ktime_get_ns();
	span.pid = pid;
	span.ppid = ppid;
	/* A second exec of the same process starts its span anew. */
	bpf_map_update_elem(&exec_running, &pid, &span, BPF_ANY);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(exec_end, struct task_struct *p)
{
	u32 pid = p->tgid;
	struct exec_span_t *running, *span;

	if (p->pid != p->tgid)
		return 0; /* a thread: the process lives on */
	running = bpf_map_lookup_elem(&exec_running, &pid);
	if (!running)
		return 0;
	running->span_base.span_duration_ns =
	    bpf_ktime_get_ns() - running->span_base.span_monotonic_timestamp_ns;
	span = bpf_ringbuf_reserve(&exec_spans, sizeof(*span), 0);
	if (span) {
		*span = *running;
		bpf_ringbuf_submit(span, 0);
	}
	bpf_map_delete_elem(&exec_running, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
