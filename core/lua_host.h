/* A LuaJIT state running lua/exporter/core.lua: created at start (and, on
 * reload, anew), called with pcall so a Lua error never takes the core down. */
#ifndef ELX_LUA_HOST_H
#define ELX_LUA_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "flags.h"

struct elx_lua;

/* A metric map as configure() describes it. */
struct elx_metric_map {
	char *name;
	uint32_t record_size; /* 0: read the map whole; else count its records' label bytes */
	uint64_t flush_ms;    /* event counters: how often their counts start afresh */
};

/* What configure() answered for one config. */
struct elx_config_plan {
	struct elx_metric_map *maps; /* metric maps to read at each scrape, in Lua's order */
	size_t nmaps;
	char **kaddrs; /* kernel symbols whose addresses go into kaddr_<sym> */
	size_t nkaddrs;
};

/* Creates the state and runs core.init with the flags. On failure *err is a
 * malloc'd message. Returns 0 or -errno. */
int elx_lua_new(struct elx_lua **out, const struct elx_flags *flags, char **err);

/* Parses and validates <name>.yaml against the object's maps (infos may be
 * NULL when the object could not be opened: the YAML alone is checked). */
int elx_lua_configure(struct elx_lua *lua, const char *name, const struct elx_map_info *infos,
		      size_t ninfos, struct elx_config_plan *plan, char **err);
void elx_config_plan_free(struct elx_config_plan *plan);

/* Builds a page from one read of the maps into a malloc'd body: `fn` is
 * "scrape" (the exposition text) or "maps" (the --debug /maps page). */
int elx_lua_render(struct elx_lua *lua, const char *fn, struct elx_scrape *scrape, char **body,
		   size_t *len, char **err);

/* One update of a cgroup_id_map, as Lua's policy asks for it. */
struct elx_cgroup_op {
	char *config;
	char *map;
	int storage; /* cgrp_storage (keyed by a cgroup fd) rather than a hash of ids */
	int set;     /* else delete */
	uint64_t id;
	char *path;
};

/* The cgroup_id_map updates to apply now (all matching cgroups the first
 * time); `rescan` walks cgroupfs first. *ops is malloc'd; free it with
 * elx_cgroup_ops_free. Returns 0 or -errno with *err set. */
int elx_lua_cgroup_operations(struct elx_lua *lua, int rescan, struct elx_cgroup_op **ops,
			      size_t *n, char **err);
void elx_cgroup_ops_free(struct elx_cgroup_op *ops, size_t n);

/* The fd to watch for cgroup changes; 0 to poll on a timer instead; -1 when
 * no config has a cgroup_id_map. */
int elx_lua_cgroup_watch_fd(struct elx_lua *lua);

/* Calls core[fn](arg) for a string back (*result malloc'd; result may be NULL
 * when the answer does not matter). Returns 0 or -errno with *err set. */
int elx_lua_call_string(struct elx_lua *lua, const char *fn, const char *arg, char **result,
			char **err);

void elx_lua_free(struct elx_lua *lua);

#endif
