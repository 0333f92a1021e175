/* Test object for event counters: every call of elx_test_hit(value) sends
 * one record with the value to a perf event array and one to a ring buffer;
 * the exporter counts the records by value. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "elx_owner.bpf.h"

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

struct record {
	u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events_perf_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* room for every record of a spec */
} events_ring_total SEC(".maps");

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(send_records, u64 value, u64 owner)
{
	struct record r = { .value = value };

	if (!elx_owned(owner))
		return 0;
	bpf_perf_event_output(ctx, &events_perf_total, BPF_F_CURRENT_CPU, &r, sizeof(r));
	bpf_ringbuf_output(&events_ring_total, &r, sizeof(r), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
