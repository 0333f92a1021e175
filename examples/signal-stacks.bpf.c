/* Counts generated signals by sending process, signal number and the
 * kernel stack that generated them (kill(2), a pipe write raising SIGPIPE, a
 * child's exit raising SIGCHLD...); the exporter names the frames with the
 * kstack decoder.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"

/* Deep enough to reach the syscall entry from the signal code; frames past
 * it would only make more distinct keys.
 */
#define MAX_STACK_DEPTH 16

/* The explicit pad keeps the stack 8-byte aligned with no hole the compiler
 * might leave uninitialised: hash keys compare every byte.
 */
struct signal_stack_key {
	char comm[TASK_COMM_LEN];
	u32 sig;
	u32 pad;
	u64 stack[MAX_STACK_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct signal_stack_key);
	__type(value, u64);
} signal_stacks_total SEC(".maps");

/* The classic tracepoint: the kernel hands it the registers of the code that
 * fired it, so the stack starts at that caller rather than in the BPF
 * trampolines a raw_tp or tp_btf program would see first.
 */
SEC("tracepoint/signal/signal_generate")
int signal_generate(struct trace_event_raw_signal_generate *args)
{
	struct signal_stack_key key;

	__builtin_memset(&key, 0, sizeof(key));
	/* The sender: args->comm is the target's name. */
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.sig = args->sig;
	/* On failure the helper zeroes the buffer: the signal still counts,
	 * under an empty stack.
	 */
	bpf_get_stack(args, key.stack, sizeof(key.stack), 0);
	increment_map(&signal_stacks_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
