/* Test object for kaddrs and post_attach_mark(): when the exporter calls
 * post_attach_mark() after attaching, this uprobe stores the address the
 * exporter wrote into kaddr_schedule, and counts its own runs by the process
 * that made them: the uprobe is on the exporter's binary, so every exporter
 * started from it runs the program, and a spec looks at its own pid only. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

const volatile u64 kaddr_schedule = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} kaddrs_schedule_address SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32); /* the tgid: the exporter's pid */
	__type(value, u64);
} kaddrs_post_attach_calls_total SEC(".maps");

SEC("uprobe//proc/self/exe:post_attach_mark")
int post_attach(void *ctx)
{
	u32 zero = 0, tgid = bpf_get_current_pid_tgid() >> 32;
	u64 *address = bpf_map_lookup_elem(&kaddrs_schedule_address, &zero);

	if (address)
		*address = kaddr_schedule;
	increment_map(&kaddrs_post_attach_calls_total, &tgid, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
