/* One config's BPF object: open, load, attach every program, read its metric
 * maps, detach and close; shared by reload generations while unchanged. */
#ifndef ELX_OBJECT_H
#define ELX_OBJECT_H

#include <stddef.h>

#include <uv.h>

#include "abi.h"
#include "event_counter.h"
#include "map_reader.h"
#include "span_reader.h"

struct bpf_object;
struct bpf_link;
struct elx_targets;

/* The links of one program: one, or one per CPU for perf_event/ programs. */
struct elx_program_links {
	struct bpf_link **links;
	size_t n;
};

/* How one metric map is read at a scrape: whole, with a reader whose buffers
 * are allocated once, or as a stream of records (an event counter). */
struct elx_source {
	char *map;
	uint32_t record_size; /* 0 for a reader */
	struct elx_map_reader reader;
	struct elx_event_counter *events;
	struct elx_span_reader *spans; /* a span stream's: not read at scrapes */
	uint64_t read_errors;	       /* failed reads, handed to Lua in each batch */
	int marked;		       /* used by the generation being pruned for */
};

/* A config's object as loaded in the kernel. Generations share it while its
 * .bpf.o is unchanged, so its maps, links and event counts live on across
 * reloads. */
struct elx_object {
	char *name;    /* the config name */
	char *path;    /* <dir>/<name>.bpf.o */
	uint64_t hash; /* of the .bpf.o file's bytes */
	void *image;   /* those bytes, until the object is loaded */
	size_t image_len;
	char *kaddrs_signature; /* the kaddrs it was loaded with: "sym1,sym2," */
	int refs;		/* generations using it */
	int loaded;		/* load and attach have run */
	struct bpf_object *obj;
	struct elx_map_info *map_infos;
	size_t nmap_infos;
	struct elx_program_links *links; /* one per program; n = 0 when not attached */
	struct elx_program *programs;
	char (*tags)[17];
	char **attach_errors; /* per program: why it did not attach, or NULL */
	int *prog_fds;
	size_t nprograms;
	size_t nattached;
	struct elx_source **sources; /* by map name; a map has one of each kind at most */
	size_t nsources;
	struct elx_targets *targets; /* programs attached per process (targets.c), or NULL */
	size_t ntargeted;	     /* how many: they are not attached at load */
};

/* A file's FNV-1a hash, to tell whether a .bpf.o changed. Returns 0 or -errno. */
int elx_object_file_hash(const char *path, uint64_t *hash);

/* Opens <dir>/<name>.bpf.o and describes its maps; btf_path (or NULL) is the
 * kernel BTF to use instead of /sys/kernel/btf/vmlinux. The file is read
 * once: a child process opens and loads those bytes first (object_check.h),
 * and libbpf here parses the same bytes only when the child got through.
 * Returns 0 or -errno and logs nothing: *err says what went wrong
 * (malloc'd). */
int elx_object_open(struct elx_object *o, const char *dir, const char *name, const char *btf_path,
		    char **err);

/* Whether the object was opened anew, or loaded with other kaddrs than
 * these (then the same .bpf.o must load again). */
int elx_object_kaddrs_differ(const struct elx_object *o, char *const *kaddrs, size_t n);

/* Before load: writes the addresses of the kaddrs (read from `kallsyms`)
 * into the object's kaddr_<symbol> variables, and remembers which they were.
 * Returns 0 or -errno with *err malloc'd. */
int elx_object_set_kaddrs(struct elx_object *o, char *const *kaddrs, size_t n, const char *kallsyms,
			  char **err);

/* Loads into the kernel: the verifier's reason for a rejection is logged by
 * libbpf through our print callback. */
int elx_object_load(struct elx_object *o);

/* Attaches every program from its SEC() name, but those of `targets:`.
 * Failures are logged; with `strict` the first one is returned, else 0. */
int elx_object_attach(struct elx_object *o, int strict);

/* The source that reads metric map `m`: the object's own if it has one of
 * that kind (an event counter takes the new flush interval), else a new one
 * (event counters start counting on `loop` at once). NULL with *ret set. */
struct elx_source *elx_object_source(struct elx_object *o, const struct elx_metric_map *m,
				     uv_loop_t *loop, int *ret);

/* The source that reads ring buffer `map` as a span stream: the object's
 * own if it has one, else a new one, reading on `loop` at once (its
 * batches dropped until a target is set). NULL with *ret set. */
struct elx_source *elx_object_span_source(struct elx_object *o, const char *map, uv_loop_t *loop,
					  int *ret);

/* Frees the sources not marked, and clears the marks. */
void elx_object_prune_sources(struct elx_object *o);

/* Reads a source into `out`; a read error lands in out->error. */
void elx_source_read(struct elx_object *o, struct elx_source *s, struct elx_batch *out);

/* Refreshes the programs' run stats (when the kernel counts them). */
void elx_object_read_stats(struct elx_object *o);

/* Detaches every link, stops every source and closes the object. */
void elx_object_close(struct elx_object *o);

#endif
