/* Ring-buffer records into batches. libbpf hands each record to on_record
 * while it sits in the ring, and moves the consumer position past it
 * before calling: the record is copied, and a full batch stops the walk
 * (a negative return) after that copy, so that nothing is lost between two
 * batches. */
#include "span_reader.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Batches drained per wake-up: the loop gets its turn between bursts. */
#define BATCHES_PER_WAKEUP 64
/* After a drain the reader waits this long before it listens again: under
 * a steady stream each wake-up then takes many records instead of a few
 * (the kernel wakes a reader that has caught up at the next record), and
 * the process is woken at most 1000 / PAUSE_MS times a second. A ring
 * buffer should hold what programs send in that time. */
#define PAUSE_MS 10

static int on_record(void *ctx, void *data, size_t size)
{
	struct elx_span_reader *r = ctx;
	/* Records start 8-aligned, as in the ring: Lua reads u64 fields in place. */
	size_t at = (r->len + 7) & ~(size_t)7, need = at + size;

	if (need > r->cap) {
		size_t cap = r->cap ? r->cap : 65536;
		uint8_t *grown;

		while (cap < need)
			cap *= 2;
		grown = realloc(r->data, cap);
		if (!grown) {
			log_warn("ring buffer %s: out of memory: a record is lost", r->map);
			return r->n ? -ENOSPC : 0;
		}
		r->data = grown;
		r->cap = cap;
	}
	memcpy(r->data + at, data, size);
	r->records[r->n].offset = (uint32_t)at;
	r->records[r->n].size = (uint32_t)size;
	r->len = need;
	r->n++;
	r->records_total++;
	return r->n == ELX_SPAN_BATCH ? -ENOSPC : 0;
}

static void deliver(struct elx_span_reader *r)
{
	if (r->n && r->deliver)
		r->deliver(r->ctx, r);
	r->n = 0;
	r->len = 0;
}

/* Up to `batches` batches; returns whether the ring may hold more. */
static int drain_some(struct elx_span_reader *r, int batches)
{
	for (int i = 0; i < batches; i++) {
		ring_buffer__consume(r->rb);
		if (r->n < ELX_SPAN_BATCH) {
			deliver(r);
			return 0;
		}
		deliver(r);
	}
	return 1;
}

void elx_span_reader_drain(struct elx_span_reader *r)
{
	while (r->rb && drain_some(r, BATCHES_PER_WAKEUP))
		;
}

static void on_readable(uv_poll_t *handle, int status, int events);

static void on_pause_end(uv_timer_t *handle)
{
	struct elx_span_reader *r = handle->data;

	uv_poll_start(&r->poll, UV_READABLE, on_readable);
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	struct elx_span_reader *r = handle->data;

	drain_some(r, BATCHES_PER_WAKEUP);
	uv_poll_stop(&r->poll);
	uv_timer_start(&r->pause, on_pause_end, PAUSE_MS, 0);
}

struct elx_span_reader *elx_span_reader_new(uv_loop_t *loop, int fd, const char *map, int *ret)
{
	struct elx_span_reader *r = calloc(1, sizeof(*r));

	if (!r) {
		*ret = -ENOMEM;
		return NULL;
	}
	r->map = map;
	r->rb = ring_buffer__new(fd, on_record, r, NULL);
	if (!r->rb) {
		*ret = -errno;
		free(r);
		return NULL;
	}
	uv_poll_init(loop, &r->poll, ring_buffer__epoll_fd(r->rb));
	uv_timer_init(loop, &r->pause);
	r->poll.data = r->pause.data = r;
	r->open_handles = 2;
	uv_poll_start(&r->poll, UV_READABLE, on_readable);
	*ret = 0;
	return r;
}

void elx_span_reader_target(struct elx_span_reader *r, elx_span_deliver_fn deliver, void *ctx)
{
	r->deliver = deliver;
	r->ctx = ctx;
}

static void on_closed(uv_handle_t *handle)
{
	struct elx_span_reader *r = handle->data;

	if (--r->open_handles > 0)
		return;
	free(r->data);
	free(r);
}

void elx_span_reader_destroy(struct elx_span_reader *r)
{
	if (!r)
		return;
	/* Without a target (a build that failed) the records stay in the ring. */
	if (r->deliver)
		elx_span_reader_drain(r);
	/* The poll handle leaves epoll before the fd it watches closes. */
	uv_poll_stop(&r->poll);
	ring_buffer__free(r->rb);
	r->rb = NULL;
	uv_close((uv_handle_t *)&r->poll, on_closed);
	uv_close((uv_handle_t *)&r->pause, on_closed);
}
