/* A gauge: the tasks (processes and threads) alive now, by command, among
 * those started since the exporter attached. A task counts from its fork
 * under its command, moves when it takes another name (exec, prctl) and
 * stops counting when it exits. Tasks that were running before attach were
 * never counted, so they are never taken off either: each counted task
 * carries the name it counts under in task storage, and only tasks that
 * carry one are moved or taken off.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct command_key {
	char comm[TASK_COMM_LEN];
};

/* s64, as the YAML says (value_type: s64): a count that goes up and down
 * would read 2^64 - 1, not -1, if it ever went below zero. Entries that
 * reach 0 stay (and export 0): deleting one could lose an increment that
 * another CPU makes at the same time. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct command_key);
	__type(value, s64);
} tasks_alive SEC(".maps");

/* The name a counted task counts under. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct command_key);
} counted_as SEC(".maps");

static __always_inline void add(const struct command_key *key, s64 n)
{
	s64 *count = bpf_map_lookup_elem(&tasks_alive, key);

	if (!count) {
		s64 zero = 0;

		bpf_map_update_elem(&tasks_alive, key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&tasks_alive, key);
		if (!count)
			return; /* the map is full */
	}
	__sync_fetch_and_add(count, n);
}

/* The child has its parent's name until it execs. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(task_fork, struct task_struct *parent, struct task_struct *child)
{
	struct command_key *key;

	key = bpf_task_storage_get(&counted_as, child, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!key)
		return 0;
	bpf_probe_read_kernel_str(key->comm, sizeof(key->comm), child->comm);
	add(key, 1);
	return 0;
}

/* exec and prctl(PR_SET_NAME) both rename through __set_task_comm. */
SEC("tp_btf/task_rename")
int BPF_PROG(task_rename, struct task_struct *task, const char *comm)
{
	struct command_key *key = bpf_task_storage_get(&counted_as, task, 0, 0);

	if (!key)
		return 0;
	add(key, -1);
	__builtin_memset(key->comm, 0, sizeof(key->comm));
	bpf_probe_read_kernel_str(key->comm, sizeof(key->comm), comm);
	add(key, 1);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int task_exit(void *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct command_key *key = bpf_task_storage_get(&counted_as, task, 0, 0);

	if (!key)
		return 0;
	add(key, -1);
	bpf_task_storage_delete(&counted_as, task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
