/* As ebpf_exporter's bio-trace: zero-length spans when a request enters the
 * queue, and spans from issue to completion, with device and operation;
 * the request's address and start time make its trace id. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracing.bpf.h"

struct disk_span_t {
	struct span_base_t span_base;
	u32 dev;
	u8 op;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64 * 1024);
	__type(key, struct request *);
	__type(value, u64);
} issued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} block_rq_insert_spans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} block_rq_service_spans SEC(".maps");

static __always_inline u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	u32 major, minor;

	if (!disk)
		return 0;
	major = BPF_CORE_READ(disk, major);
	minor = BPF_CORE_READ(disk, first_minor);
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static __always_inline void rq_parent(struct request *rq, struct span_parent_t *parent)
{
	parent->trace_id_hi = BPF_CORE_READ(rq, start_time_ns);
	parent->trace_id_lo = (u64)rq;
	parent->span_id = 0;
}

SEC("raw_tp/block_rq_insert")
int rq_insert(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	struct span_parent_t parent;

	rq_parent(rq, &parent);
	submit_span(&block_rq_insert_spans, struct disk_span_t, &parent, {
		span->dev = rq_dev(rq);
		span->op = BPF_CORE_READ(rq, cmd_flags) & 0xff;
	});
	return 0;
}

SEC("raw_tp/block_rq_issue")
int rq_issue(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&issued, &rq, &now, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int rq_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	u64 now = bpf_ktime_get_ns(), *at = bpf_map_lookup_elem(&issued, &rq), start;
	struct span_parent_t parent;

	if (!at)
		return 0;
	start = *at;
	bpf_map_delete_elem(&issued, &rq);
	rq_parent(rq, &parent);
	submit_span(&block_rq_service_spans, struct disk_span_t, &parent, {
		span->span_base.span_duration_ns = now - start;
		span->dev = rq_dev(rq);
		span->op = BPF_CORE_READ(rq, cmd_flags) & 0xff;
	});
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
