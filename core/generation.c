/* Generations: a Lua state and the configs it serves, built whole before it
 * replaces the running one, so that a reload either fully happens or changes
 * nothing. Objects whose .bpf.o (and kaddrs) did not change carry over with
 * their maps, links and event counts. */
#define _GNU_SOURCE
#include "generation.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config_names.h"
#include "config_reply.h"
#include "log.h"
#include "span_export.h"
#include "span_target.h"
#include "targets.h"

/* An empty function that programs may probe with
 * SEC("uprobe//proc/self/exe:post_attach_mark") to run once their object is
 * attached: called after every build that attached new objects. */
__attribute__((noinline, used)) ELX_EXPORT void post_attach_mark(void)
{
	__asm__ volatile("" ::: "memory");
}

static struct elx_object *reusable(const struct elx_generation *prev, const char *dir,
				   const char *name)
{
	char *path;
	uint64_t hash;
	int ret;

	if (!prev || asprintf(&path, "%s/%s.bpf.o", dir, name) < 0)
		return NULL;
	ret = elx_object_file_hash(path, &hash);
	free(path);
	for (size_t i = 0; !ret && i < prev->nviews; i++) {
		struct elx_object *o = prev->views[i].obj;

		if (strcmp(o->name, name) == 0 && o->hash == hash)
			return o;
	}
	return NULL;
}

static int is_shared(const struct elx_generation *prev, const struct elx_object *o)
{
	for (size_t i = 0; prev && i < prev->nviews; i++) {
		if (prev->views[i].obj == o)
			return 1;
	}
	return 0;
}

static const struct elx_view *find_view(const struct elx_generation *gen, const char *name)
{
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		if (strcmp(gen->views[i].obj->name, name) == 0)
			return &gen->views[i];
	}
	return NULL;
}

/* Keeps the sources `gen` reads, in every object it uses, and frees the
 * others (a failed build's, or a retired generation's). */
static void prune_sources(struct elx_generation *gen)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		for (size_t j = 0; j < gen->views[i].nsources; j++)
			gen->views[i].sources[j]->marked = 1;
		for (size_t j = 0; j < gen->views[i].nspan_streams; j++)
			gen->views[i].span_sources[j]->marked = 1;
	}
	for (size_t i = 0; i < gen->nviews; i++)
		elx_object_prune_sources(gen->views[i].obj);
}

static void free_object(struct elx_object *o)
{
	if (!o)
		return;
	elx_object_close(o);
	free(o);
}

/* Frees the generation; `at_exit` leaves its Lua state to the process's exit
 * (elx_lua_abandon). */
static void free_generation_as(struct elx_generation *gen, int at_exit)
{
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		free(gen->views[i].sources);
		free(gen->views[i].batches);
		for (size_t j = 0; gen->views[i].span_targets && j < gen->views[i].nspan_streams;
		     j++)
			free(gen->views[i].span_targets[j].service);
		free(gen->views[i].span_sources);
		free(gen->views[i].span_targets);
	}
	if (gen) {
		if (at_exit)
			elx_lua_abandon(gen->lua);
		else
			elx_lua_free(gen->lua);
		free(gen->views);
		free(gen->scrapes);
		free(gen);
	}
}

static void free_generation(struct elx_generation *gen)
{
	free_generation_as(gen, 0);
}

/* A build under way: what the phases below share. */
struct build {
	const struct elx_generation *prev;
	const struct elx_flags *flags;
	uv_loop_t *loop;
	struct elx_generation *gen;
	char **names;
	size_t nnames;
	struct elx_config_reply *replies; /* one per name */
};

static void log_failure(char **err)
{
	elx_log_lines(ELX_ERROR, *err ? *err : "out of memory");
	free(*err);
	*err = NULL;
}

