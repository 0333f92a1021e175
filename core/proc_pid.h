/* What /proc says about a process, for targets: the file it runs for a path
 * as it sees that path (inside its mount namespace), and when it started. */
#ifndef ELX_PROC_PID_H
#define ELX_PROC_PID_H

#include <stddef.h>
#include <stdint.h>

/* The path a process's executable stands for in SEC() names and `binary:`. */
#define ELX_PROC_SELF_EXE "/proc/self/exe"

/* Opens, read-only, the very file process `pid` runs for `path`:
 *  - its executable (/proc/PID/exe) when `path` is ELX_PROC_SELF_EXE or the
 *    executable's own path, even after that file was replaced on disk;
 *  - else the file mapped at `path` (/proc/PID/map_files/...), a library it
 *    has loaded, replaced on disk or not;
 *  - else `path` inside its root and mount namespace (/proc/PID/root/path),
 *    for a library it has not loaded yet.
 * Returns the fd, or -errno with *err malloc'd. */
int elx_proc_open_binary(uint32_t pid, const char *path, char **err);

/* When the process started, in clock ticks after boot (field 22 of
 * /proc/PID/stat): a pid with another start time is another process.
 * Returns 0 or -errno (-ENOENT: no such process). */
int elx_proc_start_time(uint32_t pid, uint64_t *ticks);

/* The process's command (/proc/PID/comm) into buf, "?" when unknown. */
void elx_proc_comm(uint32_t pid, char *buf, size_t len);

#endif
