/* The running generation's process targets: what the process watch learns
 * goes to the generation's Lua (ELX_ENTRY_PROCESSES), which says which
 * program each process gets; the links are made here and in targets.c.
 * Exited processes' keys are deleted when their grace period is over, on a
 * timer set for that moment. */
#ifndef ELX_PROCESS_TARGETS_H
#define ELX_PROCESS_TARGETS_H

#include <uv.h>

#include "generation.h"

struct elx_process_targets;

/* Follows processes for `gen`'s configs: starts the watch when one of them
 * has targets (stops it when none has) and asks gen's Lua state for every
 * attachment, from a listing of /proc. Call after each generation change;
 * *pt is NULL before the first call. Returns 0 or -errno (logged). */
int elx_process_targets_update(struct elx_process_targets **pt, struct elx_generation *gen,
			       uv_loop_t *loop);

/* Stops following processes (the links go with their objects). NULL is a
 * no-op. */
void elx_process_targets_stop(struct elx_process_targets *pt);

#endif
