/* The kernel-side cost of bpf/maps.bpf.h's helpers, for `make bench`
 * (bench/kernel_cost.lua): each program below runs on every getpgid() entry
 * and counts the same events into a map of its own, one through a helper, the
 * next through the least code that does the same (lookup, add in place,
 * update only for a new key), so that run_time_ns / run_cnt of each pair says
 * what the helper adds. Only calls whose pid argument is MAGIC + v count, v
 * below 2^20: the bench makes them (no process has such a pid, so getpgid
 * fails at once); other processes' getpgid calls return early in every
 * program alike. The key is v's low 6 bits (64 series per map), the observed
 * value v itself (exp2 buckets 0..20). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

#define MAGIC	   0x40000000UL
#define MAX_BUCKET 26

#define COUNTER_MAP(kind, name)                                                                    \
	struct {                                                                                   \
		__uint(type, kind);                                                                \
		__uint(max_entries, 64);                                                           \
		__type(key, u64);                                                                  \
		__type(value, u64);                                                                \
	} name SEC(".maps")

COUNTER_MAP(BPF_MAP_TYPE_HASH, cost_helper_hash);
COUNTER_MAP(BPF_MAP_TYPE_HASH, cost_inline_hash);
COUNTER_MAP(BPF_MAP_TYPE_PERCPU_HASH, cost_helper_percpu);
COUNTER_MAP(BPF_MAP_TYPE_PERCPU_HASH, cost_inline_percpu);

struct hist_key {
	u64 slot;
	u64 bucket;
};

#define HIST_MAP(name)                                                                             \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_HASH);                                                   \
		__uint(max_entries, 64 * (MAX_BUCKET + 2));                                        \
		__type(key, struct hist_key);                                                      \
		__type(value, u64);                                                                \
	} name SEC(".maps")

HIST_MAP(cost_helper_hist);
HIST_MAP(cost_inline_hist);

/* v, or -1 for a call that is not the bench's. */
static __always_inline long bench_value(struct trace_event_raw_sys_enter *ctx)
{
	u64 pid = ctx->args[0];

	if (pid < MAGIC || pid >= MAGIC + (1 << 20))
		return -1;
	return pid - MAGIC;
}

/* The inline counter: a shared value takes an atomic add, a per-CPU one a
 * plain add; a new key is inserted with the increment as its value. */
static __always_inline void inline_add(void *map, void *key, u64 increment, int atomic)
{
	u64 *count = bpf_map_lookup_elem(map, key);

	if (!count) {
		bpf_map_update_elem(map, key, &increment, BPF_NOEXIST);
		return;
	}
	if (atomic)
		__sync_fetch_and_add(count, increment);
	else
		*count += increment;
}

/* The filter alone: what any program here costs before it counts. Being
 * the first to run on the tracepoint, it also takes the cache misses that
 * would otherwise weigh on whichever program came first. */
SEC("tracepoint/syscalls/sys_enter_getpgid")
int filter_only(struct trace_event_raw_sys_enter *ctx)
{
	return bench_value(ctx) < 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int helper_hash(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	u64 key = v & 63;

	if (v >= 0)
		increment_map(&cost_helper_hash, &key, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int inline_hash(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	u64 key = v & 63;

	if (v >= 0)
		inline_add(&cost_inline_hash, &key, 1, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int helper_percpu(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	u64 key = v & 63;

	if (v >= 0)
		increment_map_nosync(&cost_helper_percpu, &key, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int inline_percpu(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	u64 key = v & 63;

	if (v >= 0)
		inline_add(&cost_inline_percpu, &key, 1, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int helper_hist(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	struct hist_key key = { .slot = v & 63 };

	if (v >= 0)
		increment_exp2_histogram(&cost_helper_hist, key, v, MAX_BUCKET);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpgid")
int inline_hist(struct trace_event_raw_sys_enter *ctx)
{
	long v = bench_value(ctx);
	struct hist_key key = { .slot = v & 63 };
	u64 bucket;

	if (v < 0)
		return 0;
	bucket = v <= 1 ? 0 : log2l(v - 1) + 1;
	key.bucket = bucket > MAX_BUCKET ? MAX_BUCKET : bucket;
	inline_add(&cost_inline_hist, &key, 1, 1);
	if (v > 0) {
		key.bucket = MAX_BUCKET + 1;
		inline_add(&cost_inline_hist, &key, v, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
