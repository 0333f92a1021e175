/* Per-process attachment of uprobe, uretprobe and USDT programs. Each attach
 * opens the file the process itself runs (core/proc_pid.c) once, and both
 * the offset (core/elf_func.c, or libbpf's USDT notes) and the kernel's
 * probe come from that one open file, through /proc/self/fd/N: the probe can
 * never land in another build of the binary than the one the offset was
 * read from, even when the process execs or the file is replaced between
 * the two. */
#define _GNU_SOURCE
#include "targets.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link_closer.h"
#include "log.h"
#include "object.h"
#include "proc_pid.h"

/* ------------------------------------------------------------ SEC() names */

/* "uprobe/<path>:<function>[+<offset>]" and "usdt/<path>:<provider>:<name>",
 * as libbpf writes them; rest is what follows the kind's "/". */
static int parse_uprobe(struct elx_target_program *p, const char *rest, char **err)
{
	const char *colon = strchr(rest, ':'), *plus;
	char *end;

	if (!colon || colon == rest || !colon[1])
		return elx_errorf(err, -EINVAL, "names no <binary>:<function>");
	p->path = strndup(rest, (size_t)(colon - rest));
	plus = strchr(colon + 1, '+');
	p->func = strndup(colon + 1, plus ? (size_t)(plus - colon - 1) : strlen(colon + 1));
	if (!p->path || !p->func)
		return elx_errorf(err, -ENOMEM, "out of memory");
	/* An address is right for one build of a binary only. */
	if (p->func[0] >= '0' && p->func[0] <= '9')
		return elx_errorf(err, -EINVAL,
				  "names an address, not a function: targets probe by name, "
				  "whatever build of the binary a process runs");
	if (plus) {
		errno = 0;
		p->delta = strtoull(plus + 1, &end, 0);
		if (errno || *end || plus[1] == '\0')
			return elx_errorf(err, -EINVAL, "\"%s\" is not an offset", plus + 1);
	}
	return 0;
}

static int parse_usdt(struct elx_target_program *p, const char *rest, char **err)
{
	const char *a = strchr(rest, ':'), *b = a ? strchr(a + 1, ':') : NULL;

	if (!a || !b || a == rest || b == a + 1 || !b[1])
		return elx_errorf(err, -EINVAL, "names no <binary>:<provider>:<name>");
	p->path = strndup(rest, (size_t)(a - rest));
	p->provider = strndup(a + 1, (size_t)(b - a - 1));
	p->name = strdup(b + 1);
	if (!p->path || !p->provider || !p->name)
		return elx_errorf(err, -ENOMEM, "out of memory");
	return 0;
}

static const struct {
	const char *prefix;
	enum elx_target_kind kind;
} kinds[] = {
	{ "uprobe/", ELX_TARGET_UPROBE },	{ "uprobe.s/", ELX_TARGET_UPROBE },
	{ "uretprobe/", ELX_TARGET_URETPROBE }, { "uretprobe.s/", ELX_TARGET_URETPROBE },
	{ "usdt/", ELX_TARGET_USDT },
};

static int parse_section(struct elx_target_program *p, const char *sec, char **err)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t len = strlen(kinds[i].prefix);

		if (strncmp(sec, kinds[i].prefix, len) != 0)
			continue;
		p->kind = kinds[i].kind;
		return p->kind == ELX_TARGET_USDT ? parse_usdt(p, sec + len, err)
						  : parse_uprobe(p, sec + len, err);
	}
	return elx_errorf(err, -EINVAL, "is not a uprobe, uretprobe or usdt program");
}

/* ------------------------------------------------------------ setup */

static char *signature_of(char *const *programs, size_t n)
{
	size_t len = 1;
	char *sig;

	for (size_t i = 0; i < n; i++)
		len += strlen(programs[i]) + 1;
	sig = calloc(1, len);
	for (size_t i = 0; sig && i < n; i++) {
		strcat(sig, programs[i]);
		strcat(sig, ",");
	}
	return sig;
}

static size_t program_index(struct elx_object *o, const struct bpf_program *prog)
{
	struct bpf_program *p;
	size_t i = 0;

	bpf_object__for_each_program(p, o->obj)
	{
		if (p == prog)
			return i;
		i++;
	}
	return i;
}

