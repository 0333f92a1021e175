/* When an exited process's grace period is over, the keys that name it are
 * deleted from every metric map whose keys hold a pid: its series go, and
 * the maps do not fill up with the dead. */
#define _GNU_SOURCE
#include "targets.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "object.h"

static uint64_t pid_in(const uint8_t *key, const struct elx_pid_field *f)
{
	uint32_t u32;
	uint64_t u64;

	if (f->size == 8) {
		memcpy(&u64, key + f->offset, 8);
		return u64;
	}
	memcpy(&u32, key + f->offset, 4);
	return u32;
}

static int listed(uint64_t pid, const uint32_t *pids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (pids[i] == pid)
			return 1;
	}
	return 0;
}

/* Keys are collected first and deleted after: a hash map walked while it
 * changes may start its walk over. Returns how many went, or -errno. */
static int purge_map(struct bpf_map *map, const struct elx_pid_field *f, const uint32_t *pids,
		     size_t n)
{
	uint32_t size = bpf_map__key_size(map);
	int fd = bpf_map__fd(map), ret, deleted = 0;
	uint8_t *keys = NULL, *prev = NULL, *next = malloc(size);
	size_t nkeys = 0, cap = 0;

	if (!next || f->offset + f->size > size) {
		free(next);
		return next ? -EINVAL : -ENOMEM;
	}
	for (ret = bpf_map_get_next_key(fd, NULL, next); ret == 0;
	     ret = bpf_map_get_next_key(fd, prev, next)) {
		if (listed(pid_in(next, f), pids, n)) {
			if (nkeys == cap) {
				uint8_t *grown = realloc(keys, (cap = cap ? 2 * cap : 16) * size);

				if (!grown)
					break;
				keys = grown;
			}
			memcpy(keys + nkeys++ * size, next, size);
		}
		free(prev);
		prev = next;
		next = malloc(size);
		if (!next)
			break;
	}
	for (size_t i = 0; i < nkeys; i++)
		deleted += bpf_map_delete_elem(fd, keys + i * size) == 0;
	free(keys);
	free(prev);
	free(next);
	return deleted;
}

static void purge_pids(struct elx_object *o, const uint32_t *pids, size_t n)
{
	struct elx_targets *t = o->targets;

	for (size_t i = 0; i < t->nfields; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(o->obj, t->fields[i].map);
		int ret = map ? purge_map(map, &t->fields[i], pids, n) : -ENOENT;

		if (ret < 0)
			log_warn("config %s: map %s: deleting the keys of exited processes: %s",
				 o->name, t->fields[i].map, strerror(-ret));
		else
			log_debug("config %s: map %s: %d keys of %zu exited process(es) deleted",
				  o->name, t->fields[i].map, ret, n);
	}
}

size_t elx_targets_purge(struct elx_object *o, uint64_t now_ms, uint32_t pid, uint32_t *gone,
			 size_t max)
{
	struct elx_targets *t = o->targets;
	size_t n = 0;

	for (size_t i = t ? t->nexits : 0; i-- > 0 && n < max;) {
		struct elx_target_exit *e = &t->exits[i];

		if (pid ? e->pid != pid : e->due_ms > now_ms)
			continue;
		gone[n++] = e->pid;
		*e = t->exits[--t->nexits];
	}
	if (n)
		purge_pids(o, gone, n);
	return n;
}
