/* A span stream's reader: the records of a BPF_MAP_TYPE_RINGBUF, drained on
 * the libuv loop into bounded batches (bytes plus one elx_span_record each)
 * and handed to a delivery function, which a reload points at the Lua state
 * that serves the config now. The reader belongs to the object, so a
 * reload that keeps the object keeps reading where it was: no record is
 * read twice or skipped. */
#ifndef ELX_SPAN_READER_H
#define ELX_SPAN_READER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "abi.h"

struct ring_buffer;
struct elx_span_reader;

/* Takes the batch in r->data and r->records (valid during the call). */
typedef void (*elx_span_deliver_fn)(void *ctx, const struct elx_span_reader *r);

/* Records per batch: one call into Lua decodes that many at most. */
#define ELX_SPAN_BATCH 1024

struct elx_span_reader {
	const char *map; /* must outlive the reader */
	struct ring_buffer *rb;
	uv_poll_t poll;
	uv_timer_t pause; /* between a drain and the next wait for records */
	int open_handles;
	uint8_t *data;
	size_t len;
	size_t cap;
	struct elx_span_record records[ELX_SPAN_BATCH];
	uint32_t n;
	uint64_t records_total; /* read since the reader started */
	elx_span_deliver_fn deliver;
	void *ctx;
};

/* Starts reading ring buffer `fd` on `loop`. NULL with *ret set on failure. */
struct elx_span_reader *elx_span_reader_new(uv_loop_t *loop, int fd, const char *map, int *ret);

/* Where batches go from now on; with deliver NULL they are dropped. */
void elx_span_reader_target(struct elx_span_reader *r, elx_span_deliver_fn deliver, void *ctx);

/* Reads and delivers every record the ring holds now. */
void elx_span_reader_drain(struct elx_span_reader *r);

/* Drains (to the current target), stops, and frees the reader once the
 * loop has closed its handle. */
void elx_span_reader_destroy(struct elx_span_reader *r);

#endif
