/* Test object for the targets specs: elx_targets_hit() of elx-targets-target,
 * counted per process. SEC() names "/proc/self/exe": with targets, each
 * process's own executable. The key holds the process id twice, once for
 * the pid label and once for the command label (pid_command). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct process_key {
	u32 pid;
	u32 command;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct process_key);
	__type(value, u64);
} targets_hits_total SEC(".maps");

/* Returns, by process: a uretprobe on the same function. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct process_key);
	__type(value, u64);
} targets_returns_total SEC(".maps");

static __always_inline struct process_key this_process(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct process_key key = { .pid = tgid, .command = tgid };

	return key;
}

SEC("uprobe//proc/self/exe:elx_targets_hit")
int BPF_KPROBE(targets_hit)
{
	struct process_key key = this_process();

	increment_map(&targets_hits_total, &key, 1);
	return 0;
}

SEC("uretprobe//proc/self/exe:elx_targets_hit")
int BPF_KRETPROBE(targets_return)
{
	struct process_key key = this_process();

	increment_map(&targets_returns_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
