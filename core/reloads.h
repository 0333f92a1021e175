/* Reload requests (SIGHUP, POST /-/reload, --config.watch), coalesced: one
 * reload runs at a time, every request that comes before it starts is
 * covered by it, and reloads are paced so that scrapes keep their latency
 * whatever the rate of requests. */
#ifndef ELX_RELOADS_H
#define ELX_RELOADS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Runs one reload: 0 or -errno, with *reasons (malloc'd, or NULL) saying
 * why it failed. */
typedef int (*elx_reload_fn)(void *ctx, const char *why, char **reasons);

/* Tells a requester the outcome of the reload that covered its request;
 * -ECANCELED when the exporter stopped first. */
typedef void (*elx_reload_done_fn)(void *arg, int ret, const char *reasons);

struct elx_reload_waiter;

struct elx_reloads {
	uv_loop_t *loop;
	uv_timer_t *timer; /* the next reload; NULL before init and after close */
	elx_reload_fn run;
	void *ctx;
	int scheduled;
	size_t requests;			  /* covered by the next reload */
	const char *first_why;			  /* of those */
	struct elx_reload_waiter *waiters, *last; /* in order */
	uint64_t not_before;			  /* loop ms: the pace */
};

int elx_reloads_init(struct elx_reloads *r, uv_loop_t *loop, elx_reload_fn run, void *ctx);

/* Asks for a reload; `why` is a static string for the log. With `done`,
 * done(arg, ...) is called after the reload that covers this request.
 * Returns 0, or -ENOMEM (then `done` is never called). */
int elx_reloads_request(struct elx_reloads *r, const char *why, elx_reload_done_fn done, void *arg);

/* Drops the pending reload; its requesters hear -ECANCELED. */
void elx_reloads_close(struct elx_reloads *r);

#endif
