/* A span per block IO request, from the moment it enters the block layer's
 * queue (insert) or, when it skips the queue, is handed to the driver
 * (issue), until it completes; with its device, operation and size. Each
 * request is a trace of its own.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "tracing.bpf.h"

/* The low 8 bits of cmd_flags hold the operation (enum req_op): a macro of
 * the kernel's, which BTF does not carry. */
#define REQ_OP_MASK 0xffU

struct bio_span_t {
	struct span_base_t span_base;
	u32 dev;
	u8 op;
	u8 pad[3];
	u64 bytes;
};

/* Start time (ns) per in-flight request, keyed by the request's address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, u64);
} bio_started SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} bio_spans SEC(".maps");

/* Kernels before 5.17 kept the disk on the request, not on its queue. */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(struct request *rq)
{
	struct request___old *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return BPF_CORE_READ(old, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/* The device number as the majorminor decoder reads it (new_encode_dev). */
static __always_inline u32 disk_dev(struct gendisk *disk)
{
	u32 major = BPF_CORE_READ(disk, major);
	u32 minor = BPF_CORE_READ(disk, first_minor);

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

static __always_inline u64 random_id(void)
{
	return ((u64)bpf_get_prandom_u32() << 32) | bpf_get_prandom_u32();
}

SEC("tp_btf/block_rq_insert")
int BPF_PROG(bio_insert, struct request *rq)
{
	u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&bio_started, &rq, &ts, BPF_ANY);
	return 0;
}

/* BPF_NOEXIST keeps the insert time of a request that was queued. */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(bio_issue, struct request *rq)
{
	u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&bio_started, &rq, &ts, BPF_NOEXIST);
	return 0;
}

/* A request completed in parts completes more than once: the first time
 * takes its start time, so it makes one span. */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(bio_complete, struct request *rq, blk_status_t error, unsigned int nr_bytes)
{
	struct span_parent_t root = { .trace_id_hi = random_id(), .trace_id_lo = random_id() };
	struct gendisk *disk = request_disk(rq);
	u64 *started = bpf_map_lookup_elem(&bio_started, &rq);
	u64 start;

	if (!started)
		return 0;
	start = *started;
	bpf_map_delete_elem(&bio_started, &rq);
	submit_span(&bio_spans, struct bio_span_t, &root, {
		span->span_base.span_monotonic_timestamp_ns = start;
		span->span_base.span_duration_ns = bpf_ktime_get_ns() - start;
		span->dev = disk ? disk_dev(disk) : 0;
		span->op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK;
		span->bytes = nr_bytes;
	});
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
