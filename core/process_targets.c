/* Events in, links out: each batch from the process watch first detaches
 * what exits and execs ended, then asks Lua which processes need which
 * programs, then attaches. A listing (a scan of /proc) also drops the links
 * of processes that went unseen and, with the answer being the whole wanted
 * set, the links nobody wants any more. */
#define _GNU_SOURCE
#include "process_targets.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "elf_func.h"
#include "log.h"
#include "lua_host.h"
#include "process_watch.h"
#include "targets.h"

/* Processes whose keys are deleted by one timer run, at most. */
#define PURGE_BATCH 256

struct elx_process_targets {
	uv_loop_t *loop;
	struct elx_generation *gen;
	struct elx_process_watch *watch;
	uv_timer_t *purge_timer;
	struct elx_process_gone *gone; /* for Lua's next call */
	size_t ngone, gone_cap;
	uint32_t *present; /* a listing's pids, sorted */
	size_t npresent, present_cap;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct elx_object *object_named(struct elx_generation *gen, const char *name)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		struct elx_object *o = gen->views[i].obj;

		if (o->targets && strcmp(o->name, name) == 0)
			return o;
	}
	return NULL;
}

static void add_gone(struct elx_process_targets *pt, const char *config, uint32_t pid)
{
	if (pt->ngone == pt->gone_cap) {
		size_t cap = pt->gone_cap ? 2 * pt->gone_cap : 64;
		struct elx_process_gone *grown = realloc(pt->gone, cap * sizeof(*grown));

		if (!grown)
			return; /* Lua keeps the pid's labels a little longer */
		pt->gone = grown;
		pt->gone_cap = cap;
	}
	pt->gone[pt->ngone++] = (struct elx_process_gone){ .config = config, .pid = pid };
}

/* ------------------------------------------------------------ the purge timer */

static void on_purge(uv_timer_t *timer);

/* The timer wakes when the first grace period ends, and not before. */
static void arm_purge(struct elx_process_targets *pt)
{
	uint64_t due = UINT64_MAX, now = now_ms();

	for (size_t i = 0; i < pt->gen->nviews; i++) {
		uint64_t d;

		if (elx_targets_next_purge(pt->gen->views[i].obj->targets, &d) && d < due)
			due = d;
	}
	if (due == UINT64_MAX) {
		uv_timer_stop(pt->purge_timer);
		return;
	}
	/* The loop's clock is that of its last wake-up: the timeout counts
	 * from now only after an update. */
	uv_update_time(pt->loop);
	uv_timer_start(pt->purge_timer, on_purge, due > now ? due - now : 0, 0);
}

static int ask_lua(struct elx_process_targets *pt, struct elx_process_sync *call)
{
	char *err = NULL;
	int ret;

	call->gone = pt->gone;
	call->ngone = (uint32_t)pt->ngone;
	ret = elx_lua_call(pt->gen->lua, ELX_ENTRY_PROCESSES, call, &err);
	pt->ngone = 0;
	if (ret) {
		elx_log_lines(ELX_ERROR, err ? err : "targets: Lua failed");
		free(err);
		return ret;
	}
	if (pt->watch)
		elx_process_watch_all_forks(pt->watch, (int)call->all_forks);
	return 0;
}

static void on_purge(uv_timer_t *timer)
{
	struct elx_process_targets *pt = timer->data;
	struct elx_process_sync call = { 0 };
	uint32_t pids[PURGE_BATCH];
	uint64_t now = now_ms();

	for (size_t i = 0; i < pt->gen->nviews; i++) {
		struct elx_object *o = pt->gen->views[i].obj;
		size_t n = elx_targets_purge(o, now, 0, pids, PURGE_BATCH);

		for (size_t j = 0; j < n; j++)
			add_gone(pt, o->name, pids[j]);
	}
	if (pt->ngone)
		ask_lua(pt, &call);
	arm_purge(pt);
}

/* ------------------------------------------------------------ events */

static void publish(struct elx_process_targets *pt)
{
	for (size_t i = 0; i < pt->gen->nviews; i++)
		elx_targets_publish(pt->gen->views[i].obj);
}

static int by_pid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Links of processes the listing does not have, or whose pid now names
 * another process: their exits were not seen (lost events). */
static void drop_stale(struct elx_process_targets *pt, const struct elx_process_event *ev, size_t n,
		       uint64_t now)
{
	if (n > pt->present_cap) {
		uint32_t *grown = realloc(pt->present, n * sizeof(*grown));

		if (!grown)
			return;
		pt->present = grown;
		pt->present_cap = n;
	}
	for (size_t i = 0; i < n; i++)
		pt->present[i] = ev[i].pid;
	pt->npresent = n;
	qsort(pt->present, n, sizeof(*pt->present), by_pid);
	for (size_t i = 0; i < pt->gen->nviews; i++)
		elx_targets_drop_stale(pt->gen->views[i].obj, pt->present, n, now);
}

