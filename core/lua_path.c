/* Where the binary finds its Lua modules. An installed binary looks only
 * relative to itself (<bindir>/../share/ebpf-lua-exporter/lua, as `make
 * install` and the Debian package lay it out), so a tree moved as a whole
 * keeps working and a stale build tree is never picked up by accident. Only
 * the binary that sits in the build directory itself runs the source tree's
 * modules, so that `make run` and the specs see edits without an install. */
#define _GNU_SOURCE
#include "lua_path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build_config.h"

/* The directory of the running binary, resolved ("" for "/"): /proc/self/exe
 * is the file the kernel executed, whatever argv[0] or a symlink said. */
static int exe_dir(char *dir, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", dir, len - 1);
	char *slash;

	if (n <= 0 || (size_t)n >= len - 1)
		return n < 0 ? -errno : -ENAMETOOLONG;
	dir[n] = '\0';
	slash = strrchr(dir, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	return 0;
}

#ifdef ELX_BUILD_DIR
static int is_build_dir(const char *dir)
{
	char build[PATH_MAX];

	return realpath(ELX_BUILD_DIR, build) && strcmp(build, dir) == 0;
}
#endif

/* <dir>/<rel> with each leading "../" of rel taken off dir, so that
 * messages show plain paths: dir is resolved already, and "/.." is "/". */
static int join(char *buf, size_t len, char *dir, const char *rel)
{
	int n;

	for (; strncmp(rel, "../", 3) == 0; rel += 3) {
		char *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
	}
	n = snprintf(buf, len, "%s/%s/?.lua;%s/%s/?/init.lua", dir, rel, dir, rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int elx_lua_path(char *buf, size_t len)
{
	char dir[PATH_MAX];
	int ret = exe_dir(dir, sizeof(dir));

	if (ret)
		return ret;
#ifdef ELX_BUILD_DIR
	if (is_build_dir(dir)) {
		int n = snprintf(buf, len, "%s", ELX_BUILD_LUA_PATH);

		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
#endif
	return join(buf, len, dir, ELX_LUA_RELDIR);
}
