/* Counts the jobs each elx-worker process runs (examples/worker.c): a
 * uprobe on its run_job(), attached per process by the config's targets,
 * to the processes named elx-worker, those started after the exporter
 * included. "/proc/self/exe" in SEC() stands for each process's own
 * executable, wherever it was installed from.
 *
 * The key holds the process id twice, once for each of the labels pid and
 * command (the pid_command decoder names the process, also after it exited).
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

struct process_key {
	u32 pid;
	u32 command;
};

/* One series per worker process; an exited worker's series are deleted
 * after the config's grace period, so the map holds the live ones. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct process_key);
	__type(value, u64);
} worker_jobs_total SEC(".maps");

SEC("uprobe//proc/self/exe:run_job")
int BPF_KPROBE(run_job)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct process_key key = { .pid = tgid, .command = tgid };

	increment_map(&worker_jobs_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