static int add_program(struct elx_object *o, struct elx_targets *t, const char *name, char **err)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(o->obj, name);
	struct elx_target_program *p = &t->programs[t->nprograms];
	char *why = NULL;
	int ret;

	if (!prog)
		return elx_errorf(err, -ENOENT, "%s.yaml: targets: no program %s in %s", o->name,
				  name, o->path);
	t->nprograms++;
	p->prog = prog;
	p->index = program_index(o, prog);
	ret = parse_section(p, bpf_program__section_name(prog), &why);
	if (ret) {
		elx_errorf(err, ret, "%s.yaml: targets: program %s: SEC(\"%s\") %s", o->name, name,
			   bpf_program__section_name(prog), why ? why : "");
		free(why);
	}
	return ret;
}

int elx_targets_new(struct elx_object *o, char *const *programs, size_t n, char **err)
{
	struct elx_targets *t;
	int ret = 0;

	if (!n)
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->programs = calloc(n, sizeof(*t->programs))) ||
	    !(t->signature = signature_of(programs, n))) {
		elx_targets_free(t);
		return elx_errorf(err, -ENOMEM, "out of memory");
	}
	o->targets = t;
	for (size_t i = 0; !ret && i < n; i++)
		ret = add_program(o, t, programs[i], err);
	return ret;
}

int elx_targets_differ(const struct elx_object *o, char *const *programs, size_t n)
{
	char *sig;
	int differ;

	if (!o->targets)
		return n > 0;
	sig = signature_of(programs, n);
	differ = !sig || strcmp(sig, o->targets->signature) != 0;
	free(sig);
	return differ;
}

static void free_fields(struct elx_targets *t)
{
	for (size_t i = 0; i < t->nfields; i++)
		free(t->fields[i].map);
	free(t->fields);
	t->fields = NULL;
	t->nfields = 0;
}

int elx_targets_configure(struct elx_targets *t, uint64_t grace_ms,
			  const struct elx_metric_map *maps, size_t nmaps)
{
	free_fields(t);
	t->grace_ms = grace_ms;
	t->fields = calloc(nmaps + 1, sizeof(*t->fields));
	if (!t->fields)
		return -ENOMEM;
	for (size_t i = 0; i < nmaps; i++) {
		struct elx_pid_field *f = &t->fields[t->nfields];

		if (!maps[i].pid_size || maps[i].record_size)
			continue;
		f->map = strdup(maps[i].name);
		if (!f->map)
			return -ENOMEM;
		f->offset = maps[i].pid_offset;
		f->size = maps[i].pid_size;
		t->nfields++;
	}
	return 0;
}

struct elx_target_program *elx_targets_program_at(struct elx_targets *t, size_t index)
{
	for (size_t i = 0; t && i < t->nprograms; i++) {
		if (t->programs[i].index == index)
			return &t->programs[i];
	}
	return NULL;
}

/* ------------------------------------------------------------ exits */

static void schedule_exit(struct elx_targets *t, uint32_t pid, uint64_t started, uint64_t now_ms)
{
	struct elx_target_exit *grown;

	if (!t->nfields)
		return; /* no key holds a pid: nothing to delete */
	for (size_t i = 0; i < t->nexits; i++) {
		if (t->exits[i].pid == pid)
			return;
	}
	if (t->nexits == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;

		grown = realloc(t->exits, cap * sizeof(*grown));
		if (!grown)
			return; /* its keys stay: series outlive it, no harm done */
		t->exits = grown;
		t->cap = cap;
	}
	t->exits[t->nexits++] = (struct elx_target_exit){ .pid = pid,
							  .started = started,
							  .due_ms = now_ms + t->grace_ms };
}

int elx_targets_next_purge(const struct elx_targets *t, uint64_t *due_ms)
{
	if (!t || !t->nexits)
		return 0;
	*due_ms = t->exits[0].due_ms;
	for (size_t i = 1; i < t->nexits; i++) {
		if (t->exits[i].due_ms < *due_ms)
			*due_ms = t->exits[i].due_ms;
	}
	return 1;
}

/* ------------------------------------------------------------ links */

/* The kernel's teardown of the probe is the closer thread's. */
static void remove_link(const struct elx_targets *t, struct elx_target_program *p, size_t i)
{
	elx_link_closer_destroy(p->links[i].link, p->kind == ELX_TARGET_USDT, t);
	p->links[i] = p->links[--p->nlinks];
}

