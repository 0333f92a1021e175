/* Attaching one targeted program to one process with libbpf's pid-specific
 * uprobe and USDT attach. The kernel filters such a probe by the process's
 * memory, so every thread of the process fires it, and no other process. */
#define _GNU_SOURCE
#include "targets.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_func.h"
#include "libbpf_log.h"
#include "link_closer.h"
#include "log.h"
#include "object.h"
#include "proc_pid.h"

/* One open file is what both the offset and the kernel's probe come from:
 * the kernel resolves /proc/self/fd/N to the file open on our fd N. */
static int attach_in_file(struct elx_target_program *p, uint32_t pid, int fd,
			  struct bpf_link **link, char **err)
{
	char path[64];
	uint64_t offset;
	int ret;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	elx_libbpf_reason_clear();
	if (p->kind == ELX_TARGET_USDT) {
		elx_link_closer_lock_usdt();
		*link =
		    bpf_program__attach_usdt(p->prog, (pid_t)pid, path, p->provider, p->name, NULL);
		ret = -errno;
		elx_link_closer_unlock_usdt();
		errno = -ret;
	} else {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = p->kind == ELX_TARGET_URETPROBE);

		ret = elx_elf_func_offset(fd, p->func, &offset, err);
		if (ret)
			return ret;
		*link = bpf_program__attach_uprobe_opts(p->prog, (pid_t)pid, path,
							offset + p->delta, &opts);
	}
	if (*link)
		return 0;
	ret = -errno;
	return elx_errorf(err, ret, "%s", elx_libbpf_why(ret));
}

static int add_link(struct elx_target_program *p, const struct elx_target_link *l)
{
	if (p->nlinks == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 8;
		struct elx_target_link *grown = realloc(p->links, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->links = grown;
		p->cap = cap;
	}
	p->links[p->nlinks++] = *l;
	return 0;
}

/* A failure is said once per attempt, and attempts come only with an exec
 * (or a reload): a process that cannot be probed is not tried again and
 * again. */
static int failed(struct elx_object *o, struct elx_target_program *p, uint32_t pid, int ret,
		  char *err)
{
	uint64_t started;
	char comm[32];

	/* A process that exited before it could be probed is no failure. */
	if (elx_proc_start_time(pid, &started) == -ENOENT) {
		log_debug("config %s: program %s: process %u exited before it was attached",
			  o->name, bpf_program__name(p->prog), pid);
		free(err);
		return -ESRCH;
	}
	elx_proc_comm(pid, comm, sizeof(comm));
	p->errors++;
	log_warn("config %s: program %s: attaching to process %u (%s) failed: %s", o->name,
		 bpf_program__name(p->prog), pid, comm, err ? err : strerror(-ret));
	free(err);
	return ret;
}

/* What was waiting for the grace period under this pid: the same process
 * (it exec'd) keeps its keys; another one's keys go now. */
static void settle_exit(struct elx_object *o, uint32_t pid, uint64_t started, int *purged)
{
	struct elx_targets *t = o->targets;
	uint32_t gone;

	for (size_t i = 0; i < t->nexits; i++) {
		if (t->exits[i].pid != pid)
			continue;
		if (t->exits[i].started == started)
			t->exits[i] = t->exits[--t->nexits];
		else
			*purged = elx_targets_purge(o, 0, pid, &gone, 1) > 0;
		return;
	}
}

/* The link the process has already: kept when in the same process (its
 * start time) and file, else gone. */
static int existing(const struct elx_targets *t, struct elx_target_program *p,
		    const struct elx_target_link *want, const struct stat *st)
{
	for (size_t i = 0; i < p->nlinks; i++) {
		struct elx_target_link *l = &p->links[i];

		if (l->pid != want->pid)
			continue;
		if (l->started == want->started && l->dev == st->st_dev && l->ino == st->st_ino) {
			l->marked = 1;
			return 1;
		}
		elx_link_closer_destroy(l->link, p->kind == ELX_TARGET_USDT, t);
		p->links[i] = p->links[--p->nlinks];
		return 0;
	}
	return 0;
}

static struct elx_target_program *named(struct elx_targets *t, const char *name)
{
	for (size_t i = 0; t && i < t->nprograms; i++) {
		if (strcmp(bpf_program__name(t->programs[i].prog), name) == 0)
			return &t->programs[i];
	}
	return NULL;
}

int elx_targets_attach(struct elx_object *o, const char *name, uint32_t pid, const char *binary,
		       int *purged)
{
	struct elx_target_program *p = named(o->targets, name);
	struct elx_target_link l = { .pid = pid, .marked = 1 };
	uint64_t started;
	struct stat st;
	char *err = NULL;
	int fd, ret;

	*purged = 0;
	if (!p)
		return -ENOENT;
	ret = elx_proc_start_time(pid, &l.started);
	fd = ret ? ret : elx_proc_open_binary(pid, binary ? binary : p->path, &err);
	if (fd < 0)
		return failed(o, p, pid, fd, err);
	ret = fstat(fd, &st) == 0 ? 0 : -errno;
	if (!ret && existing(o->targets, p, &l, &st)) {
		close(fd);
		return 0;
	}
	if (!ret) {
		settle_exit(o, pid, l.started, purged);
		ret = attach_in_file(p, pid, fd, &l.link, &err);
	}
	close(fd);
	if (ret)
		return failed(o, p, pid, ret, err);
	/* The pid named the process we looked at, not one that took it since. */
	if (elx_proc_start_time(pid, &started) != 0 || started != l.started) {
		elx_link_closer_destroy(l.link, p->kind == ELX_TARGET_USDT, o->targets);
		log_debug("config %s: program %s: process %u exited while it was attached", o->name,
			  name, pid);
		return -ESRCH;
	}
	l.dev = st.st_dev;
	l.ino = st.st_ino;
	if (add_link(p, &l)) {
		elx_link_closer_destroy(l.link, p->kind == ELX_TARGET_USDT, o->targets);
		return failed(o, p, pid, -ENOMEM, NULL);
	}
	log_debug("config %s: program %s: attached to process %u (file %llu:%llu)", o->name, name,
		  pid, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	return 1;
}
