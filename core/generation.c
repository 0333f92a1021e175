/* Generations: a Lua state and the configs it serves, built whole before it
 * replaces the running one, so that a reload either fully happens or changes
 * nothing. Objects whose .bpf.o (and kaddrs) did not change carry over with
 * their maps, links and event counts. */
#define _GNU_SOURCE
#include "generation.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kaddrs.h"
#include "log.h"

/* An empty function that programs may probe with
 * SEC("uprobe//proc/self/exe:post_attach_mark") to run once their object is
 * attached: called after every build that attached new objects. */
__attribute__((noinline, used)) ELX_EXPORT void post_attach_mark(void)
{
	__asm__ volatile("" ::: "memory");
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **elx_generation_names(const struct elx_flags *flags, size_t *n)
{
	char **names;

	*n = 0;
	if (!flags->config_names_all) {
		names = calloc(flags->nconfig_names + 1, sizeof(*names));
		for (size_t i = 0; names && i < flags->nconfig_names; i++)
			names[(*n)++] = strdup(flags->config_names[i]);
		return names;
	}
	/* "all": every <name>.yaml that has its <name>.bpf.o next to it. */
	DIR *d = opendir(flags->config_dir);
	struct dirent *ent;
	size_t cap = 16;

	if (!d) {
		log_error("--config.dir=%s: %s", flags->config_dir, strerror(errno));
		return NULL;
	}
	names = calloc(cap + 1, sizeof(*names));
	while (names && (ent = readdir(d))) {
		size_t len = strlen(ent->d_name);
		char *object;

		if (len <= 5 || strcmp(ent->d_name + len - 5, ".yaml") != 0 ||
		    ent->d_name[0] == '.')
			continue;
		if (asprintf(&object, "%s/%.*s.bpf.o", flags->config_dir, (int)(len - 5),
			     ent->d_name) < 0)
			break;
		int present = access(object, R_OK) == 0;

		free(object);
		if (!present)
			continue;
		if (*n == cap) {
			char **grown = realloc(names, (cap * 2 + 1) * sizeof(*names));

			if (!grown)
				break;
			names = grown;
			cap *= 2;
		}
		names[(*n)++] = strndup(ent->d_name, len - 5);
		names[*n] = NULL;
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), compare_names);
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* kaddrs are part of what an object is: the same .bpf.o with other kaddrs
 * must load again. */
static char *kaddrs_signature(const struct elx_config_plan *plan)
{
	size_t len = 1;
	char *sig;

	for (size_t i = 0; i < plan->nkaddrs; i++)
		len += strlen(plan->kaddrs[i]) + 1;
	sig = calloc(1, len);
	for (size_t i = 0; sig && i < plan->nkaddrs; i++) {
		strcat(sig, plan->kaddrs[i]);
		strcat(sig, ",");
	}
	return sig;
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

/* Keeps the sources `gen` reads, in every object it uses, and frees the
 * others (a failed build's, or a retired generation's). */
static void prune_sources(struct elx_generation *gen)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		for (size_t j = 0; j < gen->views[i].nsources; j++)
			gen->views[i].sources[j]->marked = 1;
	}
	for (size_t i = 0; i < gen->nviews; i++)
		elx_object_prune_sources(gen->views[i].obj);
}

static void free_object(struct elx_object *o)
{
	if (!o)
		return;
	free(o->kaddrs_signature); /* before close, which clears the object */
	elx_object_close(o);
	free(o);
}

static void free_generation(struct elx_generation *gen)
{
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		free(gen->views[i].sources);
		free(gen->views[i].batches);
	}
	if (gen) {
		elx_lua_free(gen->lua);
		free(gen->views);
		free(gen->scrapes);
		free(gen);
	}
}

/* Carries the counters kept in Lua (decoder and read errors) over to the
 * new state, so a reload is no counter reset for them. */
static void carry_stats(const struct elx_generation *prev, struct elx_generation *gen)
{
	char *stats = NULL, *err = NULL;

	if (!prev)
		return;
	if (elx_lua_call_string(prev->lua, "export_stats", "", &stats, &err) == 0)
		elx_lua_call_string(gen->lua, "import_stats", stats, NULL, &err);
	if (err) {
		log_warn("carrying counters over the reload: %s", err);
		free(err);
	}
	free(stats);
}

