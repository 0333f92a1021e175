/* One config's BPF object: libbpf open, load and attach, then map reads and
 * program stats at each scrape. */
#define _GNU_SOURCE
#include "object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "log.h"

int elx_object_open(struct elx_object *o, const char *dir, const char *name, const char *btf_path,
		    char **err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf_path);
	struct bpf_map *map;
	size_t n = 0;
	int ret;

	memset(o, 0, sizeof(*o));
	o->name = strdup(name);
	if (!o->name || asprintf(&o->path, "%s/%s.bpf.o", dir, name) < 0) {
		o->path = NULL;
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	/* Said here rather than by libbpf, whose line would repeat ours. */
	if (access(o->path, R_OK) != 0) {
		ret = -errno;
		if (asprintf(err, "%s.bpf.o: %s", name, strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	o->obj = bpf_object__open_file(o->path, &opts);
	if (!o->obj) {
		ret = -errno;
		o->obj = NULL;
		if (asprintf(err, "%s.bpf.o: %s", name, strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	bpf_object__for_each_map(map, o->obj) n++;
	o->map_infos = calloc(n ? n : 1, sizeof(*o->map_infos));
	if (!o->map_infos) {
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	bpf_object__for_each_map(map, o->obj)
	{
		struct elx_map_info *info = &o->map_infos[o->nmap_infos++];

		info->name = bpf_map__name(map);
		info->type = bpf_map__type(map);
		info->key_size = bpf_map__key_size(map);
		info->value_size = bpf_map__value_size(map);
		info->max_entries = bpf_map__max_entries(map);
	}
	return 0;
}

int elx_object_load(struct elx_object *o)
{
	struct bpf_program *prog;
	size_t n = 0;
	int ret = bpf_object__load(o->obj);

	if (ret) {
		log_error("config %s: loading %s failed: %s", o->name, o->path, strerror(-ret));
		return ret;
	}
	bpf_object__for_each_program(prog, o->obj) n++;
	o->links = calloc(n ? n : 1, sizeof(*o->links));
	o->programs = calloc(n ? n : 1, sizeof(*o->programs));
	o->tags = calloc(n ? n : 1, sizeof(*o->tags));
	o->prog_fds = calloc(n ? n : 1, sizeof(*o->prog_fds));
	if (!o->links || !o->programs || !o->tags || !o->prog_fds)
		return -ENOMEM;
	bpf_object__for_each_program(prog, o->obj)
	{
		size_t i = o->nprograms++;
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		o->prog_fds[i] = fd;
		o->programs[i].name = bpf_program__name(prog);
		o->programs[i].tag = o->tags[i];
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			o->programs[i].id = info.id;
			for (int b = 0; b < 8; b++)
				snprintf(o->tags[i] + 2 * b, 3, "%02x", info.tag[b]);
		}
	}
	return 0;
}

int elx_object_attach(struct elx_object *o, int strict)
{
	struct bpf_program *prog;
	size_t i = 0;

	bpf_object__for_each_program(prog, o->obj)
	{
		size_t k = i++;
		char *err = NULL;
		int ret;

		if (o->prog_fds[k] < 0)
			continue; /* not loaded (autoload off) */
		ret = elx_attach_program(prog, &o->links[k].links, &o->links[k].n, &err);
		if (ret) {
			log_error("config %s: program %s (SEC(\"%s\")): attach failed: %s", o->name,
				  bpf_program__name(prog), bpf_program__section_name(prog),
				  err ? err : strerror(-ret));
			free(err);
			if (strict)
				return ret;
			continue;
		}
		o->programs[k].attached = 1;
		o->nattached++;
		log_debug("config %s: attached %s (SEC(\"%s\")) with %zu link(s)", o->name,
			  bpf_program__name(prog), bpf_program__section_name(prog), o->links[k].n);
	}
	return 0;
}

int elx_object_bind_maps(struct elx_object *o, const struct elx_metric_map *maps, size_t nmaps,
			 uv_loop_t *loop)
{
	o->readers = calloc(nmaps ? nmaps : 1, sizeof(*o->readers));
	o->events = calloc(nmaps ? nmaps : 1, sizeof(*o->events));
	o->batches = calloc(nmaps ? nmaps : 1, sizeof(*o->batches));
	if (!o->readers || !o->events || !o->batches)
		return -ENOMEM;
	for (size_t i = 0; i < nmaps; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(o->obj, maps[i].name);
		const char *what;
		int ret;

		if (!map) {
			log_error("config %s: no map %s", o->name, maps[i].name);
			return -ENOENT;
		}
		if (maps[i].record_size) {
			what = "count its records";
			ret = elx_event_counter_start(&o->events[i], loop, bpf_map__fd(map),
						      bpf_map__name(map), maps[i].record_size,
						      maps[i].flush_ms);
		} else {
			what = "prepare reads";
			ret = elx_map_reader_init(&o->readers[i], bpf_map__fd(map),
						  bpf_map__name(map));
		}
		if (ret) {
			log_error("config %s: map %s: cannot %s: %s", o->name, maps[i].name, what,
				  strerror(-ret));
			return ret;
		}
		o->nreaders++;
	}
	return 0;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void elx_object_read(struct elx_object *o, struct elx_config_scrape *out, int stats_enabled)
{
	uint64_t start = monotonic_ns();

	for (size_t i = 0; i < o->nreaders; i++) {
		if (o->events[i].keys) {
			elx_event_counter_read(&o->events[i]);
			o->batches[i] = o->events[i].batch;
			continue;
		}
		int ret = elx_map_reader_read(&o->readers[i]);

		if (ret)
			log_warn("config %s: reading map %s failed: %s", o->name,
				 o->readers[i].batch.name, strerror(-ret));
		o->batches[i] = o->readers[i].batch;
	}
	/* Run stats come with the program info: one syscall per program, on
	 * the fd we hold, and only while the kernel counts. */
	for (size_t i = 0; stats_enabled && i < o->nprograms; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (o->prog_fds[i] >= 0 &&
		    bpf_obj_get_info_by_fd(o->prog_fds[i], &info, &len) == 0) {
			o->programs[i].run_time_ns = info.run_time_ns;
			o->programs[i].run_count = info.run_cnt;
		}
	}
	out->name = o->name;
	out->nbatches = (uint32_t)o->nreaders;
	out->batches = o->batches;
	out->nprograms = (uint32_t)o->nprograms;
	out->programs = o->programs;
	out->read_ns = monotonic_ns() - start;
}

void elx_object_close(struct elx_object *o)
{
	for (size_t i = 0; o->links && i < o->nprograms; i++) {
		for (size_t l = 0; l < o->links[i].n; l++)
			bpf_link__destroy(o->links[i].links[l]);
		free(o->links[i].links);
	}
	for (size_t i = 0; i < o->nreaders; i++) {
		elx_event_counter_stop(&o->events[i]);
		elx_map_reader_free(&o->readers[i]);
	}
	bpf_object__close(o->obj);
	free(o->readers);
	free(o->events);
	free(o->batches);
	free(o->links);
	free(o->programs);
	free(o->tags);
	free(o->prog_fds);
	free(o->map_infos);
	free(o->path);
	free(o->name);
	memset(o, 0, sizeof(*o));
}
