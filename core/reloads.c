/* Coalesced reloads. A reload runs on the loop, synchronously: it needs the
 * running generation (objects it keeps) and the loop (event counters it
 * starts). So the loop does nothing else while it runs, and one reload per
 * request at 50 SIGHUP/s left no time for scrapes. Instead a request only
 * marks a reload as wanted; it runs from a timer, covering every request
 * made before it started, and the next one waits at least as long as the
 * last one took: reloads take at most half of the loop's time, and a scrape
 * waits for one reload at most. */
#define _GNU_SOURCE
#include "reloads.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct elx_reload_waiter {
	elx_reload_done_fn done;
	void *arg;
	struct elx_reload_waiter *next;
};

static void answer(struct elx_reload_waiter *w, int ret, const char *reasons)
{
	while (w) {
		struct elx_reload_waiter *next = w->next;

		w->done(w->arg, ret, reasons);
		free(w);
		w = next;
	}
}

static void on_timer(uv_timer_t *timer)
{
	struct elx_reloads *r = timer->data;
	struct elx_reload_waiter *waiters = r->waiters;
	char *reasons = NULL, why[128];
	uint64_t start = uv_hrtime(), took_ms;
	int ret;

	/* Requests from now on are the next reload's. */
	if (r->requests > 1)
		snprintf(why, sizeof(why), "%s and %zu more requests", r->first_why,
			 r->requests - 1);
	else
		snprintf(why, sizeof(why), "%s", r->first_why);
	r->scheduled = 0;
	r->requests = 0;
	r->waiters = r->last = NULL;
	ret = r->run(r->ctx, why, &reasons);
	answer(waiters, ret, reasons);
	free(reasons);
	took_ms = (uv_hrtime() - start) / 1000000;
	uv_update_time(r->loop);
	r->not_before = uv_now(r->loop) + took_ms;
}

static void schedule(struct elx_reloads *r)
{
	uint64_t now = uv_now(r->loop);

	if (r->scheduled || !r->timer)
		return;
	r->scheduled = 1;
	/* Even without a wait, the timer runs after the loop has polled once
	 * more: requests that came together are served before the reload. */
	uv_timer_start(r->timer, on_timer, r->not_before > now ? r->not_before - now : 0, 0);
}

int elx_reloads_init(struct elx_reloads *r, uv_loop_t *loop, elx_reload_fn run, void *ctx)
{
	*r = (struct elx_reloads){ .loop = loop, .run = run, .ctx = ctx };
	r->timer = calloc(1, sizeof(*r->timer));
	if (!r->timer)
		return -ENOMEM;
	uv_timer_init(loop, r->timer);
	r->timer->data = r;
	return 0;
}

int elx_reloads_request(struct elx_reloads *r, const char *why, elx_reload_done_fn done, void *arg)
{
	if (done) {
		struct elx_reload_waiter *w = calloc(1, sizeof(*w));

		if (!w)
			return -ENOMEM;
		w->done = done;
		w->arg = arg;
		if (r->last)
			r->last->next = w;
		else
			r->waiters = w;
		r->last = w;
	}
	if (r->requests++ == 0)
		r->first_why = why;
	schedule(r);
	return 0;
}

static void free_timer(uv_handle_t *handle)
{
	free(handle);
}

void elx_reloads_close(struct elx_reloads *r)
{
	struct elx_reload_waiter *waiters = r->waiters;

	if (r->timer) {
		uv_close((uv_handle_t *)r->timer, free_timer);
		r->timer = NULL;
	}
	r->waiters = r->last = NULL;
	r->requests = 0;
	r->scheduled = 0;
	answer(waiters, -ECANCELED, "the exporter is shutting down\n");
}
