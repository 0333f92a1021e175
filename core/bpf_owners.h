/* --collector.bpf.program-owners: which processes hold each BPF program,
 * by an fd on the program or on one of its links, as /proc tells. */
#ifndef ELX_BPF_OWNERS_H
#define ELX_BPF_OWNERS_H

#include <stddef.h>

#include "abi.h"

struct elx_bpf_owners {
	struct elx_bpf_owner *owners; /* by program id, then pid; one per pair */
	size_t n, cap;
};

/* Scans every process's fds anew. Processes that end or deny the scan are
 * skipped. Returns 0, or -errno when /proc cannot be read or memory ran out
 * (the owners found so far are kept). */
int elx_bpf_owners_scan(struct elx_bpf_owners *o);

void elx_bpf_owners_free(struct elx_bpf_owners *o);

#endif
