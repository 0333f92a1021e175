/* Counts Python function calls by file and function name, from the
 * python:function__entry USDT probe of Debian's python3.11 (see
 * https://docs.python.org/3/howto/instrumentation.html). libbpf attaches it
 * in every process running that binary, now and later, and sets the probe's
 * semaphore, which makes the interpreter fire it.
 *
 * Python 3.11 fires function__entry only from its tracing path: for calls
 * made while a profile or trace function is set (sys.setprofile,
 * sys.settrace, as profilers and debuggers do), and for generator throw().
 * Other calls are not counted.
 */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/usdt.bpf.h>
#include "maps.bpf.h"

/* Longer names are cut to 127 bytes plus the NUL: one series may then hold
 * several files or functions that share the first 127 bytes.
 */
#define NAME_LEN 128

struct python_call_key {
	char module[NAME_LEN];
	char function[NAME_LEN];
};

/* One series per function ever called: a busy interpreter calls thousands.
 * Once the map is full new functions go uncounted while known ones count.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct python_call_key);
	__type(value, u64);
} python_function_entries_total SEC(".maps");

/* The probe's arguments: the code object's file name, the function name (both
 * C strings in the interpreter's memory) and the line number.
 */
SEC("usdt//usr/bin/python3.11:python:function__entry")
int BPF_USDT(python_function_entry, const char *filename, const char *funcname, int lineno)
{
	struct python_call_key key;

	/* Hash keys compare every byte: zero what the strings leave. */
	__builtin_memset(&key, 0, sizeof(key));
	bpf_probe_read_user_str(key.module, sizeof(key.module), filename);
	bpf_probe_read_user_str(key.function, sizeof(key.function), funcname);
	increment_map(&python_function_entries_total, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
