/* Process discovery for targets: execs, forks and exits from our own BPF
 * program (core/bpf/process_watch.bpf.c) through a ring buffer read on the
 * loop, and a scan of /proc at start, when the kernel lost events, and every
 * RESCAN_MS as a safety net. Nothing polls in between. */
#ifndef ELX_PROCESS_WATCH_H
#define ELX_PROCESS_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "abi.h"

struct elx_process_watch;

/* A batch of what the watch learned. `listing`: the batch is a scan, every
 * process there was (FOUND events only). */
typedef void (*elx_process_watch_fn)(void *ctx, const struct elx_process_event *events, size_t n,
				     int listing);

/* Loads and attaches the program and starts reading on `loop`. Returns 0, or
 * -errno with *err malloc'd. */
int elx_process_watch_start(uv_loop_t *loop, elx_process_watch_fn fn, void *ctx,
			    struct elx_process_watch **out, char **err);

/* Whether a process's exit and forks are sent: those it has links in. */
int elx_process_watch_set(struct elx_process_watch *w, uint32_t pid, int watched);

/* Sends every fork, not only watched parents' (a selector on parent_comm). */
void elx_process_watch_all_forks(struct elx_process_watch *w, int on);

/* Scans /proc now and hands the listing to the callback. Returns 0 or -errno. */
int elx_process_watch_scan(struct elx_process_watch *w);

/* Records the kernel could not send, since the start. */
uint64_t elx_process_watch_lost(const struct elx_process_watch *w);

/* Detaches the program and stops reading; NULL is a no-op. */
void elx_process_watch_stop(struct elx_process_watch *w);

#endif
