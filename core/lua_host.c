/* Owns a LuaJIT state: creates it, loads exporter.entry, runs its
 * dispatcher under lua_pcall with a traceback handler, closes it. The data of
 * a call goes through elx_call and the structs of abi.h, never the Lua stack.
 *
 * It also guards the state against users' decoder code (struct elx_guard in
 * abi.h): the state's allocator refuses to grow the heap past the limit Lua
 * sets around users' calls, and a watchdog stops users' code that runs past
 * its time budget.
 *
 * The watchdog: LuaJIT checks hooks only in the interpreter, never inside a
 * compiled trace, and a hook set all the time would both slow every scrape
 * and keep the JIT from compiling anything. So no hook is set while things go
 * well. Lua compiles users' chunks with jit.off (they always run in the
 * interpreter) and, when users' code starts (elx_guard_enter), a one-shot
 * POSIX timer is armed for what remains of the section's budget. If it fires, its signal handler
 * does the one thing that is safe there, lua_sethook (the Lua manual allows it from a signal
 * handler: it only sets a few fields), with a count hook that runs at the next interpreted
 * instruction. The hook, in normal context, looks at the time users' code has really spent: past
 * the budget, it raises an error (again at every instruction of users' code after that, so a pcall
 * in it cannot swallow it); short of it (the section also ran our own code), it sets the timer for
 * the rest; outside users' code, it takes itself away. */
#define _GNU_SOURCE
#include "lua_host.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lua_path.h"
#include "build_config.h"
#include "log.h"

struct elx_lua {
	lua_State *L;
	int dispatch_ref;     /* exporter.entry's dispatch function */
	int budget_error_ref; /* the error the hook raises, made before it is needed */
	lua_Alloc base_alloc; /* LuaJIT's own allocator, which does the work */
	void *base_ud;
	struct elx_guard guard;
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

/* ---------------------------------------------------------- the guard */

/* The state whose watchdog is armed: one at a time, since every Lua call
 * runs on the loop's thread. */
static struct elx_lua *volatile watched;
static timer_t watchdog_timer;
static int watchdog_ready; /* 1: timer and handler set up; -errno: they cannot be */

/* Counts the heap and fails growth past the limit: LuaJIT raises "not enough
 * memory", which the users' call's pcall gets. Shrinking and freeing never
 * fail, as the allocator contract requires. */
static void *guarded_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct elx_lua *lua = ud;
	struct elx_guard *g = &lua->guard;
	void *p;

	if (nsize > osize && g->heap_limit && g->heap_bytes + (nsize - osize) > g->heap_limit)
		return NULL;
	p = lua->base_alloc(lua->base_ud, ptr, osize, nsize);
	if (p || nsize == 0)
		g->heap_bytes += nsize - osize; /* modulo 2^64: a shrink subtracts */
	return p;
}

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_timer(double seconds)
{
	struct itimerspec its = { 0 };

	if (seconds > 0) {
		its.it_value.tv_sec = (time_t)seconds;
		its.it_value.tv_nsec = (long)((seconds - (double)its.it_value.tv_sec) * 1e9);
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1; /* zero would disarm */
	}
	timer_settime(watchdog_timer, 0, &its, NULL);
}

/* Users' chunks are loaded with "=<path>" as their name (exporter.sandbox),
 * ours with "@<path>": the hook raises only in theirs, never in our code
 * that they called or that runs their calls. */
static int in_users_code(lua_State *L, lua_Debug *ar)
{
	return lua_getinfo(L, "S", ar) && ar->source && ar->source[0] == '=';
}

static void watchdog_hook(lua_State *L, lua_Debug *ar)
{
	struct elx_lua *lua = watched;
	struct elx_guard *g = lua ? &lua->guard : NULL;
	double spent;

	if (!g || !g->entered) {
		/* Our own code runs: users' next call arms the timer again. */
		if (g)
			g->armed = 0;
		lua_sethook(L, NULL, 0, 0);
		return;
	}
	spent = g->spent + (monotonic() - g->entered);
	if (spent < g->budget && !g->expired) {
		lua_sethook(L, NULL, 0, 0);
		set_timer(g->budget - spent);
		return;
	}
	g->expired = 1;
	if (!in_users_code(L, ar))
		return; /* the hook stays: it fires again when theirs resumes */
	lua_rawgeti(L, LUA_REGISTRYINDEX, lua->budget_error_ref);
	lua_error(L);
}

static void on_watchdog(int signum)
{
	struct elx_lua *lua = watched;

	if (lua)
		lua_sethook(lua->L, watchdog_hook, LUA_MASKCOUNT, 1);
}

/* One timer for the process, delivered to this thread only (libuv's pool
 * threads never run Lua). SA_RESTART: a system call that the signal meets
 * in our own code goes on. */
