/* Kernel spans under a span of a user-space program: the program passes its
 * trace id and span id through a USDT probe (ebpf_exporter:set_parent_span,
 * three host-order u64s: the trace id's two halves and the span id, read
 * from the ids' bytes), and until it fires clear_parent_span every write(2)
 * of that process becomes a span under it, with its fd and the bytes
 * written. usdt-trace-demo.c is such a program.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "tracing.bpf.h"

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)
/* The build passes where it puts the demo program. */
#ifndef ELX_EXAMPLES_DIR
#define ELX_EXAMPLES_DIR / usr / local / lib / ebpf - lua - exporter / examples
#endif
#define DEMO ELX_STR(ELX_EXAMPLES_DIR) "/usdt-trace-demo"

struct write_span_t {
	struct span_base_t span_base;
	u64 fd;
	s64 bytes;
};

/* The parent span of each traced process, by tgid. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct span_parent_t);
} usdt_parents SEC(".maps");

struct write_start {
	u64 ts;
	u64 fd;
};

/* Writes under way in traced processes, by thread id. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, struct write_start);
} usdt_writes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} write_spans SEC(".maps");

SEC("usdt/" DEMO ":ebpf_exporter:set_parent_span")
int BPF_USDT(set_parent_span, u64 trace_id_hi, u64 trace_id_lo, u64 span_id)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct span_parent_t parent = { .trace_id_hi = trace_id_hi,
					.trace_id_lo = trace_id_lo,
					.span_id = span_id };

	bpf_map_update_elem(&usdt_parents, &tgid, &parent, BPF_ANY);
	return 0;
}

SEC("usdt/" DEMO ":ebpf_exporter:clear_parent_span")
int BPF_USDT(clear_parent_span)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	bpf_map_delete_elem(&usdt_parents, &tgid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int write_enter(struct trace_event_raw_sys_enter *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	struct write_start start = { .ts = bpf_ktime_get_ns(), .fd = ctx->args[0] };

	if (!bpf_map_lookup_elem(&usdt_parents, &tgid))
		return 0;
	bpf_map_update_elem(&usdt_writes, &tid, &start, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_write")
int write_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	struct span_parent_t *parent = bpf_map_lookup_elem(&usdt_parents, &tgid);
	struct write_start *start = bpf_map_lookup_elem(&usdt_writes, &tid);
	u64 ts, fd;

	if (!parent || !start)
		return 0;
	ts = start->ts;
	fd = start->fd;
	bpf_map_delete_elem(&usdt_writes, &tid);
	submit_span(&write_spans, struct write_span_t, parent, {
		span->span_base.span_monotonic_timestamp_ns = ts;
		span->span_base.span_duration_ns = bpf_ktime_get_ns() - ts;
		span->fd = fd;
		span->bytes = ctx->ret;
	});
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
