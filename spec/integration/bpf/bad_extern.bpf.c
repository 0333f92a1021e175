/* Test object that needs a kernel function this kernel does not have: libbpf
 * fails the load with ENOENT, and the exporter has to say which one. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int elx_no_such_kfunc(void) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} extern_total SEC(".maps");

SEC("tp_btf/timer_start")
int BPF_PROG(call_missing)
{
	return elx_no_such_kfunc();
}

char LICENSE[] SEC("license") = "GPL";
