/* The walk of the kernel's BPF objects: for each part, GET_NEXT_ID, then
 * GET_FD_BY_ID and OBJ_GET_INFO_BY_FD with fixed fields only (no array of
 * instructions, map ids or line info is asked for), the fd closed at once.
 * Without CAP_SYS_ADMIN the kernel hands out no ids: then the exporter's
 * own objects are read through its own fds. */
#define _GNU_SOURCE
#include "bpf_collector.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpf_owners.h"
#include "bpf_own.h"
#include "log.h"
#include "map_entries.h"

/* An array of one part's records, grown by doubling and kept between
 * scrapes. */
struct slots {
	void *data;
	size_t n, cap, size;
};

struct elx_bpf_collector {
	struct elx_bpf_scrape out;
	unsigned parts; /* 1 << enum elx_bpf_part */
	struct slots slots[ELX_BPF_NPARTS];
	struct elx_own_objects own;
	struct elx_map_entries *entries; /* NULL: entries are not counted */
	int owners_on;
	struct elx_bpf_owners owners;
	int fdinfo_dir; /* /proc/self/fdinfo: memlock of the fds the walk opens */
	/* The walk closes each fd before it opens the next, so they share a
	 * number: one fdinfo file, read again, serves a whole part. */
	struct elx_fdinfo_reader fdinfo;
	uint64_t errors[ELX_BPF_NPARTS];
	void (*walk_hook)(enum elx_bpf_part part, uint32_t id, void *arg);
	void *walk_hook_arg;
};

/* One part of the walk: the kernel's calls for its kind of object, and the
 * reader of one object's info into a record. */
struct part {
	enum elx_fd_kind kind;
	size_t size;
	int (*next_id)(__u32 start, __u32 *next);
	int (*fd_by_id)(__u32 id);
	int (*read)(struct elx_bpf_collector *c, int fd, void *slot);
};

static void *slot_next(struct slots *s)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		void *grown = realloc(s->data, cap * s->size);

		if (!grown)
			return NULL;
		s->data = grown;
		s->cap = cap;
	}
	return memset((char *)s->data + s->n * s->size, 0, s->size);
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The memlock line of the fdinfo of one of this process's fds. */
static uint64_t memlock_of(struct elx_bpf_collector *c, int fd)
{
	char text[1024];
	uint64_t bytes = 0;

	if (elx_fdinfo_reader_read(&c->fdinfo, fd, text, sizeof(text)) > 0)
		elx_fdinfo_u64(text, "memlock", &bytes);
	return bytes;
}

/* ---------------------------------------------------------- readers */

static int read_program(struct elx_bpf_collector *c, int fd, void *slot)
{
	struct elx_bpf_program *p = slot;
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	p->id = info.id;
	p->type = info.type;
	memcpy(p->name, info.name, sizeof(p->name) - 1);
	memcpy(p->tag, info.tag, sizeof(p->tag));
	p->jited_bytes = info.jited_prog_len;
	p->xlated_bytes = info.xlated_prog_len;
	p->verified_insns = info.verified_insns;
	p->load_time_ns = info.load_time;
	p->run_time_ns = info.run_time_ns;
	p->run_count = info.run_cnt;
	p->recursion_misses = info.recursion_misses;
	p->memlock = memlock_of(c, fd);
	return 0;
}

static int read_map(struct elx_bpf_collector *c, int fd, void *slot)
{
	struct elx_bpf_map *m = slot;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	m->id = info.id;
	m->type = info.type;
	memcpy(m->name, info.name, sizeof(m->name) - 1);
	m->key_size = info.key_size;
	m->value_size = info.value_size;
	m->max_entries = info.max_entries;
	m->flags = info.map_flags;
	m->memlock = memlock_of(c, fd);
	m->entries = -1;
	if (c->entries) {
		err = elx_map_entries_count(c->entries, fd, m, &m->entries);
		if (err) {
			m->entries = -1;
			m->entries_error = err;
			/* A type without keys is no failure: it has no count. */
			c->errors[ELX_BPF_MAPS] += err != -EOPNOTSUPP;
		}
	}
	return 0;
}

/* struct elx_bpf_link is the kernel's struct bpf_link_info, read in place
 * (zeroed first: the union's pointers must be 0 so that the kernel copies
 * no names). */
static int read_link(struct elx_bpf_collector *c, int fd, void *slot)
{
	__u32 len = sizeof(struct elx_bpf_link);

	return bpf_obj_get_info_by_fd(fd, slot, &len);
}

