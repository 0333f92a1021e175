/* One config's BPF object: open, load, attach every program, read its metric
 * maps at each scrape, detach and close. */
#ifndef ELX_OBJECT_H
#define ELX_OBJECT_H

#include <stddef.h>

#include <uv.h>

#include "abi.h"
#include "event_counter.h"
#include "lua_host.h"
#include "map_reader.h"

struct bpf_object;
struct bpf_link;

/* The links of one program: one, or one per CPU for perf_event/ programs. */
struct elx_program_links {
	struct bpf_link **links;
	size_t n;
};

struct elx_object {
	char *name; /* the config name */
	char *path; /* <dir>/<name>.bpf.o */
	struct bpf_object *obj;
	struct elx_map_info *map_infos;
	size_t nmap_infos;
	struct elx_program_links *links; /* one per program; n = 0 when not attached */
	struct elx_program *programs;
	char (*tags)[17];
	int *prog_fds;
	size_t nprograms;
	size_t nattached;
	/* One per metric map, in Lua's order: a map read whole at each scrape,
	 * or an event counter fed by the map's records. */
	struct elx_map_reader *readers;
	struct elx_event_counter *events;
	struct elx_batch *batches; /* their batches, contiguous for Lua */
	size_t nreaders;
};

/* Opens <dir>/<name>.bpf.o and describes its maps; btf_path (or NULL) is the
 * kernel BTF to use instead of /sys/kernel/btf/vmlinux. Returns 0 or -errno
 * and logs nothing: *err says what went wrong (malloc'd). */
int elx_object_open(struct elx_object *o, const char *dir, const char *name, const char *btf_path,
		    char **err);

/* Loads into the kernel: the verifier's reason for a rejection is logged by
 * libbpf through our print callback. */
int elx_object_load(struct elx_object *o);

/* Attaches every program from its SEC() name. Failures are logged; with
 * `strict` the first one is returned, else 0. */
int elx_object_attach(struct elx_object *o, int strict);

/* Prepares a reader or an event counter for each metric map, after load;
 * event counters start counting on `loop` at once. */
int elx_object_bind_maps(struct elx_object *o, const struct elx_metric_map *maps, size_t nmaps,
			 uv_loop_t *loop);

/* Reads every metric map; fills `out` for Lua. Read errors land in the
 * batches (error != 0), never fail the whole config. */
void elx_object_read(struct elx_object *o, struct elx_config_scrape *out, int stats_enabled);

/* Detaches every link and closes the object. Event counters' libuv handles
 * are closed: the loop must run their close callbacks before `o` is reused. */
void elx_object_close(struct elx_object *o);

#endif
