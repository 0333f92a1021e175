/* One config's BPF object: libbpf open, load and attach, then map reads and
 * program stats at each scrape. */
#define _GNU_SOURCE
#include "object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "attach_explain.h"
#include "kaddrs.h"
#include "libbpf_log.h"
#include "log.h"
#include "map_btf.h"
#include "object_check.h"
#include "targets.h"

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

#define FNV_OFFSET 1469598103934665603ull /* FNV-1a */

int elx_object_file_hash(const char *path, uint64_t *hash)
{
	unsigned char buf[65536];
	uint64_t h = FNV_OFFSET;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		h = hash_bytes(h, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -EIO;
	*hash = h;
	return 0;
}

/* The whole file, malloc'd: what is checked is what is opened, even if the
 * file changes meanwhile. */
static int read_image(struct elx_object *o)
{
	int fd = open(o->path, O_RDONLY | O_CLOEXEC), ret = 0;
	struct stat st;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out;
	}
	o->image = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!o->image) {
		ret = -ENOMEM;
		goto out;
	}
	while (o->image_len < (size_t)st.st_size &&
	       (n = read(fd, (char *)o->image + o->image_len, (size_t)st.st_size - o->image_len)) >
		   0)
		o->image_len += (size_t)n;
	if (n < 0)
		ret = -errno;
	o->hash = hash_bytes(FNV_OFFSET, o->image, o->image_len);
out:
	close(fd);
	return ret;
}

static void free_image(struct elx_object *o)
{
	free(o->image);
	o->image = NULL;
	o->image_len = 0;
}

static int describe_maps(struct elx_object *o)
{
	struct bpf_map *map;
	size_t n = 0;

	bpf_object__for_each_map(map, o->obj) n++;
	o->map_infos = calloc(n ? n : 1, sizeof(*o->map_infos));
	if (!o->map_infos)
		return -ENOMEM;
	bpf_object__for_each_map(map, o->obj)
	{
		struct elx_map_info *info = &o->map_infos[o->nmap_infos++];

		info->name = bpf_map__name(map);
		info->type = bpf_map__type(map);
		info->key_size = bpf_map__key_size(map);
		info->value_size = bpf_map__value_size(map);
		info->max_entries = bpf_map__max_entries(map);
		info->percpu = (uint32_t)elx_map_type_percpu(info->type);
		if (elx_map_btf_describe(bpf_object__btf(o->obj), map, info))
			return -ENOMEM;
	}
	return 0;
}

int elx_object_open(struct elx_object *o, const char *dir, const char *name, const char *btf_path,
		    char **err)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->name = strdup(name);
	if (!o->name || asprintf(&o->path, "%s/%s.bpf.o", dir, name) < 0) {
		o->path = NULL;
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	ret = read_image(o);
	if (ret)
		return elx_errorf(err, ret, "%s: %s", o->path, strerror(-ret));
	ret = elx_object_check(o->image, o->image_len, o->hash, o->path, btf_path, err);
	if (ret)
		return ret;
	{
		/* The object's name (and its maps' .rodata names) from the
		 * path, as bpf_object__open_file would make them. */
		LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = o->path,
			    .btf_custom_path = btf_path);

		elx_libbpf_reason_clear();
		o->obj = bpf_object__open_mem(o->image, o->image_len, &opts);
	}
	if (!o->obj) {
		ret = -errno;
		return elx_errorf(err, ret, "%s: libbpf cannot open it: %s", o->path,
				  elx_libbpf_why(ret));
	}
	if (describe_maps(o)) {
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* kaddrs are part of what a loaded object is: "sym1,sym2,". */
static char *kaddrs_signature(char *const *kaddrs, size_t n)
{
	size_t len = 1;
	char *sig;

	for (size_t i = 0; i < n; i++)
		len += strlen(kaddrs[i]) + 1;
	sig = calloc(1, len);
	for (size_t i = 0; sig && i < n; i++) {
		strcat(sig, kaddrs[i]);
		strcat(sig, ",");
	}
	return sig;
}

int elx_object_kaddrs_differ(const struct elx_object *o, char *const *kaddrs, size_t n)
{
	char *sig;
	int differ;

	if (!o->kaddrs_signature)
		return 1;
	sig = kaddrs_signature(kaddrs, n);
	differ = !sig || strcmp(sig, o->kaddrs_signature) != 0;
	free(sig);
	return differ;
}

int elx_object_set_kaddrs(struct elx_object *o, char *const *kaddrs, size_t n, const char *kallsyms,
			  char **err)
{
	int ret = elx_kaddrs_set(o->obj, kaddrs, n, kallsyms, err);

	if (ret)
		return ret;
	free(o->kaddrs_signature);
	o->kaddrs_signature = kaddrs_signature(kaddrs, n);
	if (!o->kaddrs_signature) {
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int describe_programs(struct elx_object *o)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, o->obj)
	{
		size_t i = o->nprograms++;
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		o->prog_fds[i] = fd;
		o->programs[i].name = bpf_program__name(prog);
		o->programs[i].section = bpf_program__section_name(prog);
		o->programs[i].tag = o->tags[i];
		o->programs[i].attach_error = o->attach_errors[i];
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			o->programs[i].id = info.id;
			for (int b = 0; b < 8; b++)
				snprintf(o->tags[i] + 2 * b, 3, "%02x", info.tag[b]);
		}
	}
	return 0;
}

