/* Process discovery: our BPF program's ring buffer, read when libuv says its
 * epoll fd is readable, and scans of /proc. Each wake-up hands the callback
 * one batch, however many records it held. */
#define _GNU_SOURCE
#include "process_watch.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libbpf_log.h"
#include "log.h"
#include "process_watch.skel.h"

/* The safety net: a scan of /proc this often finds what events missed. */
#define RESCAN_MS 30000

_Static_assert(sizeof(struct elx_process_event) == 48, "the BPF program's struct event");

struct elx_process_watch {
	struct process_watch_bpf *skel;
	struct ring_buffer *rb;
	elx_process_watch_fn fn;
	void *ctx;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;		 /* closed ones free the watch at 0 */
	struct elx_process_event *batch; /* records of one wake-up */
	size_t n, cap;
	uint64_t lost_seen; /* the kernel's count of lost records, at the last check */
	int dropped;	    /* we had no memory for a record */
};

static int push(struct elx_process_watch *w, const struct elx_process_event *e)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		struct elx_process_event *grown = realloc(w->batch, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		w->batch = grown;
		w->cap = cap;
	}
	w->batch[w->n++] = *e;
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct elx_process_watch *w = ctx;

	if (size < sizeof(struct elx_process_event))
		return 0;
	/* Out of memory: the record is lost, and found again by a rescan. */
	if (push(w, data))
		w->dropped = 1;
	return 0;
}

static int is_pid(const char *name)
{
	if (!*name)
		return 0;
	for (; *name; name++) {
		if (!isdigit((unsigned char)*name))
			return 0;
	}
	return 1;
}

int elx_process_watch_scan(struct elx_process_watch *w)
{
	DIR *dir = opendir("/proc");
	struct dirent *d;
	int ret = 0;

	if (!dir)
		return -errno;
	w->n = 0;
	while (!ret && (d = readdir(dir))) {
		struct elx_process_event e = { .change = ELX_PROCESS_FOUND };

		if (!is_pid(d->d_name))
			continue;
		e.pid = (uint32_t)strtoul(d->d_name, NULL, 10);
		ret = push(w, &e);
	}
	closedir(dir);
	if (ret)
		return ret;
	w->fn(w->ctx, w->batch, w->n, 1);
	w->n = 0;
	return 0;
}

/* Records dropped by the kernel (a full ring buffer) or by us: only a scan
 * tells what they were. */
static void rescan_if_lost(struct elx_process_watch *w)
{
	uint64_t lost = w->skel->bss->lost;

	if (lost == w->lost_seen && !w->dropped)
		return;
	log_warn("targets: %llu process events were lost: scanning /proc",
		 (unsigned long long)(lost - w->lost_seen + (uint64_t)w->dropped));
	w->lost_seen = lost;
	w->dropped = 0;
	elx_process_watch_scan(w);
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	struct elx_process_watch *w = handle->data;

	w->n = 0;
	ring_buffer__consume(w->rb);
	if (w->n)
		w->fn(w->ctx, w->batch, w->n, 0);
	w->n = 0;
	rescan_if_lost(w);
}

static void on_rescan(uv_timer_t *handle)
{
	struct elx_process_watch *w = handle->data;
	int ret = elx_process_watch_scan(w);

	if (ret)
		log_warn("targets: scanning /proc: %s", strerror(-ret));
}

static void free_watch(struct elx_process_watch *w)
{
	ring_buffer__free(w->rb);
	process_watch_bpf__destroy(w->skel);
	free(w->batch);
	free(w);
}

static int load(struct elx_process_watch *w, char **err)
{
	int ret;

	elx_libbpf_reason_clear();
	w->skel = process_watch_bpf__open_and_load();
	if (!w->skel) {
		ret = -errno;
		return elx_errorf(err, ret, "loading the process watch: %s", elx_libbpf_why(ret));
	}
	ret = process_watch_bpf__attach(w->skel);
	if (ret)
		return elx_errorf(err, ret,
				  "attaching the process watch to sched_process_exec, _fork and "
				  "_exit (tp_btf): %s",
				  elx_libbpf_why(ret));
	w->rb = ring_buffer__new(bpf_map__fd(w->skel->maps.events), on_record, w, NULL);
	if (!w->rb) {
		ret = -errno;
		return elx_errorf(err, ret, "reading the process watch's ring buffer: %s",
				  strerror(-ret));
	}
	return 0;
}

int elx_process_watch_start(uv_loop_t *loop, elx_process_watch_fn fn, void *ctx,
			    struct elx_process_watch **out, char **err)
{
	struct elx_process_watch *w = calloc(1, sizeof(*w));
	int ret;

	*out = NULL;
	if (!w)
		return elx_errorf(err, -ENOMEM, "out of memory");
	w->fn = fn;
	w->ctx = ctx;
	ret = load(w, err);
	if (ret) {
		free_watch(w);
		return ret;
	}
	uv_poll_init(loop, &w->poll, ring_buffer__epoll_fd(w->rb));
	uv_timer_init(loop, &w->timer);
	w->poll.data = w->timer.data = w;
	w->open_handles = 2;
	uv_poll_start(&w->poll, UV_READABLE, on_readable);
	uv_timer_start(&w->timer, on_rescan, RESCAN_MS, RESCAN_MS);
	*out = w;
	return 0;
}

int elx_process_watch_set(struct elx_process_watch *w, uint32_t pid, int watched)
{
	uint8_t one = 1;
	int ret;

	if (watched)
		return bpf_map__update_elem(w->skel->maps.watched, &pid, sizeof(pid), &one,
					    sizeof(one), BPF_ANY);
	ret = bpf_map__delete_elem(w->skel->maps.watched, &pid, sizeof(pid), 0);
	return ret == -ENOENT ? 0 : ret;
}

void elx_process_watch_all_forks(struct elx_process_watch *w, int on)
{
	w->skel->bss->all_forks = on ? 1 : 0;
}

uint64_t elx_process_watch_lost(const struct elx_process_watch *w)
{
	return w->skel->bss->lost;
}

static void on_closed(uv_handle_t *handle)
{
	struct elx_process_watch *w = handle->data;

	if (--w->open_handles == 0)
		free_watch(w);
}

void elx_process_watch_stop(struct elx_process_watch *w)
{
	if (!w)
		return;
	/* uv_close takes the fd out of epoll at once; the ring buffer (and its
	 * epoll fd) goes when both handles have closed. */
	uv_close((uv_handle_t *)&w->poll, on_closed);
	uv_close((uv_handle_t *)&w->timer, on_closed);
}
