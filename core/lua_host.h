/* A LuaJIT state running lua/exporter/entry.lua: created at start (and, on
 * reload, anew) and called through one dispatcher, with lua_pcall, so that a
 * Lua error never takes the core down. What a call carries is in abi.h. */
#ifndef ELX_LUA_HOST_H
#define ELX_LUA_HOST_H

#include "abi.h"

struct elx_lua;

/* Creates the state and loads the entry module. On failure *err is a
 * malloc'd message. Returns 0 or -errno. */
int elx_lua_new(struct elx_lua **out, char **err);

/* Calls Lua's `entry` with `arg` (the struct abi.h names for it). Returns 0,
 * or -EINVAL with *err a malloc'd message: the reason Lua gave, or the Lua
 * error and its traceback. */
int elx_lua_call(struct elx_lua *lua, enum elx_entry entry, void *arg, char **err);

void elx_lua_free(struct elx_lua *lua);

/* At process exit, instead of elx_lua_free: ends any call's guard and frees
 * the host's own struct, but does not close the state (see lua_host.c). */
void elx_lua_abandon(struct elx_lua *lua);

#endif
