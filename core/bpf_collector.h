/* --collector.bpf: every BPF program, map, link and BTF object in the
 * kernel, walked at each metrics scrape into the arrays of a struct
 * elx_bpf_scrape (abi_bpf.h) that Lua turns into families. */
#ifndef ELX_BPF_COLLECTOR_H
#define ELX_BPF_COLLECTOR_H

#include "abi.h"
#include "flags.h"

struct elx_bpf_collector;

/* A collector for what the flags ask (*out stays NULL without
 * --collector.bpf). Loads the entry-counting iterator when
 * --collector.bpf.map-entries asks for it, so it must run before
 * capabilities are dropped. Returns 0 or -ENOMEM. */
int elx_bpf_collector_new(const struct elx_flags *flags, struct elx_bpf_collector **out);

/* Walks the kernel's objects now. Objects that go away mid-walk are left
 * out; any other failure costs its object and counts in the part's errors,
 * never the walk. The result is the collector's until its next collect. */
const struct elx_bpf_scrape *elx_bpf_collector_collect(struct elx_bpf_collector *c);

void elx_bpf_collector_free(struct elx_bpf_collector *c);

/* The entry counter, for tests that count without the kernel's counts. */
struct elx_map_entries *elx_bpf_collector_entries(struct elx_bpf_collector *c);

/* Test hook: called in the walk of the kernel's objects between getting an
 * id and opening it, so that a test can make the object go away there. */
void elx_bpf_collector_set_walk_hook(struct elx_bpf_collector *c,
				     void (*hook)(enum elx_bpf_part part, uint32_t id, void *arg),
				     void *arg);

#endif