int elx_object_load(struct elx_object *o)
{
	struct bpf_program *prog;
	size_t n = 0;
	int ret;

	bpf_object__for_each_program(prog, o->obj) n++;
	o->links = calloc(n ? n : 1, sizeof(*o->links));
	o->programs = calloc(n ? n : 1, sizeof(*o->programs));
	o->tags = calloc(n ? n : 1, sizeof(*o->tags));
	o->prog_fds = calloc(n ? n : 1, sizeof(*o->prog_fds));
	o->attach_errors = calloc(n ? n : 1, sizeof(*o->attach_errors));
	if (!o->links || !o->programs || !o->tags || !o->prog_fds || !o->attach_errors)
		return -ENOMEM;
	/* Programs of a kind this kernel cannot load stay out of the load,
	 * so that the rest of the object works; they count as not attached,
	 * with the reason. */
	elx_object_leave_out_unsupported(o->obj, o->attach_errors);
	elx_libbpf_reason_clear();
	ret = bpf_object__load(o->obj);
	/* libbpf copied what it needs from the file while opening it. */
	free_image(o);
	if (ret) {
		log_error("config %s: loading %s failed: %s", o->name, o->path,
			  elx_libbpf_why(ret));
		return ret;
	}
	describe_programs(o);
	o->loaded = 1;
	return 0;
}

/* Why a program did not attach: what attaching said, or libbpf's first
 * warning, and what this machine lacks when we can tell. malloc'd. */
static char *attach_failure(struct bpf_program *prog, int ret, char *err)
{
	char *hint = elx_attach_explain(bpf_program__section_name(prog), ret);
	const char *what = err ? err : elx_libbpf_why(ret);
	char *text = NULL;

	if (asprintf(&text, "%s%s%s", what, hint ? ": " : "", hint ? hint : "") < 0)
		text = NULL;
	free(hint);
	free(err);
	return text;
}

int elx_object_attach(struct elx_object *o, int strict)
{
	struct bpf_program *prog;
	struct timespec now;
	size_t i = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	o->attached_at = (double)now.tv_sec + (double)now.tv_nsec / 1e9;

	bpf_object__for_each_program(prog, o->obj)
	{
		size_t k = i++;
		char *err = NULL;
		int ret;

		if (o->prog_fds[k] < 0 && !o->attach_errors[k])
			continue; /* not loaded: autoload turned off by its author */
		if (elx_targets_program_at(o->targets, k)) {
			o->ntargeted++; /* attached per process, later */
			continue;
		}
		if (o->prog_fds[k] < 0) {
			ret = -EOPNOTSUPP;
		} else {
			elx_libbpf_reason_clear();
			ret = elx_attach_program(prog, &o->links[k].links, &o->links[k].n, &err);
			if (ret)
				o->attach_errors[k] = attach_failure(prog, ret, err);
		}
		if (ret) {
			/* Kept for the landing page. */
			o->programs[k].attach_error = o->attach_errors[k];
			log_error("config %s: program %s (SEC(\"%s\")): attach failed: %s", o->name,
				  bpf_program__name(prog), bpf_program__section_name(prog),
				  o->attach_errors[k] ? o->attach_errors[k] : strerror(-ret));
			if (strict)
				return ret;
			continue;
		}
		o->programs[k].attached = 1;
		o->nattached++;
		log_debug("config %s: attached %s (SEC(\"%s\")) with %zu link(s)", o->name,
			  bpf_program__name(prog), bpf_program__section_name(prog), o->links[k].n);
	}
	elx_targets_publish(o);
	return 0;
}

static struct elx_source *find_source(struct elx_object *o, const struct elx_metric_map *m)
{
	for (size_t i = 0; i < o->nsources; i++) {
		struct elx_source *s = o->sources[i];

		if (!s->spans && strcmp(s->map, m->name) == 0 &&
		    (s->record_size == 0) == (m->record_size == 0) &&
		    (!m->record_size || s->record_size == m->record_size))
			return s;
	}
	return NULL;
}

static void free_source(struct elx_source *s)
{
	elx_span_reader_destroy(s->spans);
	elx_event_counter_destroy(s->events);
	elx_map_reader_free(&s->reader);
	free(s->map);
	free(s);
}

