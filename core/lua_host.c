/* A LuaJIT state running lua/exporter/core.lua. Every call goes through
 * lua_pcall with a traceback handler: a Lua error becomes a message. */
#define _GNU_SOURCE
#include "lua_host.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_config.h"
#include "log.h"

struct elx_lua {
	lua_State *L;
	int core_ref; /* the exporter.core module table */
};

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
	return 1;
}

static char *dup_error(lua_State *L, int idx)
{
	const char *msg = lua_tostring(L, idx);

	return strdup(msg ? msg : "unknown Lua error");
}

/* Pushes core[fn] and the traceback handler; returns the handler's index. */
static int push_call(struct elx_lua *lua, const char *fn)
{
	lua_State *L = lua->L;

	lua_pushcfunction(L, traceback);
	int handler = lua_gettop(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, lua->core_ref);
	lua_getfield(L, -1, fn);
	lua_remove(L, -2);
	return handler;
}

/* Runs a call pushed by push_call whose function returns (value) or
 * (nil, message). Leaves the value on the stack on success. */
static int finish_call(struct elx_lua *lua, int handler, int nargs, char **err)
{
	lua_State *L = lua->L;

	if (lua_pcall(L, nargs, 2, handler) != 0) {
		*err = dup_error(L, -1);
		lua_settop(L, handler - 1);
		return -EINVAL;
	}
	if (lua_isnil(L, -2)) {
		*err = dup_error(L, -1);
		lua_settop(L, handler - 1);
		return -EINVAL;
	}
	lua_pop(L, 1);
	return 0;
}

static void set_string_list(lua_State *L, const char *field, char **items, size_t n)
{
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, items[i]);
		lua_rawseti(L, -2, (int)i + 1);
	}
	lua_setfield(L, -2, field);
}

int elx_lua_new(struct elx_lua **out, const struct elx_flags *flags, char **err)
{
	struct elx_lua *lua = calloc(1, sizeof(*lua));
	int ret = -ENOMEM;

	*err = NULL;
	if (!lua)
		goto fail;
	lua->L = luaL_newstate();
	if (!lua->L)
		goto fail;
	lua_State *L = lua->L;
	luaL_openlibs(L);

	/* Our modules first; LUA_PATH still adds to them for users' own. */
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s;%s", ELX_LUA_PATH, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);

	lua_pushcfunction(L, traceback);
	lua_getglobal(L, "require");
	lua_pushstring(L, "exporter.core");
	if (lua_pcall(L, 1, 1, -3) != 0) {
		*err = dup_error(L, -1);
		ret = -EINVAL;
		goto fail;
	}
	lua->core_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_pop(L, 1);

	int handler = push_call(lua, "init");
	lua_newtable(L);
	lua_pushstring(L, flags->config_dir);
	lua_setfield(L, -2, "config_dir");
	lua_pushnumber(L, (lua_Number)flags->config_cache_size);
	lua_setfield(L, -2, "cache_size");
	lua_pushnumber(L, (lua_Number)flags->config_skip_cache_size);
	lua_setfield(L, -2, "skip_cache_size");
	set_string_list(L, "decoder_dirs", flags->decoder_dirs, flags->ndecoder_dirs);
	ret = finish_call(lua, handler, 1, err);
	if (ret)
		goto fail;
	lua_settop(L, 0);
	*out = lua;
	return 0;
fail:
	if (!*err)
		*err = strdup("cannot create a Lua state: out of memory");
	elx_lua_free(lua);
	return ret;
}

/* Copies the strings of list field `field` of the table on top. */
static int get_string_list(lua_State *L, const char *field, char ***items, size_t *n)
{
	lua_getfield(L, -1, field);
	size_t len = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;
	char **list = calloc(len + 1, sizeof(*list));

	if (!list) {
		lua_pop(L, 1);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		lua_rawgeti(L, -1, (int)i + 1);
		const char *s = lua_tostring(L, -1);
		list[i] = strdup(s ? s : "");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	*items = list;
	*n = len;
	return 0;
}

/* Copies the `maps` list of the table on top: {name, record_size, flush_ms}. */
static int get_metric_maps(lua_State *L, struct elx_config_plan *plan)
{
	lua_getfield(L, -1, "maps");
	size_t len = lua_istable(L, -1) ? lua_objlen(L, -1) : 0;

	plan->maps = calloc(len + 1, sizeof(*plan->maps));
	if (!plan->maps) {
		lua_pop(L, 1);
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		struct elx_metric_map *m = &plan->maps[i];

		lua_rawgeti(L, -1, (int)i + 1);
		lua_getfield(L, -1, "name");
		m->name = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "");
		lua_getfield(L, -2, "record_size");
		m->record_size = (uint32_t)lua_tonumber(L, -1);
		lua_getfield(L, -3, "flush_ms");
		m->flush_ms = (uint64_t)lua_tonumber(L, -1);
		lua_pop(L, 4);
		plan->nmaps++;
	}
	lua_pop(L, 1);
	return 0;
}

