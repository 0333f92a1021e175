/* --prog-stats-mode: the kernel counts every program's runs and run time
 * only while someone holds a BPF_ENABLE_STATS fd (or kernel.bpf_stats_enabled
 * is 1). `enabled` holds one from start to exit; `sample` holds one for
 * --prog-stats-sample-duration every --prog-stats-sample-interval, the
 * first window opening at start, so that the cost of counting is paid only
 * that fraction of the time. */
#ifndef ELX_PROG_STATS_MODE_H
#define ELX_PROG_STATS_MODE_H

#include <uv.h>

#include "abi.h"
#include "flags.h"

struct elx_prog_stats_control;

/* Starts the mode of the flags on `loop` (nothing for `disabled`). A failing
 * BPF_ENABLE_STATS (no CAP_SYS_ADMIN) is logged once and counted, and
 * retried at each window. Returns 0 or -ENOMEM. */
int elx_prog_stats_mode_start(uv_loop_t *loop, const struct elx_flags *flags,
			      struct elx_prog_stats_control **out);

/* The mode's state now, for a scrape; NULL for `disabled`. */
const struct elx_prog_stats *elx_prog_stats_mode_read(struct elx_prog_stats_control *m);

/* Closes the fd (the kernel stops counting for us) and the timers. */
void elx_prog_stats_mode_stop(struct elx_prog_stats_control *m);

#endif
