/* Counts syscalls by number, and failed syscalls by number and errno. The
 * exporter names the numbers with the syscall and errno decoders.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* Syscall entry runs on every CPU all the time: per-CPU maps let each CPU add
 * without atomics or shared cache lines; the exporter sums the CPUs because
 * the YAML has no cpu label. Per-CPU hashes preallocate max_entries values per
 * CPU, so the sizes stay modest: x86_64 has under 512 syscall numbers.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} syscalls_total SEC(".maps");

struct syscall_failure_key {
	u32 syscall;
	u32 errno;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 2048);
	__type(key, struct syscall_failure_key);
	__type(value, u64);
} syscall_failures_total SEC(".maps");

/* The largest errno the kernel returns from a syscall (MAX_ERRNO): values in
 * [-4095, -1] are errors, anything more negative is a real result (an lseek
 * offset on a device, say) that only looks negative as a long. The tracepoint
 * fires before signal handling, so a syscall interrupted by a signal shows the
 * kernel-internal restart codes 512-516 (ERESTARTSYS...) rather than EINTR.
 */
#define ELX_MAX_ERRNO 4095

/* The classic tracepoints rather than tp_btf: their records carry the
 * syscall number itself, while the raw tracepoints only pass pt_regs and the
 * number would have to be dug out per architecture.
 *
 * Syscalls are counted as they enter, as ebpf_exporter's example does: exit
 * and exit_group never return, so an exit tracepoint would never see them.
 */
SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	u32 syscall = ctx->id;

	/* id is -1 when there is no syscall to run, for example when seccomp
	 * or a ptracer cancelled it by setting the number to -1.
	 */
	if (ctx->id < 0)
		return 0;
	increment_map_nosync(&syscalls_total, &syscall, 1);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct syscall_failure_key failure = {};
	long ret = ctx->ret;

	if (ctx->id < 0 || ret >= 0 || ret < -ELX_MAX_ERRNO)
		return 0;
	failure.syscall = ctx->id;
	failure.errno = -ret;
	increment_map_nosync(&syscall_failures_total, &failure, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