int elx_lua_configure(struct elx_lua *lua, const char *name, const struct elx_map_info *infos,
		      size_t ninfos, struct elx_config_plan *plan, char **err)
{
	lua_State *L = lua->L;
	int handler = push_call(lua, "configure");
	int ret;

	memset(plan, 0, sizeof(*plan));
	lua_pushstring(L, name);
	if (infos)
		lua_pushlightuserdata(L, (void *)infos);
	else
		lua_pushnil(L);
	lua_pushnumber(L, (lua_Number)ninfos);
	ret = finish_call(lua, handler, 3, err);
	if (ret)
		return ret;
	ret = get_metric_maps(L, plan);
	if (!ret)
		ret = get_string_list(L, "kaddrs", &plan->kaddrs, &plan->nkaddrs);
	lua_settop(L, handler - 1);
	if (ret) {
		elx_config_plan_free(plan);
		*err = strdup("out of memory");
	}
	return ret;
}

void elx_config_plan_free(struct elx_config_plan *plan)
{
	for (size_t i = 0; i < plan->nmaps; i++)
		free(plan->maps[i].name);
	free(plan->maps);
	for (size_t i = 0; i < plan->nkaddrs; i++)
		free(plan->kaddrs[i]);
	free(plan->kaddrs);
	memset(plan, 0, sizeof(*plan));
}

int elx_lua_render(struct elx_lua *lua, const char *fn, struct elx_scrape *scrape, char **body,
		   size_t *len, char **err)
{
	lua_State *L = lua->L;
	int handler = push_call(lua, fn);
	int ret;

	scrape->body = NULL;
	scrape->body_len = 0;
	lua_pushlightuserdata(L, scrape);
	ret = finish_call(lua, handler, 1, err);
	lua_settop(L, handler - 1);
	if (ret) {
		free(scrape->body);
		scrape->body = NULL;
		return ret;
	}
	/* Lua filled it with elx_scrape_set_body(); the HTTP server frees it
	 * after the write completes. */
	*body = scrape->body;
	*len = scrape->body_len;
	scrape->body = NULL;
	return 0;
}

static char *field_string(lua_State *L, int idx, const char *name)
{
	const char *s;
	char *copy;

	lua_getfield(L, idx, name);
	s = lua_tostring(L, -1);
	copy = strdup(s ? s : "");
	lua_pop(L, 1);
	return copy;
}

int elx_lua_cgroup_operations(struct elx_lua *lua, int rescan, struct elx_cgroup_op **ops,
			      size_t *n, char **err)
{
	lua_State *L = lua->L;
	int handler = push_call(lua, "cgroup_operations");
	size_t len;
	int ret;

	*ops = NULL;
	*n = 0;
	lua_pushboolean(L, rescan);
	ret = finish_call(lua, handler, 1, err);
	if (ret)
		return ret;
	len = lua_objlen(L, -1);
	*ops = calloc(len ? len : 1, sizeof(**ops));
	if (!*ops) {
		lua_settop(L, handler - 1);
		*err = strdup("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		struct elx_cgroup_op *op = &(*ops)[i];
		char *type, *what, *id;

		lua_rawgeti(L, -1, (int)i + 1);
		op->config = field_string(L, -1, "config");
		op->map = field_string(L, -1, "map");
		op->path = field_string(L, -1, "path");
		type = field_string(L, -1, "type");
		what = field_string(L, -1, "op");
		id = field_string(L, -1, "id");
		op->storage = strcmp(type, "cgrp_storage") == 0;
		op->set = strcmp(what, "set") == 0;
		op->id = strtoull(id, NULL, 10); /* decimal strings keep 64-bit ids exact */
		free(type);
		free(what);
		free(id);
		lua_pop(L, 1);
		(*n)++;
	}
	lua_settop(L, handler - 1);
	return 0;
}

void elx_cgroup_ops_free(struct elx_cgroup_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ops[i].config);
		free(ops[i].map);
		free(ops[i].path);
	}
	free(ops);
}

int elx_lua_cgroup_watch_fd(struct elx_lua *lua)
{
	lua_State *L = lua->L;
	int handler = push_call(lua, "cgroup_watch_fd");
	char *err = NULL;
	int fd;

	if (finish_call(lua, handler, 0, &err) != 0) {
		log_error("cgroup_id_map: %s", err);
		free(err);
		return -1;
	}
	fd = (int)lua_tonumber(L, -1);
	lua_settop(L, handler - 1);
	return fd;
}

int elx_lua_call_string(struct elx_lua *lua, const char *fn, const char *arg, char **result,
			char **err)
{
	lua_State *L = lua->L;
	int handler = push_call(lua, fn);
	int ret;

	lua_pushstring(L, arg);
	ret = finish_call(lua, handler, 1, err);
	if (ret)
		return ret;
	if (result) {
		const char *s = lua_tostring(L, -1);

		*result = strdup(s ? s : "");
	}
	lua_settop(L, handler - 1);
	return 0;
}

void elx_lua_free(struct elx_lua *lua)
{
	if (!lua)
		return;
	if (lua->L)
		lua_close(lua->L);
	free(lua);
}