static int read_btf(struct elx_bpf_collector *c, int fd, void *slot)
{
	struct elx_bpf_btf *b = slot;
	struct bpf_btf_info info;
	__u32 len = sizeof(info);
	int err;

	memset(&info, 0, sizeof(info));
	info.name = (__u64)(uintptr_t)b->name;
	info.name_len = sizeof(b->name);
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		return err;
	b->name[sizeof(b->name) - 1] = '\0';
	b->id = info.id;
	b->kernel = info.kernel_btf;
	b->size = info.btf_size;
	return 0;
}

/* Maps are opened read-only: nothing here writes to them. */
static int map_fd_by_id(__u32 id)
{
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, opts, .open_flags = BPF_F_RDONLY);

	return bpf_map_get_fd_by_id_opts(id, &opts);
}

static const struct part PARTS[ELX_BPF_NPARTS] = {
	[ELX_BPF_PROGRAMS] = { ELX_FD_PROG, sizeof(struct elx_bpf_program), bpf_prog_get_next_id,
			       bpf_prog_get_fd_by_id, read_program },
	[ELX_BPF_MAPS] = { ELX_FD_MAP, sizeof(struct elx_bpf_map), bpf_map_get_next_id,
			   map_fd_by_id, read_map },
	[ELX_BPF_LINKS] = { ELX_FD_LINK, sizeof(struct elx_bpf_link), bpf_link_get_next_id,
			    bpf_link_get_fd_by_id, read_link },
	[ELX_BPF_BTF] = { ELX_FD_BTF, sizeof(struct elx_bpf_btf), bpf_btf_get_next_id,
			  bpf_btf_get_fd_by_id, read_btf },
};

/* ---------------------------------------------------------- walks */

/* Every object of the part the kernel lists. Returns -EPERM when it lists
 * none to this process (no CAP_SYS_ADMIN). */
static int walk_kernel(struct elx_bpf_collector *c, enum elx_bpf_part part)
{
	const struct part *p = &PARTS[part];
	struct slots *s = &c->slots[part];
	__u32 id = 0;
	int err;

	while ((err = p->next_id(id, &id)) == 0) {
		void *slot;
		int fd;

		if (c->walk_hook)
			c->walk_hook(part, id, c->walk_hook_arg);
		fd = p->fd_by_id(id);
		if (fd < 0) {
			/* ENOENT: it went away since its id was handed out.
			 * EAGAIN: a link being made, whose id the kernel
			 * lists before the link is settled. Neither is ours
			 * to count. */
			c->errors[part] += fd != -ENOENT && fd != -EAGAIN;
			continue;
		}
		slot = slot_next(s);
		err = slot ? p->read(c, fd, slot) : -ENOMEM;
		close(fd);
		if (!err)
			s->n++;
		else
			c->errors[part]++;
		if (err == -ENOMEM)
			return err;
	}
	if (err == -EPERM && s->n == 0)
		return -EPERM;
	c->errors[part] += err != -ENOENT;
	return 0;
}

/* The exporter's own objects of the part, through its own fds. */
static void walk_own(struct elx_bpf_collector *c, enum elx_bpf_part part)
{
	const struct part *p = &PARTS[part];
	struct slots *s = &c->slots[part];

	for (size_t i = 0; i < c->own.n[p->kind]; i++) {
		void *slot = slot_next(s);
		int err = slot ? p->read(c, c->own.objects[p->kind][i].fd, slot) : -ENOMEM;

		if (!err)
			s->n++;
		else
			c->errors[part]++;
	}
}

/* Every part's records start with their id (a link's after its type). */
static uint32_t record_id(enum elx_bpf_part part, const void *slot)
{
	return part == ELX_BPF_LINKS ? ((const struct elx_bpf_link *)slot)->id
				     : *(const uint32_t *)slot;
}

static void mark_own(struct elx_bpf_collector *c, enum elx_bpf_part part)
{
	struct slots *s = &c->slots[part];

	for (size_t i = 0; i < s->n; i++) {
		void *slot = (char *)s->data + i * s->size;
		uint32_t own =
		    elx_own_find(&c->own, PARTS[part].kind, record_id(part, slot)) != NULL;

		switch (part) {
		case ELX_BPF_PROGRAMS:
			((struct elx_bpf_program *)slot)->own = own;
			break;
		case ELX_BPF_MAPS:
			((struct elx_bpf_map *)slot)->own = own;
			break;
		case ELX_BPF_LINKS:
			((struct elx_bpf_link *)slot)->own = own;
			break;
		default:
			((struct elx_bpf_btf *)slot)->own = own;
		}
	}
}

