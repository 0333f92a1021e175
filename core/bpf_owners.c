/* The holders of BPF programs, from /proc/<pid>/fd and fdinfo: a readlink
 * per fd of every process, so it is opt-in. A program attached through a
 * link is held by whoever holds the link; a pinned one may have no holder. */
#define _GNU_SOURCE
#include "bpf_owners.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdinfo.h"

static int compare_owners(const void *a, const void *b)
{
	const struct elx_bpf_owner *x = a, *y = b;

	if (x->prog_id != y->prog_id)
		return x->prog_id < y->prog_id ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int add(struct elx_bpf_owners *o, uint32_t prog_id, int pid, const char *comm)
{
	struct elx_bpf_owner *w;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 64;
		struct elx_bpf_owner *grown = realloc(o->owners, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		o->owners = grown;
		o->cap = cap;
	}
	w = &o->owners[o->n++];
	memset(w, 0, sizeof(*w));
	w->prog_id = prog_id;
	w->pid = pid;
	snprintf(w->comm, sizeof(w->comm), "%s", comm);
	return 0;
}

/* /proc/<pid>/comm without its newline, or "" when the process is gone. */
static void read_comm(int pid_dir, char comm[16])
{
	int fd = openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, comm, 15) : -1;

	if (fd >= 0)
		close(fd);
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* The programs behind one process's program and link fds. */
static int scan_process(struct elx_bpf_owners *o, int proc_dir, const char *pid_name)
{
	int pid_dir = openat(proc_dir, pid_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd_dir = pid_dir >= 0 ? openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int fdinfo_dir =
	    fd_dir >= 0 ? openat(pid_dir, "fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	DIR *d = fdinfo_dir >= 0 ? fdopendir(fd_dir) : NULL;
	struct dirent *ent;
	char comm[16] = "", text[1024];
	uint64_t prog_id;
	int ret = 0;

	while (d && !ret && (ent = readdir(d))) {
		enum elx_fd_kind k =
		    ent->d_name[0] == '.' ? ELX_FD_OTHER : elx_fd_kind(fd_dir, ent->d_name);

		if ((k != ELX_FD_PROG && k != ELX_FD_LINK) ||
		    elx_fdinfo_read(fdinfo_dir, ent->d_name, text, sizeof(text)) < 0 ||
		    elx_fdinfo_u64(text, "prog_id", &prog_id) != 0)
			continue;
		if (!comm[0])
			read_comm(pid_dir, comm);
		ret = add(o, (uint32_t)prog_id, atoi(pid_name), comm);
	}
	if (d)
		closedir(d); /* closes fd_dir */
	else if (fd_dir >= 0)
		close(fd_dir);
	if (fdinfo_dir >= 0)
		close(fdinfo_dir);
	if (pid_dir >= 0)
		close(pid_dir);
	return ret;
}

static void sort_unique(struct elx_bpf_owners *o)
{
	size_t kept = 0;

	if (o->n < 2)
		return;
	qsort(o->owners, o->n, sizeof(*o->owners), compare_owners);
	for (size_t i = 0; i < o->n; i++) {
		if (kept && compare_owners(&o->owners[kept - 1], &o->owners[i]) == 0)
			continue;
		o->owners[kept++] = o->owners[i];
	}
	o->n = kept;
}

int elx_bpf_owners_scan(struct elx_bpf_owners *o)
{
	DIR *proc = opendir("/proc");
	struct dirent *ent;
	int ret = 0;

	o->n = 0;
	if (!proc)
		return -errno;
	while (!ret && (ent = readdir(proc))) {
		if (isdigit((unsigned char)ent->d_name[0]))
			ret = scan_process(o, dirfd(proc), ent->d_name);
	}
	closedir(proc);
	sort_unique(o);
	return ret;
}

void elx_bpf_owners_free(struct elx_bpf_owners *o)
{
	free(o->owners);
	memset(o, 0, sizeof(*o));
}