/* A new Lua state, with the options of the flags. */
static int start_lua(struct elx_generation *gen, const struct elx_flags *flags)
{
	struct elx_init init = {
		.config_dir = flags->config_dir,
		.decoder_dirs = (const char *const *)flags->decoder_dirs,
		.ndecoder_dirs = (uint32_t)flags->ndecoder_dirs,
		.strict = (uint32_t)flags->config_strict,
		.cache_size = flags->config_cache_size,
		.skip_cache_size = flags->config_skip_cache_size,
		.decoder_time_limit = (double)flags->decoders_time_limit_ns / 1e9,
		.decoder_memory_limit = (uint64_t)flags->decoders_memory_limit << 20,
		.decoders_unrestricted = (uint32_t)flags->decoders_unrestricted,
		.max_series = (uint64_t)flags->config_max_series,
	};
	char *err = NULL;
	int ret = elx_lua_new(&gen->lua, &err);

	if (!ret)
		ret = elx_lua_call(gen->lua, ELX_ENTRY_INIT, &init, &err);
	if (ret)
		log_failure(&err);
	return ret;
}

/* Phase 1: every config is opened (or its unchanged object reused) and
 * checked before any loads, so that one run reports every mistake in every
 * config. Returns how many configs failed. */
static int open_and_configure(struct build *b)
{
	struct elx_generation *gen = b->gen;
	char *err = NULL;
	int failed = 0;

	for (size_t i = 0; i < b->nnames; i++) {
		struct elx_object *o = reusable(b->prev, b->flags->config_dir, b->names[i]);
		int opened = o != NULL;

		if (!o) {
			o = calloc(1, sizeof(*o));
			if (!o)
				return -ENOMEM;
			opened = elx_object_open(o, b->flags->config_dir, b->names[i],
						 b->flags->btf_path, &err) == 0;
			if (!opened) {
				log_failure(&err);
				failed++;
			}
		}
		gen->views[gen->nviews++].obj = o;
		if (elx_config_reply_ask(gen->lua, b->names[i], opened ? o->map_infos : NULL,
					 opened ? o->nmap_infos : 0, opened ? o->obj : NULL,
					 &b->replies[i], &err) != 0) {
			log_failure(&err);
			failed++;
		}
	}
	return failed;
}

/* Phase 2: kaddrs go into objects before they load, and so does which
 * programs `targets:` attaches per process. A kept object asked for other
 * kaddrs or targets is another object: the same .bpf.o is opened anew. */
static int apply_kaddrs(struct build *b)
{
	char *err = NULL;

	for (size_t i = 0; i < b->gen->nviews; i++) {
		struct elx_view *v = &b->gen->views[i];
		struct elx_config_reply *r = &b->replies[i];

		if (is_shared(b->prev, v->obj) &&
		    (elx_object_kaddrs_differ(v->obj, r->kaddrs, r->nkaddrs) ||
		     elx_targets_differ(v->obj, r->targets, r->ntargets))) {
			struct elx_object *fresh = calloc(1, sizeof(*fresh));

			if (!fresh || elx_object_open(fresh, b->flags->config_dir, b->names[i],
						      b->flags->btf_path, &err) != 0) {
				log_failure(&err);
				free_object(fresh);
				return -EINVAL;
			}
			v->obj = fresh;
		}
		if (is_shared(b->prev, v->obj))
			continue;
		if (elx_object_set_kaddrs(v->obj, r->kaddrs, r->nkaddrs, "/proc/kallsyms", &err)) {
			log_error("%s.yaml: %s", v->obj->name, err ? err : "out of memory");
			free(err);
			return -EINVAL;
		}
		if (elx_targets_new(v->obj, r->targets, r->ntargets, &err)) {
			log_failure(&err);
			return -EINVAL;
		}
	}
	return 0;
}

/* Phase 3: objects not kept from the previous generation load and attach. */
static int load_new_objects(struct build *b)
{
	for (size_t i = 0; i < b->gen->nviews; i++) {
		struct elx_object *o = b->gen->views[i].obj;
		int ret;

		if (is_shared(b->prev, o))
			continue;
		ret = elx_object_load(o);
		if (!ret)
			ret = elx_object_attach(o, b->flags->config_strict);
		if (ret)
			return ret;
		b->gen->nloaded++;
	}
	return 0;
}

/* Each span stream gets its ring buffer's source; where its batches go is
 * set when the generation starts serving (elx_generation_activate). */
