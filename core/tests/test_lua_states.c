/* Lua states that hold objects of FFI-loaded libraries, closed one after the
 * other as reloads close generations: every close must run the objects'
 * finalizers into a library that is still mapped (lua/exporter/libc.lua,
 * load_library). Half of the states also drop the modules and collect before
 * closing, so that a library's namespace dies in the same GC cycle as the
 * objects it allocated: without the lifetime rule that crashed here. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

#include "build_config.h"
#include "check.h"

#define STATES 200

/* What a generation does with the regexp decoder: compile patterns (JIT and
 * interpreted), match, and keep them referenced from the state. */
static const char *const COMPILE =
    "local pcre2 = require('exporter.pcre2')\n"
    "kept = kept or {}\n"
    "for i = 1, 20 do\n"
    "  local re = assert(pcre2.compile('^(elx)-' .. i .. '$', 0, { jit = i % 2 == 0 }))\n"
    "  assert(re:match('elx-' .. i))\n"
    "  kept[#kept + 1] = re\n"
    "end\n";

static const char *const FORGET =
    "kept = nil\n"
    "for name in pairs(package.loaded) do\n"
    "  if name:match('^exporter%.') then package.loaded[name] = nil end\n"
    "end\n"
    "collectgarbage('collect')\n";

static void run(lua_State *L, const char *chunk)
{
	if (luaL_dostring(L, chunk) != 0) {
		fprintf(stderr, "lua: %s\n", lua_tostring(L, -1));
		exit(1);
	}
}

static lua_State *new_state(void)
{
	lua_State *L = luaL_newstate();

	CHECK(L);
	luaL_openlibs(L);
	lua_getglobal(L, "package");
	lua_getfield(L, -1, "path");
	lua_pushfstring(L, "%s;%s", ELX_BUILD_LUA_PATH, lua_tostring(L, -1));
	lua_setfield(L, -3, "path");
	lua_pop(L, 2);
	return L;
}

int main(void)
{
	for (int i = 0; i < STATES; i++) {
		lua_State *L = new_state();

		run(L, COMPILE);
		if (i % 2) {
			run(L, FORGET);
			run(L, COMPILE);
		}
		lua_close(L);
	}
	printf("%d Lua states holding PCRE2 objects closed\n", STATES);
	return 0;
}
