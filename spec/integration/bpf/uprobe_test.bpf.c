/* Test object for the integration specs: a uprobe on elx_test_hit() in
 * spec/integration/target/target.c feeds one map per counter and histogram
 * shape the exporter supports, so the specs can check exact exported values.
 *
 * Build with -DELX_TEST_TARGET=/absolute/path/to/elx-test-target, unquoted:
 * the path is turned into a string here. It must not contain "//", quotes,
 * spaces, or a component that is a macro name.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "elx_owner.bpf.h"

#ifndef ELX_TEST_TARGET
#error "define ELX_TEST_TARGET as the absolute path of elx-test-target"
#endif

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

/* Histogram shapes, mirrored in uprobe_test.yaml. */
#define EXP2_MAX_BUCKET	  10
#define LINEAR_WIDTH	  10
#define LINEAR_MAX_BUCKET 9
#define FIXED_LAST_KEY	  1000

/* Unlabelled counter: an ARRAY of one with the 4-byte key 0. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} test_hits_total SEC(".maps");

/* One series per distinct argument value. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} test_hits_by_value_total SEC(".maps");

/* One series per CPU: the YAML's only label is cpu. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} test_hits_percpu_total SEC(".maps");

/* Per-CPU without a cpu label: the exporter sums the CPUs into one series. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} test_hits_percpu_summed_total SEC(".maps");

struct hist_key {
	u64 bucket;
};

/* Each histogram has max_bucket + 2 keys at most: the buckets and the sum. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXP2_MAX_BUCKET + 2);
	__type(key, struct hist_key);
	__type(value, u64);
} test_value_exp2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EXP2_MAX_BUCKET + 2);
	__type(key, struct hist_key);
	__type(value, u64);
} test_value_exp2zero SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LINEAR_MAX_BUCKET + 2);
	__type(key, struct hist_key);
	__type(value, u64);
} test_value_linear SEC(".maps");

/* Keys 1, 10, 100, 1000 and the sum at 1001. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 5);
	__type(key, struct hist_key);
	__type(value, u64);
} test_value_fixed SEC(".maps");

/* Linear: bucket value / LINEAR_WIDTH, clamped; the raw value goes to the sum
 * at LINEAR_MAX_BUCKET + 1. There is no helper for this shape in maps.bpf.h,
 * as ebpf_exporter has none either.
 */
static __always_inline void observe_linear(u64 value)
{
	struct hist_key key = { .bucket = value / LINEAR_WIDTH };

	if (key.bucket > LINEAR_MAX_BUCKET)
		key.bucket = LINEAR_MAX_BUCKET;
	increment_map(&test_value_linear, &key, 1);
	if (value > 0) {
		key.bucket = LINEAR_MAX_BUCKET + 1;
		increment_map(&test_value_linear, &key, value);
	}
}

/* Fixed: the smallest of the bucket keys 1, 10, 100, 1000 that is >= value;
 * larger values land in 1000 (the specs do not send any), and the sum goes to
 * FIXED_LAST_KEY + 1.
 */
static __always_inline void observe_fixed(u64 value)
{
	struct hist_key key = { .bucket = FIXED_LAST_KEY };

	if (value <= 1)
		key.bucket = 1;
	else if (value <= 10)
		key.bucket = 10;
	else if (value <= 100)
		key.bucket = 100;
	increment_map(&test_value_fixed, &key, 1);
	if (value > 0) {
		key.bucket = FIXED_LAST_KEY + 1;
		increment_map(&test_value_fixed, &key, value);
	}
}

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(elx_test_hit, u64 value, u64 owner)
{
	struct hist_key key = {};
	u32 zero = 0;

	if (!elx_owned(owner))
		return 0;

	increment_map(&test_hits_total, &zero, 1);
	increment_map(&test_hits_by_value_total, &value, 1);
	increment_map_nosync(&test_hits_percpu_total, &zero, 1);
	increment_map_nosync(&test_hits_percpu_summed_total, &zero, 1);

	increment_exp2_histogram(&test_value_exp2, key, value, EXP2_MAX_BUCKET);
	increment_exp2zero_histogram(&test_value_exp2zero, key, value, EXP2_MAX_BUCKET);
	observe_linear(value);
	observe_fixed(value);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
