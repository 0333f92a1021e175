/* Whether a config file is still being written, for --config.watch. */
#ifndef ELX_WATCH_BUSY_H
#define ELX_WATCH_BUSY_H

#include <stddef.h>

#define ELX_WATCH_BUSY_MAX_DIRS 32

/* 1 when another process has a .yaml, .bpf.o or .lua file directly in one
 * of `dirs` open for writing; `busy` then names the file and the process.
 * 0 otherwise (also when /proc cannot be read). */
int elx_watch_busy(const char *const *dirs, size_t ndirs, char *busy, size_t len);

#endif
