/* cgroup_id_map: applying the updates Lua's policy asks for to the maps of
 * the loaded objects. */
#ifndef ELX_CGROUP_MAP_H
#define ELX_CGROUP_MAP_H

#include <stddef.h>

#include "generation.h"
#include "lua_host.h"

/* Applies each operation to the map it names in `gen`'s objects; failures
 * are logged (a cgroup gone before its update is no failure). Returns how
 * many failed. */
size_t elx_cgroup_map_apply(struct elx_generation *gen, const struct elx_cgroup_op *ops,
			    size_t nops);

#endif
