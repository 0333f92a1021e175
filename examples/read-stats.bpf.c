/* Struct values: one map whose value is a struct gives several metrics,
 * each field its own family (see read-stats.yaml). read(2) calls by command
 * and file descriptor: how many, the bytes they read, how many failed, and
 * what the last one returned.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct read_key {
	char comm[TASK_COMM_LEN];
	u32 fd;
};

/* The exporter checks the YAML's offsets and sizes against this type's
 * BTF: a field that does not fall on a member is an error at start. */
struct read_stats {
	u64 calls;
	u64 bytes;
	u64 errors;
	s64 last; /* bytes read, or -errno */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct read_key);
	__type(value, struct read_stats);
} read_stats SEC(".maps");

/* The fd of each thread's read under way, from entry to exit. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u32);
} reads_started SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_read")
int read_enter(struct trace_event_raw_sys_enter *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u32 fd = ctx->args[0];

	bpf_map_update_elem(&reads_started, &tid, &fd, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int read_exit(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u32 *fd = bpf_map_lookup_elem(&reads_started, &tid);
	struct read_key key;
	struct read_stats *stats, zero = {};
	long ret = ctx->ret;

	if (!fd)
		return 0;
	__builtin_memset(&key, 0, sizeof(key));
	key.fd = *fd;
	bpf_map_delete_elem(&reads_started, &tid);
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	stats = bpf_map_lookup_elem(&read_stats, &key);
	if (!stats) {
		bpf_map_update_elem(&read_stats, &key, &zero, BPF_NOEXIST);
		stats = bpf_map_lookup_elem(&read_stats, &key);
		if (!stats)
			return 0;
	}
	__sync_fetch_and_add(&stats->calls, 1);
	if (ret >= 0)
		__sync_fetch_and_add(&stats->bytes, ret);
	else
		__sync_fetch_and_add(&stats->errors, 1);
	stats->last = ret;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
