/* Test object with one program that attaches (a uprobe on elx-test-target)
 * and one that cannot (a tracepoint that does not exist): the exporter must
 * report the second as not attached, or fail with --config.strict. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "elx_owner.bpf.h"

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} attach_fail_hits_total SEC(".maps");

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(attached_hit, u64 value, u64 owner)
{
	u32 zero = 0;

	if (!elx_owned(owner))
		return 0;
	increment_map(&attach_fail_hits_total, &zero, 1);
	return 0;
}

SEC("tracepoint/elx_no_such_system/elx_no_such_event")
int never_attached(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
