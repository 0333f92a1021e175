/* Process discovery for targets: execs, process forks and exits, sent to the
 * exporter through a ring buffer (core/process_watch.c reads it on the loop).
 *
 * Every exec is sent: which processes match a selector is Lua's to decide.
 * Exits are sent only for processes the exporter watches (it has links in
 * them), and forks only when the parent is watched or some selector needs
 * every process's parent (parent_comm), so that a busy machine's shell
 * scripts cost the exporter nothing.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EVENT_EXEC 2
#define EVENT_FORK 3
#define EVENT_EXIT 4

/* Mirrored by struct watch_event in core/process_watch.c. */
struct event {
	u32 change;
	u32 pid; /* the process (thread group) id */
	u32 ppid;
	u32 reserved;
	char comm[16];
	char parent_comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* Processes the exporter has links in: their exits and forks matter. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u8);
} watched SEC(".maps");

/* Set by the exporter: send every fork, not only watched parents'. */
__u32 all_forks = 0;
/* Events the ring buffer had no room for: the exporter rescans /proc. */
__u64 lost = 0;

static __always_inline void send(u32 change, struct task_struct *task, struct task_struct *parent)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	e->change = change;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(parent, tgid);
	e->reserved = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	BPF_CORE_READ_STR_INTO(&e->parent_comm, parent, comm);
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	send(EVENT_EXEC, task, BPF_CORE_READ(task, real_parent));
	return 0;
}

/* Threads are no new processes: only a child that leads its own group. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 ptgid = BPF_CORE_READ(parent, tgid);

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	if (!all_forks && !bpf_map_lookup_elem(&watched, &ptgid))
		return 0;
	send(EVENT_FORK, child, parent);
	return 0;
}

/* Fires for every thread; the process is gone with its last one, when the
 * group's live count (decremented before this tracepoint) reaches zero. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(process_exit, struct task_struct *task)
{
	u32 tgid = BPF_CORE_READ(task, tgid);

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!bpf_map_lookup_elem(&watched, &tgid))
		return 0;
	send(EVENT_EXIT, task, BPF_CORE_READ(task, real_parent));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
