/* Where the binary finds its Lua modules: next to where it was installed,
 * or, for the binary the build made, in the source tree it was built from. */
#ifndef ELX_LUA_PATH_H
#define ELX_LUA_PATH_H

#include <stddef.h>

/* Writes the package.path templates of our modules ("<dir>/?.lua", ...)
 * into buf. Returns 0, or -errno when the binary's own path is unknown or
 * buf is too small. */
int elx_lua_path(char *buf, size_t len);

#endif
