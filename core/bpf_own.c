/* The exporter's own BPF objects, from the fdinfo of its own fds: no
 * capability is needed to read them, unlike the kernel-wide walk. */
#define _GNU_SOURCE
#include "bpf_own.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The fdinfo line that holds each kind's id. */
static const char *const ID_KEYS[ELX_FD_NKINDS] = {
	[ELX_FD_PROG] = "prog_id",
	[ELX_FD_MAP] = "map_id",
	[ELX_FD_LINK] = "link_id",
	[ELX_FD_BTF] = "btf_id",
};

static int compare_ids(const void *a, const void *b)
{
	uint32_t x = ((const struct elx_own_object *)a)->id;
	uint32_t y = ((const struct elx_own_object *)b)->id;

	return x < y ? -1 : x > y;
}

static struct elx_own_object *append(struct elx_own_objects *own, enum elx_fd_kind k)
{
	if (own->n[k] == own->cap[k]) {
		size_t cap = own->cap[k] ? own->cap[k] * 2 : 64;
		struct elx_own_object *grown = realloc(own->objects[k], cap * sizeof(*grown));

		if (!grown)
			return NULL;
		own->objects[k] = grown;
		own->cap[k] = cap;
	}
	return memset(&own->objects[k][own->n[k]++], 0, sizeof(struct elx_own_object));
}

/* Records the fd `name` of /proc/self/fd when it is a BPF object's. */
static int record(struct elx_own_objects *own, int fd_dir, int fdinfo_dir, const char *name)
{
	enum elx_fd_kind k = elx_fd_kind(fd_dir, name);
	struct elx_own_object *o;
	char text[1024];
	uint64_t id;

	if (k == ELX_FD_OTHER)
		return 0;
	/* An fd closed since the directory was read is no longer ours. */
	if (elx_fdinfo_read(fdinfo_dir, name, text, sizeof(text)) < 0 ||
	    elx_fdinfo_u64(text, ID_KEYS[k], &id) != 0)
		return 0;
	o = append(own, k);
	if (!o)
		return -ENOMEM;
	o->id = (uint32_t)id;
	o->fd = atoi(name);
	elx_fdinfo_u64(text, "memlock", &o->memlock);
	elx_fdinfo_u64(text, "run_time_ns", &o->run_time_ns);
	elx_fdinfo_u64(text, "run_cnt", &o->run_count);
	return 0;
}

/* Sorts each kind by id and keeps one entry per id. */
static void sort_unique(struct elx_own_objects *own)
{
	for (int k = 0; k < ELX_FD_NKINDS; k++) {
		size_t kept = 0;

		if (own->n[k] < 2)
			continue;
		qsort(own->objects[k], own->n[k], sizeof(struct elx_own_object), compare_ids);
		for (size_t i = 0; i < own->n[k]; i++) {
			if (kept && own->objects[k][kept - 1].id == own->objects[k][i].id)
				continue;
			own->objects[k][kept++] = own->objects[k][i];
		}
		own->n[k] = kept;
	}
}

static void sum(const struct elx_own_objects *own, struct elx_bpf_own *t)
{
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < own->n[ELX_FD_MAP]; i++)
		t->map_memlock += own->objects[ELX_FD_MAP][i].memlock;
	for (size_t i = 0; i < own->n[ELX_FD_PROG]; i++) {
		const struct elx_own_object *p = &own->objects[ELX_FD_PROG][i];

		t->program_memlock += p->memlock;
		t->run_time_ns += p->run_time_ns;
		t->run_count += p->run_count;
	}
	t->nmaps = (uint32_t)own->n[ELX_FD_MAP];
	t->nprograms = (uint32_t)own->n[ELX_FD_PROG];
}

int elx_own_scan(struct elx_own_objects *own, struct elx_bpf_own *totals)
{
	int fdinfo_dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *ent;
	int ret = 0;

	memset(own->n, 0, sizeof(own->n));
	if (!d || fdinfo_dir < 0) {
		ret = -errno;
		goto out;
	}
	while (!ret && (ent = readdir(d))) {
		/* The directory's own fd reads as a directory: skipped as OTHER. */
		if (ent->d_name[0] != '.')
			ret = record(own, dirfd(d), fdinfo_dir, ent->d_name);
	}
	sort_unique(own);
out:
	if (d)
		closedir(d);
	if (fdinfo_dir >= 0)
		close(fdinfo_dir);
	sum(own, totals);
	return ret;
}

const struct elx_own_object *elx_own_find(const struct elx_own_objects *own, enum elx_fd_kind kind,
					  uint32_t id)
{
	struct elx_own_object key = { .id = id };

	if (kind >= ELX_FD_NKINDS || !own->n[kind])
		return NULL;
	return bsearch(&key, own->objects[kind], own->n[kind], sizeof(key), compare_ids);
}

void elx_own_free(struct elx_own_objects *own)
{
	for (int k = 0; k < ELX_FD_NKINDS; k++)
		free(own->objects[k]);
	memset(own, 0, sizeof(*own));
}
