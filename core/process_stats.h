/* The exporter's own process: CPU, memory, fds and start time, as
 * Prometheus client libraries export them (process_* metrics). */
#ifndef ELX_PROCESS_STATS_H
#define ELX_PROCESS_STATS_H

#include "abi.h"

/* Fills *p from getrusage, getrlimit and /proc/self; a field that cannot
 * be read stays 0. */
void elx_process_stats_read(struct elx_process *p);

#endif
