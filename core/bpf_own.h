/* The exporter's own BPF objects, found from its own fds (/proc/self/fd):
 * which ids are its own, what they cost the kernel, and the fds through
 * which the collector reads them when it may not see the others. */
#ifndef ELX_BPF_OWN_H
#define ELX_BPF_OWN_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "fdinfo.h"

struct elx_own_object {
	uint32_t id;
	int fd; /* one of the process's fds on it: not the scan's to close */
	uint64_t memlock;
	uint64_t run_time_ns;
	uint64_t run_count;
};

/* Per kind, sorted by id, one entry per object however many fds hold it. */
struct elx_own_objects {
	struct elx_own_object *objects[ELX_FD_NKINDS];
	size_t n[ELX_FD_NKINDS];
	size_t cap[ELX_FD_NKINDS];
};

/* Scans the process's fds anew into `own` (whose arrays are kept for the
 * next scan) and sums what its maps and programs cost into `totals`.
 * Returns 0 or -errno (/proc unreadable, or out of memory). */
int elx_own_scan(struct elx_own_objects *own, struct elx_bpf_own *totals);

/* The own object of that kind and id, or NULL. */
const struct elx_own_object *elx_own_find(const struct elx_own_objects *own, enum elx_fd_kind kind,
					  uint32_t id);

void elx_own_free(struct elx_own_objects *own);

#endif