static int watchdog_setup(void)
{
	struct sigaction sa = { .sa_handler = on_watchdog, .sa_flags = SA_RESTART };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGALRM };

	if (watchdog_ready)
		return watchdog_ready < 0 ? watchdog_ready : 0;
	sigemptyset(&sa.sa_mask);
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (sigaction(SIGALRM, &sa, NULL) != 0 ||
	    timer_create(CLOCK_MONOTONIC, &sev, &watchdog_timer) != 0) {
		watchdog_ready = -errno;
		log_error("the decoder watchdog cannot start: %s; decoders run without a time "
			  "limit",
			  strerror(errno));
		return watchdog_ready;
	}
	watchdog_ready = 1;
	return 0;
}

static struct elx_lua *lua_of(struct elx_guard *guard)
{
	return (struct elx_lua *)((char *)guard - offsetof(struct elx_lua, guard));
}

/* Without a watchdog (it could not start), users' code runs without a time
 * limit, and the log has said so once. */
ELX_EXPORT int elx_guard_enter(struct elx_guard *guard, uint64_t heap_limit)
{
	if (guard->expired || guard->spent >= guard->budget)
		return 1;
	if (!guard->armed && watchdog_setup() == 0) {
		watched = lua_of(guard);
		guard->armed = 1;
		set_timer(guard->budget - guard->spent);
	}
	guard->entered = monotonic();
	guard->heap_limit = heap_limit;
	return 0;
}

/* The ceiling goes first: Lua code after the call must not fail for users'
 * memory. */
ELX_EXPORT int elx_guard_leave(struct elx_guard *guard)
{
	guard->heap_limit = 0;
	guard->spent += monotonic() - guard->entered;
	guard->entered = 0;
	return (int)guard->expired;
}

/* The timer stops first: a signal it had pending is delivered before
 * timer_settime returns, so after it nothing sets the hook again. */
ELX_EXPORT void elx_guard_disarm(struct elx_guard *guard)
{
	struct elx_lua *lua = lua_of(guard);

	if (watchdog_ready > 0 && watched == lua) {
		set_timer(0);
		watched = NULL;
		lua_sethook(lua->L, NULL, 0, 0);
	}
	guard->armed = 0;
}

/* Wraps LuaJIT's allocator, from a heap count that starts at what the state
 * holds now, and makes the hook's error before it is needed: raising it must
 * not allocate, the heap may be at its limit. */
static void guard_init(struct elx_lua *lua)
{
	lua_State *L = lua->L;

	lua->base_alloc = lua_getallocf(L, &lua->base_ud);
	lua->guard.heap_bytes =
	    (uint64_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (uint64_t)lua_gc(L, LUA_GCCOUNTB, 0);
	lua_setallocf(L, guarded_alloc, lua);
	lua_pushliteral(L, "decoder code ran past its time budget");
	lua->budget_error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* After every call: nothing of a section outlives it, even when Lua failed
 * before it could end the section itself. */
static void guard_reset(struct elx_lua *lua)
{
	if (lua->guard.armed || watched == lua)
		elx_guard_disarm(&lua->guard);
	lua->guard.heap_limit = 0;
	lua->guard.entered = 0;
}

/* ---------------------------------------------------------- the state */

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
	guard_init(lua);
	/* A collection cycle starts as soon as the last one ends (pause 100; Lua's
	 * 200 waits until the heap doubles). A cold scrape makes a few strings per
	 * key, garbage at once; with 200 it piled up to the live heap's size again,
	 * and the allocator kept the pages it had touched: RSS with 100,000 series
	 * 25.5 -> 20.2 MiB, and cold scrapes no slower (ELX_BENCH_ONLY=scrape make
	 * bench prints both). */
	lua_gc(lua->L, LUA_GCSETPAUSE, 100);
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
	elx_call = (struct elx_call){ .entry = entry, .arg = arg, .guard = &lua->guard };
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
	guard_reset(lua);
	elx_call = (struct elx_call){ 0 };
	return ret;
}

void elx_lua_free(struct elx_lua *lua)
{
	if (!lua)
		return;
	if (lua->L) {
		guard_reset(lua);
		lua_close(lua->L);
	}
	free(lua);
}

/* lua_close runs every finalizer and frees every object one by one: with
 * 100,000 series that is 40 to 100 ms of a shutdown that exit() does in one
 * unmapping of the heap. Nothing in the state needs flushing: its finalizers
 * free memory and close descriptors (fanotify's), which the exit does as
 * well. A sanitizer build closes it all the same, so that the leak checker
 * sees every allocation of ours freed. */
void elx_lua_abandon(struct elx_lua *lua)
{
#ifdef ELX_SANITIZE
	elx_lua_free(lua);
#else
	if (!lua)
		return;
	if (lua->L)
		guard_reset(lua);
	free(lua);
#endif
}
