/* Attaching programs: libbpf's SEC() auto-attach, plus the forms in
 * attach.c's table of section kinds: ebpf_exporter's
 * perf_event/type=<n>,config=<n>,frequency=<n> (one perf event per online
 * CPU) and xdp/<ifname>. */
#ifndef ELX_ATTACH_H
#define ELX_ATTACH_H

#include <stddef.h>

struct bpf_program;
struct bpf_link;

/* Teaches libbpf every SEC() form of the table; call before opening any
 * object (later calls do nothing). Returns 0 or -errno. */
int elx_attach_register_handlers(void);

/* Attaches one program. On success *links holds *nlinks links (malloc'd; a
 * perf_event program has one per online CPU). On failure *err says why
 * (malloc'd) and no link is left behind. Returns 0 or -errno. */
int elx_attach_program(struct bpf_program *prog, struct bpf_link ***links, size_t *nlinks,
		       char **err);

/* Detaches what elx_attach_program attached for `prog`, the way its section
 * kind says, and frees the array. */
void elx_attach_detach(const struct bpf_program *prog, struct bpf_link **links, size_t nlinks);

/* Parses "type=1,config=0,frequency=99" (the part after "perf_event/").
 * Exposed for tests. Returns 0 or -EINVAL with *err set. */
struct perf_event_attr;
int elx_attach_parse_perf_event(const char *spec, struct perf_event_attr *attr, char **err);

/* Parses a CPU list such as "0-3,5" into a malloc'd array. Exposed for tests. */
int elx_attach_parse_cpus(const char *list, int **cpus, size_t *ncpus);

#endif
