/* Counts task migrations between CPUs by the cgroup v2 id of the migrated
 * task; the exporter turns each id into the cgroup's path with the cgroup
 * decoder.
 */
#include <vmlinux.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

/* One entry per cgroup that ever had a task migrated; ids of deleted cgroups
 * stay until the map is full, then new cgroups go uncounted.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, u64);
} cgroup_sched_migrations_total SEC(".maps");

/* The migrated task, not the current one: a running task is moved by the
 * stopper thread (migration/N), whose cgroup is the root. The default
 * hierarchy's kernfs id is what bpf_get_current_cgroup_id() returns for a
 * task of that cgroup.
 */
SEC("tp_btf/sched_migrate_task")
int BPF_PROG(sched_migrate_task, struct task_struct *p)
{
	u64 cgroup_id = BPF_CORE_READ(p, cgroups, dfl_cgrp, kn, id);

	increment_map(&cgroup_sched_migrations_total, &cgroup_id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
