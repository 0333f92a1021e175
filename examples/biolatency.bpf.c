/* Block IO latency per disk and operation as an exp2 histogram in microseconds:
 * from the moment a request enters the block layer's queue (insert) or, when it
 * skips the queue, is handed to the driver (issue), until it completes.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* 2^26 us is about 67 s: anything slower is counted in the last bucket. */
#define MAX_LATENCY_BUCKET 26

/* The low REQ_OP_BITS bits of cmd_flags hold the operation (enum req_op). The
 * kernel defines these as macros, which BTF and so vmlinux.h do not carry.
 */
#define REQ_OP_BITS 8
#define REQ_OP_MASK ((1U << REQ_OP_BITS) - 1)

struct disk_latency_key {
	u32 dev;
	u8 op;
	u8 pad[3];
	u64 bucket;
};

/* Start time (ns) per in-flight request, keyed by the request's address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct request *);
	__type(value, u64);
} rq_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, (MAX_LATENCY_BUCKET + 2) * 1024);
	__type(key, struct disk_latency_key);
	__type(value, u64);
} bio_latency_seconds SEC(".maps");

/* Kernels before 5.17 kept the disk on the request itself, not on its queue.
 * CO-RE drops the branch that does not match the running kernel.
 */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* tp_btf hands over typed kernel pointers: plain loads (CO-RE relocated, and
 * made fault-safe by the verifier) read through them, with none of the
 * bpf_probe_read_kernel calls BPF_CORE_READ makes, one per hop.
 */
static __always_inline struct gendisk *request_disk(struct request *rq)
{
	struct request___old *old = (void *)rq;

	if (bpf_core_field_exists(old->rq_disk))
		return old->rq_disk;
	return rq->q->disk;
}

/* The device number as userspace sees it (the kernel's new_encode_dev), which
 * is what the majorminor decoder expects: minor bits 0-7 and 20-31, major 8-19.
 */
static __always_inline u32 disk_dev(struct gendisk *disk)
{
	u32 major = disk->major;
	u32 minor = disk->first_minor;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* A request that goes through the scheduler's queue is inserted first and
 * issued later: the insert time wins, so the latency includes queueing. A
 * re-insert (a requeued request) restarts the clock.
 */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
	u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&rq_start, &rq, &ts, BPF_ANY);
	return 0;
}

/* Requests dispatched straight to the driver are never inserted; for them
 * issue is the start, and an earlier insert time is kept. Most requests were
 * inserted: a lookup finds them, where an update with BPF_NOEXIST would take
 * an element from the map's free list, find the key and give it back.
 */
SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	u64 ts;

	if (bpf_map_lookup_elem(&rq_start, &rq))
		return 0;
	ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&rq_start, &rq, &ts, BPF_NOEXIST);
	return 0;
}

/* block_rq_complete can fire more than once for a request completed in parts;
 * the first one deletes the start time, so the request is counted once.
 */
SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq)
{
	struct disk_latency_key key = {};
	struct gendisk *disk;
	u64 *tsp, delta_us;

	tsp = bpf_map_lookup_elem(&rq_start, &rq);
	if (!tsp)
		return 0;
	delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	bpf_map_delete_elem(&rq_start, &rq);

	disk = request_disk(rq);
	if (disk)
		key.dev = disk_dev(disk);
	key.op = rq->cmd_flags & REQ_OP_MASK;

	increment_exp2_histogram(&bio_latency_seconds, key, delta_us, MAX_LATENCY_BUCKET);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
