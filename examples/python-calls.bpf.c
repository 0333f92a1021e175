/* Python function calls by process and function name, from the
 * python:function__entry USDT probe of Debian's /usr/bin/python3.11,
 * attached per process by the config's targets to the Python processes
 * they select, those started after the exporter included (see usdt.bpf.c
 * for the same probe on every Python process at once).
 *
 * Python 3.11 fires function__entry only while a profile or trace function
 * is set (sys.setprofile, sys.settrace): other calls are not counted.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
/* A USDT attach takes a spec slot per process: room for 1024 processes. */
#define BPF_USDT_MAX_SPEC_CNT 1024
#include <bpf/usdt.bpf.h>
#include "maps.bpf.h"

#define NAME_LEN 64

/* The process id twice: for the labels pid and command. */
struct call_key {
	u32 pid;
	u32 command;
	char function[NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct call_key);
	__type(value, u64);
} python_process_calls_total SEC(".maps");

SEC("usdt//usr/bin/python3.11:python:function__entry")
int BPF_USDT(python_call, const char *filename, const char *funcname, int lineno)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct call_key key;

	/* Hash keys compare every byte: zero what the name leaves. */
	__builtin_memset(&key, 0, sizeof(key));
	key.pid = tgid;
	key.command = tgid;
	bpf_probe_read_user_str(key.function, sizeof(key.function), funcname);
	increment_map(&python_process_calls_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
