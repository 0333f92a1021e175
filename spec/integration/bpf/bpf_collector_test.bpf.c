/* Test object for --collector.bpf: a program of each type this machine
 * runs (tracepoint, raw_tp, tp_btf, uprobe, perf_event, xdp) and maps of
 * several types, which the spec expects with these exact attributes. The
 * uprobe on elx_test_hit(value) of spec/integration/target/target.c puts
 * key `value` into each keyed map, so N distinct values make N entries.
 * Names stay within the kernel's 15 characters. No global variables: they
 * would add .bss/.data maps the spec does not expect.
 *
 * Build with -DELX_TEST_TARGET=/absolute/path/to/elx-test-target. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#ifndef ELX_TEST_TARGET
#error "define ELX_TEST_TARGET as the absolute path of elx-test-target"
#endif

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} bc_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 256);
	__type(key, u64);
	__type(value, u32);
} bc_hash_np SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 128);
	__type(key, u64);
	__type(value, u64);
} bc_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 512);
	__type(key, u64);
	__type(value, u64);
} bc_lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} bc_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} bc_percpu_array SEC(".maps");

struct lpm_key {
	u32 prefixlen;
	u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 64);
	__type(key, struct lpm_key);
	__type(value, u64);
} bc_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} bc_ringbuf SEC(".maps");

/* max_entries left to libbpf: one slot per possible CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} bc_perf SEC(".maps");

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(bc_uprobe, u64 value)
{
	struct lpm_key lpm = { .prefixlen = 32, .addr = (u32)value };
	u32 slot = value % 8;
	u32 one = 1;

	increment_map(&bc_hash, &value, 1);
	bpf_map_update_elem(&bc_hash_np, &value, &one, BPF_ANY);
	increment_map(&bc_percpu_hash, &value, 1);
	increment_map(&bc_lru_hash, &value, 1);
	increment_map(&bc_array, &slot, 1);
	increment_map(&bc_lpm, &lpm, 1);
	return 0;
}

/* getpriority(99, 0) fails with EINVAL: elx-test-target fail N makes it. */
SEC("tracepoint/syscalls/sys_enter_getpriority")
int bc_tracepoint(void *ctx)
{
	return 0;
}

SEC("raw_tp/sys_enter")
int bc_raw_tp(void *ctx)
{
	return 0;
}

SEC("tp_btf/sys_enter")
int bc_tp_btf(void *ctx)
{
	return 0;
}

/* PERF_TYPE_SOFTWARE = 1, PERF_COUNT_SW_CPU_CLOCK = 0: once a second per CPU. */
SEC("perf_event/type=1,config=0,frequency=1")
int bc_perf_event(void *ctx)
{
	u32 zero = 0;

	increment_map(&bc_percpu_array, &zero, 1);
	return 0;
}

/* The root side of a veth pair the spec makes, its peer in a namespace. */
SEC("xdp/elx-bc0")
int bc_xdp(struct xdp_md *ctx)
{
	u32 ifindex = ctx->ingress_ifindex;

	bpf_ringbuf_output(&bc_ringbuf, &ifindex, sizeof(ifindex), 0);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
