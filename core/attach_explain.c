/* Attach failures come back as bare errnos: ENOENT for a kprobe on a kernel
 * without kprobes, for a missing tracepoint and for a missing binary alike.
 * What the machine has is looked at here, once a failure has happened. */
#define _GNU_SOURCE
#include "attach_explain.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const TRACEFS[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int in_tracefs(const char *file)
{
	char path[512];

	for (size_t i = 0; i < sizeof(TRACEFS) / sizeof(TRACEFS[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", TRACEFS[i], file);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

static char *kprobe_hint(void)
{
	if (in_tracefs("kprobe_events"))
		return NULL;
	return strdup("this kernel has no kprobes: there is no kprobe_events in tracefs (it was "
		      "built without CONFIG_KPROBES)");
}

static char *tracepoint_hint(const char *spec)
{
	char *hint = NULL, event[256];

	if (!in_tracefs("events"))
		return strdup("tracefs is not mounted at /sys/kernel/tracing");
	snprintf(event, sizeof(event), "events/%s", spec);
	if (!in_tracefs(event) && asprintf(&hint, "this kernel has no tracepoint %s", spec) < 0)
		hint = NULL;
	return hint;
}

static char *hardware_hint(const char *spec)
{
	/* PERF_TYPE_HARDWARE is 0, PERF_TYPE_HW_CACHE 3. */
	if (!has_prefix(spec, "type=0,") && !has_prefix(spec, "type=3,"))
		return NULL;
	if (access("/sys/bus/event_source/devices/cpu", F_OK) == 0)
		return NULL;
	return strdup("this machine has no hardware counters: no cpu PMU in "
		      "/sys/bus/event_source/devices (virtual machines often have none)");
}

/* The binary of "uprobe/<binary>:<function>" or "usdt/<binary>:<provider>:<name>",
 * found on PATH as libbpf finds a name without a slash. */
static int find_binary(const char *spec, char *path, size_t size)
{
	size_t len = strcspn(spec, ":");
	char name[256], *dirs, *save = NULL;

	snprintf(name, sizeof(name), "%.*s", (int)len, spec);
	if (strchr(name, '/')) {
		snprintf(path, size, "%s", name);
		return access(path, F_OK) == 0;
	}
	dirs = strdup(getenv("PATH") ? getenv("PATH") : "");
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, size, "%s/%s", d, name);
		if (access(path, F_OK) == 0) {
			free(dirs);
			return 1;
		}
	}
	free(dirs);
	snprintf(path, size, "%s", name);
	return 0;
}

static char *binary_hint(const char *spec)
{
	char path[512], head[2] = { 0 }, *hint = NULL;
	FILE *f;

	if (!find_binary(spec, path, sizeof(path))) {
		if (asprintf(&hint, "no binary %s to probe", path) < 0)
			hint = NULL;
		return hint;
	}
	f = fopen(path, "re");
	if (f && fread(head, 1, 2, f) == 2 && head[0] == '#' && head[1] == '!' &&
	    asprintf(&hint,
		     "%s is a script, not an ELF binary%s: name the interpreter's own binary "
		     "(for Python, /usr/bin/python3.11)",
		     path, strstr(path, "/shims/") ? " (a pyenv shim)" : "") < 0)
		hint = NULL;
	if (f)
		fclose(f);
	return hint;
}

char *elx_attach_explain(const char *section, int ret)
{
	const char *spec = strchr(section, '/');

	spec = spec ? spec + 1 : "";
	if (has_prefix(section, "kprobe") || has_prefix(section, "kretprobe") ||
	    has_prefix(section, "ksyscall") || has_prefix(section, "kretsyscall"))
		return kprobe_hint();
	if (has_prefix(section, "tracepoint/") || has_prefix(section, "tp/"))
		return tracepoint_hint(spec);
	if (has_prefix(section, "perf_event/"))
		return hardware_hint(spec);
	if (has_prefix(section, "uprobe") || has_prefix(section, "uretprobe") ||
	    has_prefix(section, "usdt"))
		return binary_hint(spec);
	(void)ret;
	return NULL;
}

/* Whether this kernel loads an fentry program on `func`: the question asked
 * directly, with a two-instruction program. A kernel without BPF trampolines
 * answers EPERM (or ENOTSUPP); an unknown or untraceable function is left
 * for libbpf to report. */
static int fentry_loads(const char *func)
{
	struct bpf_insn insns[2] = { { .code = BPF_ALU64 | BPF_MOV | BPF_K },
				     { .code = BPF_JMP | BPF_EXIT } };
	struct btf *btf = btf__load_vmlinux_btf();
	int id = btf ? btf__find_by_name_kind(btf, func, BTF_KIND_FUNC) : -1;
	int fd, err;

	btf__free(btf);
	if (id < 0)
		return 1;
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = (__u32)id);
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	err = errno;
	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return !(err == EPERM || err == EOPNOTSUPP || err == 524 /* ENOTSUPP */);
}

const char *elx_attach_unsupported(const char *section)
{
	static const char *const prefixes[] = { "fentry/",   "fexit/",	 "fmod_ret/",
						"fentry.s/", "fexit.s/", "fmod_ret.s/" };

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		if (has_prefix(section, prefixes[i]) &&
		    !fentry_loads(section + strlen(prefixes[i])))
			return "this kernel cannot run fentry/fexit programs: it refuses to load "
			       "one (it has no BPF trampolines)";
	}
	return NULL;
}