static int bind_span_streams(struct build *b, struct elx_view *v, const struct elx_config_reply *r)
{
	int ret = -ENOMEM;

	v->span_sources = calloc(r->nstreams + 1, sizeof(*v->span_sources));
	v->span_targets = calloc(r->nstreams + 1, sizeof(*v->span_targets));
	if (!v->span_sources || !v->span_targets)
		return ret;
	for (size_t j = 0; j < r->nstreams; j++) {
		struct elx_span_target *t = &v->span_targets[j];

		v->span_sources[j] =
		    elx_object_span_source(v->obj, r->streams[j].map, b->loop, &ret);
		if (!v->span_sources[j])
			return ret;
		*t = (struct elx_span_target){ .lua = b->gen->lua,
					       .config = v->obj->name,
					       .stream = (uint32_t)j,
					       .counters = &v->counters };
		v->nspan_streams++;
		if (r->streams[j].service && !(t->service = strdup(r->streams[j].service)))
			return -ENOMEM;
	}
	return 0;
}

/* Phase 4: each config's metric maps get their sources, in Lua's order. */
static int bind_sources(struct build *b)
{
	for (size_t i = 0; i < b->gen->nviews; i++) {
		struct elx_view *v = &b->gen->views[i];
		const struct elx_config_reply *r = &b->replies[i];
		int ret = -ENOMEM;

		v->sources = calloc(r->nmaps + 1, sizeof(*v->sources));
		v->batches = calloc(r->nmaps + 1, sizeof(*v->batches));
		if (!v->sources || !v->batches)
			return ret;
		if (v->obj->targets &&
		    elx_targets_configure(v->obj->targets, r->grace_ms, r->maps, r->nmaps))
			return ret;
		for (size_t j = 0; j < r->nmaps; j++) {
			v->sources[j] = elx_object_source(v->obj, &r->maps[j], b->loop, &ret);
			if (!v->sources[j])
				return ret;
			v->nsources++;
		}
		ret = bind_span_streams(b, v, r);
		if (ret)
			return ret;
		log_info("config %s: %zu of %zu programs attached, %zu metric maps, %zu span "
			 "streams%s",
			 v->obj->name, v->obj->nattached, v->obj->nprograms - v->obj->ntargeted,
			 v->nsources, v->nspan_streams,
			 is_shared(b->prev, v->obj) ? " (object unchanged: kept loaded)" : "");
		if (v->obj->ntargeted)
			log_info("config %s: %zu program(s) attach per process, to those targets: "
				 "selects",
				 v->obj->name, v->obj->ntargeted);
	}
	return 0;
}

/* A reload is no counter reset: the counters Lua adds to, and the read
 * errors of maps whose object was loaded anew, go on from the previous
 * generation's config of the same name. */
static void carry_counters(const struct elx_generation *prev, struct elx_generation *gen)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_view *v = &gen->views[i];
		const struct elx_view *old = find_view(prev, v->obj->name);

		if (!old)
			continue;
		v->counters = old->counters;
		for (size_t j = 0; j < v->nsources; j++) {
			for (size_t k = 0; k < old->nsources; k++) {
				if (strcmp(old->sources[k]->map, v->sources[j]->map) == 0 &&
				    old->sources[k] != v->sources[j])
					v->sources[j]->read_errors = old->sources[k]->read_errors;
			}
		}
	}
}

/* `missing` configs were named but do not exist: the others are still
 * checked, so that one run reports every mistake. */
static int run_phases(struct build *b, size_t missing)
{
	int ret = start_lua(b->gen, b->flags);

	if (ret)
		return ret;
	ret = open_and_configure(b);
	if (ret < 0)
		return ret;
	if (ret || missing)
		return -EINVAL;
	ret = apply_kaddrs(b);
	if (!ret)
		ret = load_new_objects(b);
	if (!ret)
		ret = bind_sources(b);
	return ret;
}

static void end_build(struct build *b)
{
	for (size_t i = 0; b->replies && i < b->nnames; i++)
		elx_config_reply_free(&b->replies[i]);
	free(b->replies);
	elx_config_names_free(b->names, b->nnames);
}

/* Objects this build made go; kept ones lose the sources it added. */
static void undo_build(struct build *b)
{
	for (size_t i = 0; b->gen && i < b->gen->nviews; i++) {
		if (!is_shared(b->prev, b->gen->views[i].obj))
			free_object(b->gen->views[i].obj);
	}
	if (b->prev)
		prune_sources((struct elx_generation *)b->prev);
	free_generation(b->gen);
}

