/* cgroup_id_map updates: a hash map gets the cgroup id as its key; cgroup
 * storage is keyed by an open fd of the cgroup's directory. */
#define _GNU_SOURCE
#include "cgroup_map.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

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

static int apply(int fd, const struct elx_cgroup_op *op)
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

size_t elx_cgroup_map_apply(struct elx_generation *gen, const struct elx_cgroup_op *ops,
			    size_t nops)
{
	size_t failed = 0;

	for (size_t i = 0; i < nops; i++) {
		const struct elx_cgroup_op *op = &ops[i];
		int fd = map_fd(gen, op->config, op->map);
		int ret = fd < 0 ? fd : apply(fd, op);

		/* A cgroup removed between the event and now is no failure. */
		if (ret == -ENOENT && op->set && op->storage)
			ret = 0;
		if (ret) {
			failed++;
			log_warn("config %s: cgroup_id_map %s: %s %s: %s", op->config, op->map,
				 op->set ? "adding" : "removing", op->path, strerror(-ret));
		} else {
			log_debug("config %s: cgroup_id_map %s: %s %s (id %llu)", op->config,
				  op->map, op->set ? "added" : "removed", op->path,
				  (unsigned long long)op->id);
		}
	}
	return failed;
}
