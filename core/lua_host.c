/* Owns a LuaJIT state: creates it, loads exporter.entry, runs its
 * dispatcher under lua_pcall with a traceback handler, closes it. The data of
 * a call goes through elx_call and the structs of abi.h, never the Lua stack. */
#define _GNU_SOURCE
#include "lua_host.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lua_path.h"

struct elx_lua {
	lua_State *L;
	int dispatch_ref; /* exporter.entry's dispatch function */
};

/* A module that is not where we look: require's message lists every file it
 * tried, a line each, plus a traceback. One line says the same: the module
 * and the path it was looked for on. */
static int missing_module(lua_State *L, const char *msg)
{
	const char *start = strstr(msg, "module '");
	const char *end = start ? strstr(start + 8, "' not found:") : NULL;
	const char *path;

	if (!end)
		return 0;
	lua_pushlstring(L, start + 8, (size_t)(end - start - 8));
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	path = lua_tostring(L, -1);
	lua_pushfstring(L, "Lua module '%s' not found on the Lua path %s", lua_tostring(L, -3),
			path ? path : "(package.path is not a string)");
	return 1;
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	if (msg && missing_module(L, msg))
		return 1;
	luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
	return 1;
}

static char *pop_error(lua_State *L)
{
	const char *msg = lua_tostring(L, -1);
	char *copy = strdup(msg ? msg : "unknown Lua error");

	lua_pop(L, 1);
	return copy;
}

/* Our modules first (lua_path.c says where); the default path, LUA_PATH or
 * where LuaRocks installs, comes after them. */
static int set_path(lua_State *L, char **err)
{
	char ours[PATH_MAX + 64];
	int ret = elx_lua_path(ours, sizeof(ours));

	if (ret) {
		if (asprintf(err, "cannot tell where the Lua modules are: /proc/self/exe: %s",
			     strerror(-ret)) < 0)
			*err = NULL;
		return ret;
	}
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s;%s", ours, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	return 0;
}

/* require("exporter.entry").dispatch, kept in the registry. */
static int load_entry(struct elx_lua *lua, char **err)
{
	lua_State *L = lua->L;

	lua_pushcfunction(L, traceback);
	lua_getglobal(L, "require");
	lua_pushstring(L, "exporter.entry");
	if (lua_pcall(L, 1, 1, -3) != 0) {
		*err = pop_error(L);
		lua_settop(L, 0);
		return -EINVAL;
	}
	lua_getfield(L, -1, "dispatch");
	if (!lua_isfunction(L, -1)) {
		*err = strdup("exporter.entry has no dispatch function");
		lua_settop(L, 0);
		return -EINVAL;
	}
	lua->dispatch_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	lua_settop(L, 0);
	return 0;
}

int elx_lua_new(struct elx_lua **out, char **err)
{
	struct elx_lua *lua = calloc(1, sizeof(*lua));
	int ret = -ENOMEM;

	*err = NULL;
	if (!lua || !(lua->L = luaL_newstate()))
		goto fail;
	luaL_openlibs(lua->L);
	ret = set_path(lua->L, err);
	if (!ret)
		ret = load_entry(lua, err);
	if (ret)
		goto fail;
	*out = lua;
	return 0;
fail:
	if (!*err)
		*err = strdup("cannot create a Lua state: out of memory");
	elx_lua_free(lua);
	return ret;
}

int elx_lua_call(struct elx_lua *lua, enum elx_entry entry, void *arg, char **err)
{
	lua_State *L = lua->L;
	int ret = 0;

	*err = NULL;
	elx_call = (struct elx_call){ .entry = entry, .arg = arg };
	lua_pushcfunction(L, traceback);
	lua_rawgeti(L, LUA_REGISTRYINDEX, lua->dispatch_ref);
	if (lua_pcall(L, 0, 0, -2) != 0) {
		*err = pop_error(L);
		ret = -EINVAL;
	} else if (elx_call.error) {
		*err = strdup(elx_call.error);
		ret = -EINVAL;
	}
	lua_settop(L, 0);
	elx_call = (struct elx_call){ 0 };
	return ret;
}

void elx_lua_free(struct elx_lua *lua)
{
	if (!lua)
		return;
	if (lua->L)
		lua_close(lua->L);
	free(lua);
}
