/* Test object for cgroup_id_map: elx_test_hit() calls count only from
 * cgroups the exporter put in the maps, one map of each kind: a hash of
 * cgroup ids, and cgroup storage. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "elx_owner.bpf.h"

#define ELX_STR_(x) #x
#define ELX_STR(x)  ELX_STR_(x)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} allowed_cgroup_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, u64);
} allowed_cgroup_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} cgroup_map_hash_hits_total SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);
	__type(value, u64);
} cgroup_map_storage_hits_total SEC(".maps");

SEC("uprobe/" ELX_STR(ELX_TEST_TARGET) ":elx_test_hit")
int BPF_KPROBE(count_allowed, u64 value, u64 owner)
{
	u64 id = bpf_get_current_cgroup_id();
	struct task_struct *task = bpf_get_current_task_btf();

	if (!elx_owned(owner))
		return 0;
	if (bpf_map_lookup_elem(&allowed_cgroup_ids, &id))
		increment_map(&cgroup_map_hash_hits_total, &id, 1);
	if (bpf_cgrp_storage_get(&allowed_cgroup_storage, task->cgroups->dfl_cgrp, 0, 0))
		increment_map(&cgroup_map_storage_hits_total, &id, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
