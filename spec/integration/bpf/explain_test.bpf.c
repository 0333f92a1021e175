/* Test object whose programs each fail to attach for a reason the exporter
 * has to name: what this kernel or machine lacks, or a bad target. Only
 * explain_total is a metric; no program ever runs. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} explain_total SEC(".maps");

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_kprobe)
{
	return 0;
}

SEC("fentry/do_nanosleep")
int BPF_PROG(on_fentry)
{
	return 0;
}

SEC("tracepoint/sched/elx_no_such_event")
int on_missing_tracepoint(void *ctx)
{
	return 0;
}

/* PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES */
SEC("perf_event/type=0,config=0,frequency=99")
int on_cycles(void *ctx)
{
	return 0;
}

SEC("uprobe//elx/no/such/binary:main")
int BPF_KPROBE(on_missing_binary)
{
	return 0;
}

/* elx-shim is found on PATH, as libbpf looks for a name without a slash:
 * the spec puts a script there, as pyenv's shims are. */
SEC("usdt/elx-shim:python:function__entry")
int BPF_USDT(on_shim)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
