/* Counts exits of tasks (processes and threads) by command name. The
 * exporter's regexp decoder turns the names into labels and drops the names
 * none of its patterns match (see regexp.yaml).
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* The name as the kernel keeps it: at most 15 bytes and a NUL. */
struct command_key {
	char comm[TASK_COMM_LEN];
};

/* A busy machine runs a few hundred distinct commands; once the map is full
 * new names go uncounted while known ones keep counting. Dropping names in
 * the exporter does not save map entries: the kernel side counts them all.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct command_key);
	__type(value, u64);
} task_exits_total SEC(".maps");

/* The exiting task is current, so its name is current's. The tracepoint's
 * arguments changed over kernel versions (6.x added group_dead) and none is
 * needed, so none is declared.
 */
SEC("tp_btf/sched_process_exit")
int sched_process_exit(void *ctx)
{
	struct command_key key;

	/* Hash keys compare every byte: none may be left uninitialised. */
	__builtin_memset(&key, 0, sizeof(key));
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	increment_map(&task_exits_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
