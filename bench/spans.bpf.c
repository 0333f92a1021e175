/* The span benchmark's program: every call of elx_test_hit(value, owner) in
 * the test target made for this object (elx_owner.bpf.h) submits one span
 * with the value and the caller's command. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracing.bpf.h"
#include "../spec/integration/bpf/elx_owner.bpf.h"

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

struct hit_span_t {
	struct span_base_t span_base;
	u64 value;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 * 1024 * 1024); /* every span of a run, if need be */
} hit_spans SEC(".maps");

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(hit, u64 value, u64 owner)
{
	if (!elx_owned(owner))
		return 0;
	struct span_parent_t root = { .trace_id_hi = value + 1,
				      .trace_id_lo = bpf_get_prandom_u32() };

	submit_span(&hit_spans, struct hit_span_t, &root, {
		span->value = value;
		bpf_get_current_comm(span->comm, sizeof(span->comm));
	});
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
