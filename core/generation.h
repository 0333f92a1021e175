/* A generation: one Lua state and the configs it serves, each a view over a
 * loaded object. Reloads build a new generation next to the running one and
 * swap them; objects whose .bpf.o did not change are shared, not reloaded. */
#ifndef ELX_GENERATION_H
#define ELX_GENERATION_H

#include <stddef.h>
#include <uv.h>

#include "abi.h"
#include "flags.h"
#include "object.h"

/* One config as a generation serves it: its object and, in Lua's order, the
 * source of each metric map. */
struct elx_view {
	struct elx_object *obj;
	struct elx_source **sources;
	struct elx_batch *batches; /* contiguous for Lua */
	size_t nsources;
	struct elx_config_counters counters; /* carried to the next generation */
	/* Span streams, in tracing.spans order: each ring buffer's source and
	 * where its batches go while this generation serves the config. */
	struct elx_source **span_sources;
	struct elx_span_target *span_targets;
	size_t nspan_streams;
};

struct elx_lua;
struct elx_span_export;
struct elx_span_target;

struct elx_generation {
	struct elx_lua *lua;
	struct elx_view *views;
	struct elx_config_scrape *scrapes;
	size_t nviews;
	size_t nloaded; /* objects this generation loaded (not shared with the previous) */
};

/* Builds the next generation: parses and checks every config in a new Lua
 * state, reuses prev's objects whose .bpf.o is unchanged, loads and attaches
 * the others. Every problem is logged. On failure nothing of prev changes
 * and *out is NULL. Returns 0 or -errno. */
int elx_generation_build(const struct elx_generation *prev, const struct elx_flags *flags,
			 uv_loop_t *loop, struct elx_generation **out);

/* Frees what `old` has that `current` does not use: objects (detached and
 * closed), sources, its Lua state. `current` may be NULL (shutdown). */
void elx_generation_retire(struct elx_generation *old, struct elx_generation *current);

/* At process exit: detaches and closes every object of `gen` (so that no
 * program, link or map of ours outlives the process by a moment) and frees
 * the C side, but leaves the Lua state to the exit (elx_lua_abandon). */
void elx_generation_free_at_exit(struct elx_generation *gen);

/* Fills scrape->configs: programs and counters, and with `read_maps` every
 * source read now (else the batches are those of the last read). */
void elx_generation_read(struct elx_generation *gen, struct elx_scrape *scrape, int read_maps);

/* The same for the views whose `selected[i]` is set (NULL: every one): the
 * others are neither read nor in scrape->configs (collect[], exclude[]). */
void elx_generation_read_some(struct elx_generation *gen, struct elx_scrape *scrape, int read_maps,
			      const unsigned char *selected);

/* Points the span streams of every config at this generation's Lua state
 * and at the export (NULL: their records are dropped): call it when the
 * generation starts serving. Returns 0 or -errno. */
int elx_generation_activate(struct elx_generation *gen, struct elx_span_export *export);

/* How many span streams (tracing.spans) its configs read. */
size_t elx_generation_span_streams(const struct elx_generation *gen);

/* Programs attached, and their total. */
size_t elx_generation_attached(const struct elx_generation *gen, size_t *total);

#endif
