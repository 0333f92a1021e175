/* A small config for the reload benchmark, compiled ten times with
 * -DELX_BENCH_N=<n> so that ten configs have maps of their own. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define CAT_(a, b, c) a##b##c
#define CAT(a, b, c)  CAT_(a, b, c)
#define MAP_NAME      CAT(reload_, ELX_BENCH_N, _total)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} MAP_NAME SEC(".maps");

SEC("tp_btf/timer_start")
int BPF_PROG(timer_start, struct timer_list *timer)
{
	u64 function = (u64)timer->function;

	increment_map(&MAP_NAME, &function, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
