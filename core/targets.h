/* Programs that `targets:` attaches per process: for each, its links by
 * process, keyed by the device and inode of the file each was placed in;
 * the processes that exited, whose keys go when their grace period is over.
 * Lua decides which process gets which program (core/process_targets.c
 * brings its answers here). */
#ifndef ELX_TARGETS_H
#define ELX_TARGETS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "abi.h"

struct elx_object;
struct bpf_program;
struct bpf_link;

/* One link in one process. */
struct elx_target_link {
	uint32_t pid;
	int marked;	  /* wanted by the listing under way */
	uint64_t started; /* the process's start time: a reused pid is another process */
	dev_t dev;	  /* the file the probe is in */
	ino_t ino;
	struct bpf_link *link;
};

enum elx_target_kind { ELX_TARGET_UPROBE, ELX_TARGET_URETPROBE, ELX_TARGET_USDT };

struct elx_target_program {
	size_t index; /* among the object's programs */
	struct bpf_program *prog;
	enum elx_target_kind kind;
	char *path;	/* from SEC(): the binary as a target sees it */
	char *func;	/* uprobes: the function, */
	uint64_t delta; /* and the offset into it ("func+0x10") */
	char *provider; /* USDT */
	char *name;
	struct elx_target_link *links;
	size_t nlinks, cap;
	uint64_t errors; /* attaches that failed, since load */
};

/* Where a metric map's keys hold the process id. */
struct elx_pid_field {
	char *map;
	uint32_t offset;
	uint32_t size;
};

/* A process whose links are gone; its keys go at `due_ms`. */
struct elx_target_exit {
	uint32_t pid;
	uint64_t started;
	uint64_t due_ms;
};

struct elx_targets {
	struct elx_target_program *programs;
	size_t nprograms;
	char *signature; /* "a,b,": the targeted programs, to tell a changed config */
	uint64_t grace_ms;
	struct elx_pid_field *fields;
	size_t nfields;
	struct elx_target_exit *exits;
	size_t nexits, cap;
};

/* Before load: the programs named (SEC() parsed) leave the object's
 * attach to targets. Returns 0 or -errno with *err malloc'd. */
int elx_targets_new(struct elx_object *o, char *const *programs, size_t n, char **err);

/* Whether the object targets another set of programs than these (then the
 * .bpf.o must load again: its programs attach differently). */
int elx_targets_differ(const struct elx_object *o, char *const *programs, size_t n);

/* The grace period and the pid fields of the maps, from the config (a reload
 * may change them on a kept object). Returns 0 or -ENOMEM. */
int elx_targets_configure(struct elx_targets *t, uint64_t grace_ms,
			  const struct elx_metric_map *maps, size_t nmaps);

/* The targeted program at the object's program index, or NULL. */
struct elx_target_program *elx_targets_program_at(struct elx_targets *t, size_t index);

/* Attaches program `name` to process `pid` on `binary` (NULL: the SEC()
 * path). A link there already, on the same file, is kept (and marked). When
 * the pid's keys were waiting for their grace period: the same process
 * (an exec) keeps them; another (a reused pid) has them deleted first, and
 * *purged is set. Returns 1 attached, 0 kept, or -errno (logged, counted). */
int elx_targets_attach(struct elx_object *o, const char *name, uint32_t pid, const char *binary,
		       int *purged);

/* Destroys the process's links; when it had some, its keys go after the
 * grace period. Returns how many links went. */
size_t elx_targets_detach(struct elx_object *o, uint32_t pid, uint64_t now_ms);

/* Whether the process has a link in any program. */
int elx_targets_has(const struct elx_targets *t, uint32_t pid);

/* A listing: marks clear, attaches mark, sweep detaches what is unmarked. */
void elx_targets_unmark(struct elx_targets *t);
size_t elx_targets_sweep(struct elx_object *o, uint64_t now_ms);

/* Detaches links of processes that are gone or whose pid now names another
 * process (pids not in `present`, sorted, or with another start time). */
size_t elx_targets_drop_stale(struct elx_object *o, const uint32_t *present, size_t n,
			      uint64_t now_ms);

/* Deletes the keys of processes whose grace period is over (or of `pid` at
 * once, when it is not 0: a pid reused by a new process). Their pids go into
 * gone[] (up to max). Returns how many. */
size_t elx_targets_purge(struct elx_object *o, uint64_t now_ms, uint32_t pid, uint32_t *gone,
			 size_t max);

/* Whether a purge is pending, and the earliest due time. */
int elx_targets_next_purge(const struct elx_targets *t, uint64_t *due_ms);

/* Copies the counts into the object's program stats for the scrape. */
void elx_targets_publish(struct elx_object *o);

/* Destroys every link. NULL is a no-op. */
void elx_targets_free(struct elx_targets *t);

#endif
