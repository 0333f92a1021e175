/* cgroup_id_map updates: a hash map gets the cgroup id as its key; cgroup
 * storage is keyed by an open fd of the cgroup's directory. */
#define _GNU_SOURCE
#include "cgroup_id_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "lua_host.h"

/* Where fanotify is unavailable, cgroupfs is walked this often for changes. */
#define RESCAN_MS 5000

/* On the heap: its handle may outlive the generation until the loop has
 * closed it. */
struct elx_cgroup_watch {
	struct elx_generation *gen;
	union {
		uv_poll_t poll;
		uv_timer_t timer;
	} h;
};

static int map_fd(struct elx_generation *gen, const char *config, const char *map)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_object *o = gen->views[i].obj;

		if (strcmp(o->name, config) == 0) {
			struct bpf_map *m = bpf_object__find_map_by_name(o->obj, map);

			return m ? bpf_map__fd(m) : -ENOENT;
		}
	}
	return -ENOENT;
}

static int update(int fd, const struct elx_cgroup_op *op)
{
	__u64 one = 1;
	int ret;

	if (!op->storage) {
		ret = op->set ? bpf_map_update_elem(fd, &op->id, &one, BPF_ANY)
			      : bpf_map_delete_elem(fd, &op->id);
		return ret == -ENOENT && !op->set ? 0 : ret;
	}
	if (!op->set)
		return 0; /* cgroup storage is freed with its cgroup */
	int cgroup_fd = open(op->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (cgroup_fd < 0)
		return -errno;
	ret = bpf_map_update_elem(fd, &cgroup_fd, &one, BPF_ANY);
	close(cgroup_fd);
	return ret;
}

static void apply(struct elx_generation *gen, const struct elx_cgroup_op *op)
{
	int fd = map_fd(gen, op->config, op->map);
	int ret = fd < 0 ? fd : update(fd, op);

	/* A cgroup removed between the event and now is no failure. */
	if (ret == -ENOENT && op->set && op->storage)
		ret = 0;
	if (ret)
		log_warn("config %s: cgroup_id_map %s: %s %s: %s", op->config, op->map,
			 op->set ? "adding" : "removing", op->path, strerror(-ret));
	else
		log_debug("config %s: cgroup_id_map %s: %s %s (id %llu)", op->config, op->map,
			  op->set ? "added" : "removed", op->path, (unsigned long long)op->id);
}

/* Asks Lua for the updates due now and applies them; *watch_fd (if given)
 * gets what Lua says to watch. */
static int sync_maps(struct elx_generation *gen, int rescan, int *watch_fd)
{
	struct elx_cgroup_sync call = { .rescan = rescan };
	char *err = NULL;
	int ret = elx_lua_call(gen->lua, ELX_ENTRY_CGROUP_SYNC, &call, &err);

	if (ret) {
		elx_log_lines(ELX_ERROR, err);
		free(err);
		return ret;
	}
	for (uint32_t i = 0; i < call.nops; i++)
		apply(gen, &call.ops[i]);
	if (watch_fd)
		*watch_fd = call.watch_fd;
	return 0;
}

static void on_events(uv_poll_t *handle, int status, int events)
{
	struct elx_cgroup_watch *w = handle->data;

	sync_maps(w->gen, 0, NULL);
}

static void on_timer(uv_timer_t *handle)
{
	struct elx_cgroup_watch *w = handle->data;

	sync_maps(w->gen, 1, NULL);
}

int elx_cgroup_id_map_start(struct elx_generation *gen, uv_loop_t *loop,
			    struct elx_cgroup_watch **out)
{
	struct elx_cgroup_watch *w;
	int fd = -1;
	int ret = sync_maps(gen, 0, &fd);

	*out = NULL;
	if (ret || fd < 0)
		return ret; /* fd < 0: no config has a cgroup_id_map */
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->gen = gen;
	if (fd > 0) {
		uv_poll_init(loop, &w->h.poll, fd);
		w->h.poll.data = w;
		uv_poll_start(&w->h.poll, UV_READABLE, on_events);
	} else {
		uv_timer_init(loop, &w->h.timer);
		w->h.timer.data = w;
		uv_timer_start(&w->h.timer, on_timer, RESCAN_MS, RESCAN_MS);
	}
	*out = w;
	return 0;
}

static void free_watch(uv_handle_t *handle)
{
	free(handle->data);
}

void elx_cgroup_id_map_stop(struct elx_cgroup_watch *w)
{
	/* The poll handle must leave epoll before the Lua state closes its fd. */
	if (w)
		uv_close((uv_handle_t *)&w->h, free_watch);
}
