/* Lua's answer to ELX_ENTRY_CONFIGURE for one config, copied out of the Lua
 * state: the metric maps to read at each scrape, the kaddrs to set and the
 * ring buffers read as spans. */
#ifndef ELX_CONFIG_REPLY_H
#define ELX_CONFIG_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "lua_host.h"

struct bpf_object;

struct elx_config_reply {
	struct elx_metric_map *maps; /* names are malloc'd copies */
	size_t nmaps;
	char **kaddrs;
	size_t nkaddrs;
	struct elx_span_stream *streams; /* map and service malloc'd (service may be NULL) */
	size_t nstreams;
	char **targets; /* programs attached per process by `targets:` */
	size_t ntargets;
	uint64_t grace_ms; /* how long an exited target's keys stay */
};

/* Asks Lua to parse and bind config `name` against the maps and programs
 * of its opened object (`infos` and `obj` NULL when it could not be opened:
 * the YAML alone is then checked). Returns 0 or -errno with *err malloc'd
 * (every mistake, a line each). */
int elx_config_reply_ask(struct elx_lua *lua, const char *name, const struct elx_map_info *infos,
			 size_t ninfos, const struct bpf_object *obj,
			 struct elx_config_reply *reply, char **err);

void elx_config_reply_free(struct elx_config_reply *reply);

#endif