int elx_generation_build(const struct elx_generation *prev, const struct elx_flags *flags,
			 uv_loop_t *loop, struct elx_generation **out)
{
	struct build b = { .prev = prev, .flags = flags, .loop = loop };
	size_t n, missing;
	int ret = -ENOMEM;

	*out = NULL;
	b.names = elx_config_names(flags, &b.nnames, &missing);
	n = b.nnames + 1;
	b.gen = calloc(1, sizeof(*b.gen));
	if (b.gen) {
		b.gen->views = calloc(n, sizeof(*b.gen->views));
		b.gen->scrapes = calloc(n, sizeof(*b.gen->scrapes));
	}
	b.replies = calloc(n, sizeof(*b.replies));
	if (!b.names)
		ret = -EINVAL;
	else if (b.gen && b.gen->views && b.gen->scrapes && b.replies)
		ret = run_phases(&b, missing);
	if (ret) {
		undo_build(&b);
		end_build(&b);
		return ret;
	}
	carry_counters(prev, b.gen);
	if (b.gen->nloaded)
		post_attach_mark();
	for (size_t i = 0; i < b.gen->nviews; i++)
		b.gen->views[i].obj->refs++;
	end_build(&b);
	*out = b.gen;
	return 0;
}

void elx_generation_retire(struct elx_generation *old, struct elx_generation *current)
{
	if (!old)
		return;
	for (size_t i = 0; i < old->nviews; i++) {
		struct elx_object *o = old->views[i].obj;

		if (o && --o->refs == 0)
			free_object(o);
	}
	if (current)
		prune_sources(current);
	free_generation(old);
}

void elx_generation_free_at_exit(struct elx_generation *gen)
{
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		struct elx_object *o = gen->views[i].obj;

		if (o && --o->refs == 0)
			free_object(o);
	}
	free_generation_as(gen, 1);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void elx_generation_read(struct elx_generation *gen, struct elx_scrape *scrape, int read_maps)
{
	elx_generation_read_some(gen, scrape, read_maps, NULL);
}

void elx_generation_read_some(struct elx_generation *gen, struct elx_scrape *scrape, int read_maps,
			      const unsigned char *selected)
{
	size_t n = 0;

	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_view *v = &gen->views[i];
		struct elx_config_scrape *out = &gen->scrapes[n];
		uint64_t start = monotonic_ns();

		if (selected && !selected[i])
			continue;
		n++;

		for (size_t j = 0; read_maps && j < v->nsources; j++)
			elx_source_read(v->obj, v->sources[j], &v->batches[j]);
		if (scrape->stats_enabled)
			elx_object_read_stats(v->obj);
		out->name = v->obj->name;
		out->nbatches = (uint32_t)v->nsources;
		out->batches = v->batches;
		out->nprograms = (uint32_t)v->obj->nprograms;
		out->programs = v->obj->programs;
		out->counters = &v->counters;
		out->read_ns = monotonic_ns() - start;
	}
	scrape->nconfigs = (uint32_t)n;
	scrape->configs = gen->scrapes;
}

int elx_generation_activate(struct elx_generation *gen, struct elx_span_export *export)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_view *v = &gen->views[i];

		for (size_t j = 0; j < v->nspan_streams; j++) {
			struct elx_span_target *t = &v->span_targets[j];
			int origin =
			    export ? elx_span_export_origin(export, t->config, t->service) : 0;

			if (origin < 0)
				return origin;
			t->export = export;
			t->origin = (uint16_t)origin;
			elx_span_reader_target(v->span_sources[j]->spans,
					       export ? elx_span_target_deliver : NULL, t);
		}
	}
	return 0;
}

size_t elx_generation_span_streams(const struct elx_generation *gen)
{
	size_t n = 0;

	for (size_t i = 0; gen && i < gen->nviews; i++)
		n += gen->views[i].nspan_streams;
	return n;
}

size_t elx_generation_attached(const struct elx_generation *gen, size_t *total)
{
	size_t attached = 0;

	*total = 0;
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		attached += gen->views[i].obj->nattached;
		/* Programs of targets attach per process, not at load. */
		*total += gen->views[i].obj->nprograms - gen->views[i].obj->ntargeted;
	}
	return attached;
}