struct elx_source *elx_object_source(struct elx_object *o, const struct elx_metric_map *m,
				     uv_loop_t *loop, int *ret)
{
	struct elx_source *s = find_source(o, m), **grown;
	struct bpf_map *map;

	*ret = 0;
	if (s) {
		if (s->events)
			elx_event_counter_set_flush(s->events, m->flush_ms);
		return s;
	}
	map = bpf_object__find_map_by_name(o->obj, m->name);
	if (!map) {
		*ret = -ENOENT;
		log_error("config %s: no map %s", o->name, m->name);
		return NULL;
	}
	grown = realloc(o->sources, (o->nsources + 1) * sizeof(*o->sources));
	s = calloc(1, sizeof(*s));
	if (grown)
		o->sources = grown;
	if (!grown || !s || !(s->map = strdup(m->name))) {
		free(s);
		*ret = -ENOMEM;
		return NULL;
	}
	s->record_size = m->record_size;
	if (m->record_size)
		s->events = elx_event_counter_new(loop, bpf_map__fd(map), bpf_map__name(map),
						  m->record_size, m->flush_ms, ret);
	else
		*ret = elx_map_reader_init(&s->reader, bpf_map__fd(map), bpf_map__name(map));
	if (*ret) {
		log_error("config %s: map %s: cannot %s: %s", o->name, m->name,
			  m->record_size ? "count its records" : "prepare reads", strerror(-*ret));
		free(s->map);
		free(s);
		return NULL;
	}
	o->sources[o->nsources++] = s;
	return s;
}

/* A new source in o->sources for `map`, with nothing to read it yet. */
static struct elx_source *add_source(struct elx_object *o, const char *map)
{
	struct elx_source **grown = realloc(o->sources, (o->nsources + 1) * sizeof(*o->sources));
	struct elx_source *s = calloc(1, sizeof(*s));

	if (grown)
		o->sources = grown;
	if (!grown || !s || !(s->map = strdup(map))) {
		free(s);
		return NULL;
	}
	o->sources[o->nsources++] = s;
	return s;
}

struct elx_source *elx_object_span_source(struct elx_object *o, const char *map, uv_loop_t *loop,
					  int *ret)
{
	struct bpf_map *m = bpf_object__find_map_by_name(o->obj, map);
	struct elx_source *s;

	for (size_t i = 0; i < o->nsources; i++) {
		if (o->sources[i]->spans && strcmp(o->sources[i]->map, map) == 0)
			return o->sources[i];
	}
	*ret = m ? 0 : -ENOENT;
	s = m ? add_source(o, map) : NULL;
	if (m && !s)
		*ret = -ENOMEM;
	if (s)
		s->spans = elx_span_reader_new(loop, bpf_map__fd(m), bpf_map__name(m), ret);
	if (s && !s->spans) {
		o->nsources--;
		free(s->map);
		free(s);
		s = NULL;
	}
	if (!s)
		log_error("config %s: ring buffer %s: cannot read its spans: %s", o->name, map,
			  strerror(-*ret));
	return s;
}

void elx_object_prune_sources(struct elx_object *o)
{
	size_t kept = 0;

	for (size_t i = 0; i < o->nsources; i++) {
		struct elx_source *s = o->sources[i];

		if (s->marked) {
			s->marked = 0;
			o->sources[kept++] = s;
		} else {
			free_source(s);
		}
	}
	o->nsources = kept;
}

void elx_source_read(struct elx_object *o, struct elx_source *s, struct elx_batch *out)
{
	int ret;

	if (s->events) {
		elx_event_counter_read(s->events);
		*out = s->events->batch;
		return;
	}
	ret = elx_map_reader_read(&s->reader);
	if (ret) {
		s->read_errors++;
		log_warn("config %s: reading map %s failed: %s", o->name, s->map, strerror(-ret));
	}
	*out = s->reader.batch;
	out->read_errors = s->read_errors;
	out->created = o->attached_at;
}

/* Run stats come with the program info: one syscall per program, on the fd
 * we hold. */
void elx_object_read_stats(struct elx_object *o)
{
	for (size_t i = 0; i < o->nprograms; i++) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);

		if (o->prog_fds[i] >= 0 &&
		    bpf_obj_get_info_by_fd(o->prog_fds[i], &info, &len) == 0) {
			o->programs[i].run_time_ns = info.run_time_ns;
			o->programs[i].run_count = info.run_cnt;
		}
	}
}

static void detach_all(struct elx_object *o)
{
	struct bpf_program *prog;
	size_t i = 0;

	if (!o->links)
		return;
	bpf_object__for_each_program(prog, o->obj)
	{
		if (i == o->nprograms)
			break;
		/* The section's own detach, which also frees the array. */
		elx_attach_detach(prog, o->links[i].links, o->links[i].n);
		free(o->attach_errors ? o->attach_errors[i] : NULL);
		i++;
	}
}

void elx_object_close(struct elx_object *o)
{
	elx_targets_free(o->targets);
	detach_all(o);
	for (size_t i = 0; i < o->nsources; i++)
		free_source(o->sources[i]);
	free(o->sources);
	bpf_object__close(o->obj);
	free(o->links);
	free(o->programs);
	free(o->tags);
	free(o->prog_fds);
	free(o->attach_errors);
	for (size_t i = 0; i < o->nmap_infos; i++)
		elx_map_btf_free(&o->map_infos[i]);
	free(o->map_infos);
	free(o->kaddrs_signature);
	free_image(o);
	free(o->path);
	free(o->name);
	memset(o, 0, sizeof(*o));
}
