/* Tests of targets' links and grace periods with a real object and process
 * (targets_test.bpf.o, elx-targets-target): an attach is made once and kept,
 * a detach schedules the process's keys, which go exactly when the grace
 * period ends and no sooner, and only that process's; an exec (the same
 * process attached again) keeps its keys. Needs root and BPF. */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "check.h"
#include "link_closer.h"
#include "object.h"
#include "targets.h"

#define TARGET ELX_SPEC_DIR "/elx-targets-target"

struct key {
	uint32_t pid;
	uint32_t command;
};

static pid_t child;

/* A failed CHECK exits: the target goes too. */
static void kill_child(void)
{
	if (child > 0)
		kill(child, SIGKILL);
}

static pid_t spawn(void)
{
	child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		dup2(null, 2);
		execl(TARGET, TARGET, "test-target-links", "1", (char *)NULL);
		_exit(127);
	}
	atexit(kill_child);
	usleep(200000); /* exec'd by then */
	return child;
}

static int map_fd(struct elx_object *o)
{
	return bpf_map__fd(bpf_object__find_map_by_name(o->obj, "targets_hits_total"));
}

static int has_key(struct elx_object *o, uint32_t pid)
{
	struct key k = { pid, pid };
	uint64_t v;

	return bpf_map_lookup_elem(map_fd(o), &k, &v) == 0;
}

static void put_key(struct elx_object *o, uint32_t pid)
{
	struct key k = { pid, pid };
	uint64_t v = 5;

	CHECK_INT(bpf_map_update_elem(map_fd(o), &k, &v, BPF_ANY), 0);
}

static void load(struct elx_object *o)
{
	char *names[] = { "targets_hit", "targets_return" }, *err = NULL;
	struct elx_metric_map maps[] = {
		{ .name = "targets_hits_total", .pid_offset = 0, .pid_size = 4 },
	};

	CHECK_INT(elx_attach_register_handlers(), 0);
	CHECK_INT(elx_object_open(o, ELX_SPEC_DIR, "targets_test", NULL, &err), 0);
	CHECK_INT(elx_targets_new(o, names, 2, &err), 0);
	CHECK_INT(elx_object_load(o), 0);
	CHECK_INT(elx_object_attach(o, 1), 0);
	CHECK_INT(o->ntargeted, 2);
	CHECK_INT(o->nattached, 0); /* not at load: per process */
	CHECK_INT(elx_targets_configure(o->targets, 1000, maps, 1), 0);
}

int main(void)
{
	struct elx_object o;
	uint32_t gone[4], pid, other = 0x7ffffff0;
	int purged;

	load(&o);
	pid = (uint32_t)spawn();
	CHECK_INT(elx_targets_attach(&o, "targets_hit", pid, NULL, &purged), 1);
	CHECK_INT(elx_targets_attach(&o, "targets_hit", pid, NULL, &purged), 0); /* kept */
	CHECK_INT(elx_targets_attach(&o, "nope", pid, NULL, &purged), -ENOENT);
	elx_targets_publish(&o);
	CHECK_INT(o.programs[0].attached_processes, 1);
	CHECK_INT(o.programs[0].attached, 1);
	put_key(&o, pid);
	put_key(&o, other);

	/* Detached at 1000 ms: the keys go at 2000, not before. */
	CHECK_INT(elx_targets_detach(&o, pid, 1000), 1);
	CHECK_INT(elx_targets_has(o.targets, pid), 0);
	CHECK_INT(elx_targets_purge(&o, 1999, 0, gone, 4), 0);
	CHECK(has_key(&o, pid));
	CHECK_INT(elx_targets_purge(&o, 2000, 0, gone, 4), 1);
	CHECK_INT(gone[0], pid);
	CHECK(!has_key(&o, pid));
	CHECK(has_key(&o, other));

	/* The same process attached again (an exec) keeps its keys. */
	put_key(&o, pid);
	CHECK_INT(elx_targets_attach(&o, "targets_hit", pid, NULL, &purged), 1);
	CHECK_INT(elx_targets_detach(&o, pid, 3000), 1);
	CHECK_INT(elx_targets_attach(&o, "targets_hit", pid, NULL, &purged), 1);
	CHECK_INT(purged, 0);
	CHECK_INT(elx_targets_purge(&o, 100000, 0, gone, 4), 0);
	CHECK(has_key(&o, pid));

	/* Exited: the attach says so, and counts no failure. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = 0;
	CHECK_INT(elx_targets_detach(&o, pid, 5000), 1);
	CHECK_INT(elx_targets_attach(&o, "targets_hit", pid, NULL, &purged), -ESRCH);
	elx_targets_publish(&o);
	CHECK_INT(o.programs[0].attached_processes, 0);
	CHECK_INT(o.programs[0].target_attach_errors, 0);
	elx_object_close(&o);
	printf("test_target_links: ok (%lu links still in the kernel's teardown)\n",
	       elx_link_closer_pending());
	return 0;
}
