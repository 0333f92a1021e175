/* cgroup_id_map: keeps the maps configs name there filled with the cgroups
 * whose paths match, as cgroups come and go. Lua's policy says which cgroups
 * belong (ELX_ENTRY_CGROUP_SYNC); this owns the watch on the loop and every
 * map update. */
#ifndef ELX_CGROUP_ID_MAP_H
#define ELX_CGROUP_ID_MAP_H

#include <uv.h>

#include "generation.h"

struct elx_cgroup_watch;

/* Fills every cgroup_id_map of `gen`, then follows cgroup changes on `loop`
 * (fanotify, or a rescan timer where the kernel cannot tell). *out is NULL
 * when no config of `gen` has a cgroup_id_map. Returns 0 or -errno. */
int elx_cgroup_id_map_start(struct elx_generation *gen, uv_loop_t *loop,
			    struct elx_cgroup_watch **out);

/* Stops following changes; call before `gen`'s Lua state closes (it owns
 * the watched fd). NULL is a no-op. */
void elx_cgroup_id_map_stop(struct elx_cgroup_watch *w);

#endif
