/* Tests of coalesced reloads: requests made before a reload starts share
 * it, each requester hears its outcome, the next reload waits as long as
 * the last one took, and closing cancels what is pending. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "check.h"
#include "reloads.h"

#define RELOAD_MS 30

static int runs, fail_next;
static char last_why[128];
static uint64_t started[8], ended[8];

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* A reload that holds the loop for RELOAD_MS, as a real one does. */
static int run(void *ctx, const char *why, char **reasons)
{
	struct timespec ts = { .tv_nsec = RELOAD_MS * 1000000L };

	started[runs] = now_ms();
	snprintf(last_why, sizeof(last_why), "%s", why);
	nanosleep(&ts, NULL);
	ended[runs++] = now_ms();
	if (fail_next) {
		fail_next = 0;
		*reasons = strdup("a.yaml: broken\n");
		return -EINVAL;
	}
	return 0;
}

struct answer {
	int called, ret;
	char reasons[64];
};

static void done(void *arg, int ret, const char *reasons)
{
	struct answer *a = arg;

	a->called++;
	a->ret = ret;
	snprintf(a->reasons, sizeof(a->reasons), "%s", reasons ? reasons : "");
}

static void run_loop(uv_loop_t *loop)
{
	while (uv_run(loop, UV_RUN_ONCE))
		;
}

int main(void)
{
	struct elx_reloads r;
	struct answer a[5] = { 0 }, late = { 0 };
	uv_loop_t loop;

	CHECK_INT(uv_loop_init(&loop), 0);
	CHECK_INT(elx_reloads_init(&r, &loop, run, NULL), 0);

	/* Five requests before the loop runs: one reload answers them all. */
	for (int i = 0; i < 5; i++)
		CHECK_INT(elx_reloads_request(&r, i ? "POST /-/reload" : "SIGHUP", done, &a[i]), 0);
	CHECK_INT(elx_reloads_request(&r, "SIGHUP", NULL, NULL), 0);
	run_loop(&loop);
	CHECK_INT(runs, 1);
	CHECK_STR(last_why, "SIGHUP and 5 more requests");
	for (int i = 0; i < 5; i++) {
		CHECK_INT(a[i].called, 1);
		CHECK_INT(a[i].ret, 0);
	}

	/* The next one waits as long as the last one took, and a failure
	 * reaches its requester with the reasons. */
	fail_next = 1;
	CHECK_INT(elx_reloads_request(&r, "POST /-/reload", done, &late), 0);
	run_loop(&loop);
	CHECK_INT(runs, 2);
	CHECK_STR(last_why, "POST /-/reload");
	CHECK(started[1] - ended[0] >= RELOAD_MS - 2);
	CHECK_INT(late.called, 1);
	CHECK_INT(late.ret, -EINVAL);
	CHECK_STR(late.reasons, "a.yaml: broken\n");

	/* Closing answers what waits, and runs nothing more. */
	memset(&late, 0, sizeof(late));
	CHECK_INT(elx_reloads_request(&r, "SIGHUP", done, &late), 0);
	elx_reloads_close(&r);
	CHECK_INT(late.called, 1);
	CHECK_INT(late.ret, -ECANCELED);
	run_loop(&loop);
	CHECK_INT(runs, 2);
	CHECK_INT(uv_loop_close(&loop), 0);
	printf("test_reloads: all passed\n");
	return 0;
}