static void collect_part(struct elx_bpf_collector *c, enum elx_bpf_part part)
{
	static int said_visible_only;
	uint64_t start = clock_ns(CLOCK_MONOTONIC);
	int err;

	c->slots[part].n = 0;
	if (part == ELX_BPF_MAPS && c->entries)
		elx_map_entries_refresh(c->entries);
	err = walk_kernel(c, part);
	if (err == -EPERM) {
		c->out.visible_only = 1;
		if (!said_visible_only++)
			log_warn("--collector.bpf: without CAP_SYS_ADMIN the kernel lists no other "
				 "process's BPF objects: only the exporter's own are exported");
		walk_own(c, part);
	}
	elx_fdinfo_reader_close(&c->fdinfo);
	mark_own(c, part);
	c->out.duration_ns[part] = clock_ns(CLOCK_MONOTONIC) - start;
}

const struct elx_bpf_scrape *elx_bpf_collector_collect(struct elx_bpf_collector *c)
{
	struct elx_bpf_scrape *out = &c->out;

	out->visible_only = 0;
	if (elx_own_scan(&c->own, &out->own) != 0)
		c->errors[ELX_BPF_PROGRAMS]++;
	for (int part = 0; part < ELX_BPF_NPARTS; part++) {
		if (c->parts & (1u << part))
			collect_part(c, (enum elx_bpf_part)part);
	}
	if (c->owners_on && elx_bpf_owners_scan(&c->owners) != 0)
		c->errors[ELX_BPF_PROGRAMS]++;
	out->programs = c->slots[ELX_BPF_PROGRAMS].data;
	out->nprograms = (uint32_t)c->slots[ELX_BPF_PROGRAMS].n;
	out->maps = c->slots[ELX_BPF_MAPS].data;
	out->nmaps = (uint32_t)c->slots[ELX_BPF_MAPS].n;
	out->links = c->slots[ELX_BPF_LINKS].data;
	out->nlinks = (uint32_t)c->slots[ELX_BPF_LINKS].n;
	out->btfs = c->slots[ELX_BPF_BTF].data;
	out->nbtfs = (uint32_t)c->slots[ELX_BPF_BTF].n;
	out->owners = c->owners.owners;
	out->nowners = (uint32_t)c->owners.n;
	memcpy(out->errors, c->errors, sizeof(out->errors));
	out->boot_time_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME);
	return out;
}

int elx_bpf_collector_new(const struct elx_flags *flags, struct elx_bpf_collector **out)
{
	struct elx_bpf_collector *c;

	*out = NULL;
	if (!flags->collector_bpf)
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->parts = (flags->collector_bpf_programs ? 1u << ELX_BPF_PROGRAMS : 0) |
		   (flags->collector_bpf_maps ? 1u << ELX_BPF_MAPS : 0) |
		   (flags->collector_bpf_links ? 1u << ELX_BPF_LINKS : 0) |
		   (flags->collector_bpf_btf ? 1u << ELX_BPF_BTF : 0);
	for (int part = 0; part < ELX_BPF_NPARTS; part++)
		c->slots[part].size = PARTS[part].size;
	c->fdinfo_dir = open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	elx_fdinfo_reader_init(&c->fdinfo, c->fdinfo_dir);
	c->owners_on = flags->collector_bpf_program_owners;
	if (flags->collector_bpf_map_entries && elx_map_entries_new(&c->entries) != 0) {
		elx_bpf_collector_free(c);
		return -ENOMEM;
	}
	c->out.parts = c->parts;
	c->out.counted_entries = c->entries != NULL;
	c->out.looked_for_owners = (uint32_t)c->owners_on;
	*out = c;
	return 0;
}

struct elx_map_entries *elx_bpf_collector_entries(struct elx_bpf_collector *c)
{
	return c->entries;
}

void elx_bpf_collector_set_walk_hook(struct elx_bpf_collector *c,
				     void (*hook)(enum elx_bpf_part part, uint32_t id, void *arg),
				     void *arg)
{
	c->walk_hook = hook;
	c->walk_hook_arg = arg;
}

void elx_bpf_collector_free(struct elx_bpf_collector *c)
{
	if (!c)
		return;
	for (int part = 0; part < ELX_BPF_NPARTS; part++)
		free(c->slots[part].data);
	elx_own_free(&c->own);
	elx_map_entries_free(c->entries);
	elx_bpf_owners_free(&c->owners);
	if (c->fdinfo_dir >= 0)
		close(c->fdinfo_dir);
	free(c);
}