static struct elx_target_link *link_of(struct elx_target_program *p, uint32_t pid)
{
	for (size_t i = 0; i < p->nlinks; i++) {
		if (p->links[i].pid == pid)
			return &p->links[i];
	}
	return NULL;
}

size_t elx_targets_detach(struct elx_object *o, uint32_t pid, uint64_t now_ms)
{
	struct elx_targets *t = o->targets;
	uint64_t started = 0;
	size_t gone = 0;

	for (size_t i = 0; t && i < t->nprograms; i++) {
		struct elx_target_program *p = &t->programs[i];
		struct elx_target_link *l = link_of(p, pid);

		if (!l)
			continue;
		started = l->started;
		remove_link(t, p, (size_t)(l - p->links));
		gone++;
	}
	if (gone) {
		log_debug("config %s: detached %zu program(s) from process %u", o->name, gone, pid);
		schedule_exit(t, pid, started, now_ms);
	}
	return gone;
}

int elx_targets_has(const struct elx_targets *t, uint32_t pid)
{
	for (size_t i = 0; t && i < t->nprograms; i++) {
		if (link_of(&t->programs[i], pid))
			return 1;
	}
	return 0;
}

void elx_targets_unmark(struct elx_targets *t)
{
	for (size_t i = 0; t && i < t->nprograms; i++) {
		for (size_t j = 0; j < t->programs[i].nlinks; j++)
			t->programs[i].links[j].marked = 0;
	}
}

size_t elx_targets_sweep(struct elx_object *o, uint64_t now_ms)
{
	struct elx_targets *t = o->targets;
	size_t gone = 0;

	for (size_t i = 0; t && i < t->nprograms; i++) {
		struct elx_target_program *p = &t->programs[i];

		for (size_t j = p->nlinks; j-- > 0;) {
			if (p->links[j].marked)
				continue;
			log_debug("config %s: program %s: process %u is no longer a target",
				  o->name, bpf_program__name(p->prog), p->links[j].pid);
			schedule_exit(t, p->links[j].pid, p->links[j].started, now_ms);
			remove_link(t, p, j);
			gone++;
		}
	}
	return gone;
}

static int is_present(uint32_t pid, const uint32_t *present, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (present[mid] == pid)
			return 1;
		if (present[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

size_t elx_targets_drop_stale(struct elx_object *o, const uint32_t *present, size_t n,
			      uint64_t now_ms)
{
	struct elx_targets *t = o->targets;
	size_t gone = 0;

	for (size_t i = 0; t && i < t->nprograms; i++) {
		struct elx_target_program *p = &t->programs[i];

		for (size_t j = p->nlinks; j-- > 0;) {
			struct elx_target_link *l = &p->links[j];
			uint64_t started;

			if (is_present(l->pid, present, n) &&
			    elx_proc_start_time(l->pid, &started) == 0 && started == l->started)
				continue;
			log_debug("config %s: process %u is gone (its exit was not seen)", o->name,
				  l->pid);
			schedule_exit(t, l->pid, l->started, now_ms);
			remove_link(t, p, j);
			gone++;
		}
	}
	return gone;
}

void elx_targets_publish(struct elx_object *o)
{
	struct elx_targets *t = o->targets;

	for (size_t i = 0; t && i < t->nprograms; i++) {
		struct elx_target_program *p = &t->programs[i];
		struct elx_program *stats = &o->programs[p->index];

		if (p->index >= o->nprograms)
			continue;
		stats->targeted = 1;
		stats->attached_processes = (uint32_t)p->nlinks;
		stats->attached = p->nlinks > 0;
		stats->target_attach_errors = p->errors;
	}
}

void elx_targets_free(struct elx_targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; t->programs && i < t->nprograms; i++) {
		struct elx_target_program *p = &t->programs[i];

		while (p->nlinks)
			remove_link(t, p, p->nlinks - 1);
		free(p->links);
		free(p->path);
		free(p->func);
		free(p->provider);
		free(p->name);
	}
	/* USDT links use their object's USDT state until destroyed. */
	elx_link_closer_drain(t);
	free_fields(t);
	free(t->programs);
	free(t->signature);
	free(t->exits);
	free(t);
}