int elx_generation_build(const struct elx_generation *prev, const struct elx_flags *flags,
			 uv_loop_t *loop, struct elx_generation **out)
{
	struct elx_generation *gen = calloc(1, sizeof(*gen));
	struct elx_config_plan *plans = NULL;
	size_t nnames = 0;
	char **names = elx_generation_names(flags, &nnames);
	char *err = NULL;
	int failed = 0, ret = -EINVAL;

	*out = NULL;
	if (!gen || !names)
		goto fail;
	ret = elx_lua_new(&gen->lua, flags, &err);
	if (ret) {
		elx_log_lines(ELX_ERROR, err);
		goto fail;
	}
	gen->views = calloc(nnames ? nnames : 1, sizeof(*gen->views));
	gen->scrapes = calloc(nnames ? nnames : 1, sizeof(*gen->scrapes));
	plans = calloc(nnames ? nnames : 1, sizeof(*plans));
	ret = -ENOMEM;
	if (!gen->views || !gen->scrapes || !plans)
		goto fail;

	/* Every config is opened and checked before any loads, so that one run
	 * reports every mistake in every config. */
	for (size_t i = 0; i < nnames; i++) {
		struct elx_object *o = reusable(prev, flags->config_dir, names[i]);
		int opened = o != NULL;

		if (!o) {
			o = calloc(1, sizeof(*o));
			if (!o)
				goto fail;
			opened = elx_object_open(o, flags->config_dir, names[i], flags->btf_path,
						 &err) == 0;
			if (!opened) {
				log_error("%s", err ? err : "out of memory");
				free(err);
				err = NULL;
				failed = 1;
			}
		}
		gen->views[gen->nviews++].obj = o;
		if (elx_lua_configure(gen->lua, names[i], opened ? o->map_infos : NULL,
				      opened ? o->nmap_infos : 0, &plans[i], &err) != 0) {
			elx_log_lines(ELX_ERROR, err);
			free(err);
			err = NULL;
			failed = 1;
		}
	}
	/* The same .bpf.o with other kaddrs is another object: reload it. */
	for (size_t i = 0; !failed && i < gen->nviews; i++) {
		struct elx_object *o = gen->views[i].obj;
		char *sig = kaddrs_signature(&plans[i]);

		if (is_shared(prev, o) && o->kaddrs_signature && sig &&
		    strcmp(sig, o->kaddrs_signature) != 0) {
			struct elx_object *fresh = calloc(1, sizeof(*fresh));

			if (!fresh || elx_object_open(fresh, flags->config_dir, names[i],
						      flags->btf_path, &err) != 0) {
				log_error("%s", err ? err : "out of memory");
				free(err);
				err = NULL;
				free(fresh);
				failed = 1;
			} else {
				gen->views[i].obj = fresh;
				o = fresh;
			}
		}
		if (!failed && !is_shared(prev, o)) {
			free(o->kaddrs_signature);
			o->kaddrs_signature = sig;
			sig = NULL;
			if (elx_kaddrs_set(o->obj, plans[i].kaddrs, plans[i].nkaddrs,
					   "/proc/kallsyms", &err) != 0) {
				log_error("%s.yaml: %s", o->name, err ? err : "out of memory");
				free(err);
				err = NULL;
				failed = 1;
			}
		}
		free(sig);
	}
	if (failed) {
		ret = -EINVAL;
		goto fail;
	}
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_object *o = gen->views[i].obj;

		if (is_shared(prev, o))
			continue;
		ret = elx_object_load(o);
		if (!ret)
			ret = elx_object_attach(o, flags->config_strict);
		if (ret)
			goto fail;
		gen->nloaded++;
	}
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_view *v = &gen->views[i];

		v->sources = calloc(plans[i].nmaps ? plans[i].nmaps : 1, sizeof(*v->sources));
		v->batches = calloc(plans[i].nmaps ? plans[i].nmaps : 1, sizeof(*v->batches));
		ret = -ENOMEM;
		if (!v->sources || !v->batches)
			goto fail;
		for (size_t j = 0; j < plans[i].nmaps; j++) {
			v->sources[j] = elx_object_source(v->obj, &plans[i].maps[j], loop, &ret);
			if (!v->sources[j])
				goto fail;
			v->nsources++;
		}
		log_info("config %s: %zu of %zu programs attached, %zu metric maps%s", v->obj->name,
			 v->obj->nattached, v->obj->nprograms, v->nsources,
			 is_shared(prev, v->obj) ? " (object unchanged: kept loaded)" : "");
	}
	carry_stats(prev, gen);
	if (gen->nloaded)
		post_attach_mark();
	for (size_t i = 0; i < gen->nviews; i++)
		gen->views[i].obj->refs++;
	for (size_t i = 0; i < nnames; i++)
		elx_config_plan_free(&plans[i]);
	free(plans);
	free_names(names, nnames);
	*out = gen;
	return 0;
fail:
	free(err);
	/* Objects this build made go; shared ones lose the sources it added. */
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		if (!is_shared(prev, gen->views[i].obj)) {
			free_object(gen->views[i].obj);
			gen->views[i].obj = NULL;
		}
	}
	if (prev)
		prune_sources((struct elx_generation *)prev);
	for (size_t i = 0; plans && i < nnames; i++)
		elx_config_plan_free(&plans[i]);
	free(plans);
	free_names(names, nnames);
	free_generation(gen);
	return ret ? ret : -EINVAL;
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

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void elx_generation_read(struct elx_generation *gen, struct elx_scrape *scrape)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_view *v = &gen->views[i];
		struct elx_config_scrape *out = &gen->scrapes[i];
		uint64_t start = monotonic_ns();

		for (size_t j = 0; j < v->nsources; j++)
			elx_source_read(v->obj, v->sources[j], &v->batches[j]);
		if (scrape->stats_enabled)
			elx_object_read_stats(v->obj);
		out->name = v->obj->name;
		out->nbatches = (uint32_t)v->nsources;
		out->batches = v->batches;
		out->nprograms = (uint32_t)v->obj->nprograms;
		out->programs = v->obj->programs;
		out->read_ns = monotonic_ns() - start;
	}
	scrape->nconfigs = (uint32_t)gen->nviews;
	scrape->configs = gen->scrapes;
}

size_t elx_generation_attached(const struct elx_generation *gen, size_t *total)
{
	size_t attached = 0;

	*total = 0;
	for (size_t i = 0; gen && i < gen->nviews; i++) {
		attached += gen->views[i].obj->nattached;
		*total += gen->views[i].obj->nprograms;
	}
	return attached;
}