/* An exit or an exec ends the process's links: its program is gone. */
static void detach_ended(struct elx_process_targets *pt, const struct elx_process_event *ev,
			 size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		size_t had = 0;

		if (ev[i].change != ELX_PROCESS_EXIT && ev[i].change != ELX_PROCESS_EXEC)
			continue;
		for (size_t j = 0; j < pt->gen->nviews; j++)
			had += elx_targets_detach(pt->gen->views[j].obj, ev[i].pid, now);
		/* Every exec of the machine comes here: most had nothing. */
		if (had || ev[i].change == ELX_PROCESS_EXIT)
			elx_process_watch_set(pt->watch, ev[i].pid, 0);
	}
}

static void apply(struct elx_process_targets *pt, const struct elx_target_op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct elx_object *o = object_named(pt->gen, ops[i].config);
		int purged = 0, ret;

		if (!o)
			continue;
		ret = elx_targets_attach(o, ops[i].program, ops[i].pid, ops[i].binary, &purged);
		if (purged)
			add_gone(pt, o->name, ops[i].pid);
		if (ret >= 0)
			elx_process_watch_set(pt->watch, ops[i].pid, 1);
	}
}

static void on_events(void *ctx, const struct elx_process_event *ev, size_t n, int listing)
{
	struct elx_process_targets *pt = ctx;
	struct elx_process_sync call = { .events = ev, .nevents = (uint32_t)n, .listing = listing };
	uint64_t now = now_ms();

	if (listing)
		drop_stale(pt, ev, n, now);
	detach_ended(pt, ev, n, now);
	if (ask_lua(pt, &call) == 0) {
		for (size_t i = 0; listing && i < pt->gen->nviews; i++)
			elx_targets_unmark(pt->gen->views[i].obj->targets);
		apply(pt, call.ops, call.nops);
		for (size_t i = 0; listing && i < pt->gen->nviews; i++)
			elx_targets_sweep(pt->gen->views[i].obj, now);
	}
	publish(pt);
	arm_purge(pt);
}

/* ------------------------------------------------------------ start, stop */

/* A link holds two fds (the perf event and the BPF link): a few hundred
 * processes pass the usual soft limit of 1024. Go programs, ebpf_exporter
 * among them, raise it to the hard limit at start; so do we, for targets. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			log_debug("targets: open files limit raised to %llu",
				  (unsigned long long)rl.rlim_max);
	}
}

static int has_targets(const struct elx_generation *gen)
{
	for (size_t i = 0; i < gen->nviews; i++) {
		if (gen->views[i].obj->targets)
			return 1;
	}
	return 0;
}

static int start(struct elx_process_targets **out, uv_loop_t *loop)
{
	struct elx_process_targets *pt = calloc(1, sizeof(*pt));
	char *err = NULL;
	int ret;

	if (!pt || !(pt->purge_timer = calloc(1, sizeof(*pt->purge_timer)))) {
		free(pt);
		return -ENOMEM;
	}
	pt->loop = loop;
	uv_timer_init(loop, pt->purge_timer);
	pt->purge_timer->data = pt;
	ret = elx_process_watch_start(loop, on_events, pt, &pt->watch, &err);
	if (ret) {
		log_error("targets: %s", err ? err : strerror(-ret));
		free(err);
		elx_process_targets_stop(pt);
		return ret;
	}
	raise_fd_limit();
	*out = pt;
	return 0;
}

int elx_process_targets_update(struct elx_process_targets **pt, struct elx_generation *gen,
			       uv_loop_t *loop)
{
	int ret;

	if (!has_targets(gen)) {
		elx_process_targets_stop(*pt);
		*pt = NULL;
		return 0;
	}
	if (!*pt) {
		ret = start(pt, loop);
		if (ret)
			return ret;
	}
	/* What was said to the previous Lua state is no news to this one, and
	 * its config names may be gone with its objects. */
	(*pt)->ngone = 0;
	(*pt)->gen = gen;
	ret = elx_process_watch_scan((*pt)->watch);
	if (ret)
		log_error("targets: scanning /proc: %s", strerror(-ret));
	return ret;
}

static void free_timer(uv_handle_t *handle)
{
	free(handle);
}

void elx_process_targets_stop(struct elx_process_targets *pt)
{
	if (!pt)
		return;
	elx_process_watch_stop(pt->watch);
	uv_close((uv_handle_t *)pt->purge_timer, free_timer);
	elx_elf_func_forget();
	free(pt->gone);
	free(pt->present);
	free(pt);
}
