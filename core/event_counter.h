/* Counters fed by events: records from a BPF_MAP_TYPE_PERF_EVENT_ARRAY
 * (ebpf_exporter's perf_event_array counters) or BPF_MAP_TYPE_RINGBUF, read
 * on the libuv loop and counted by their label bytes until each flush. */
#ifndef ELX_EVENT_COUNTER_H
#define ELX_EVENT_COUNTER_H

#include <stdint.h>
#include <uv.h>

#include "abi.h"

struct perf_buffer;
struct ring_buffer;

struct elx_event_counter {
	const char *name;     /* the map's name; must outlive the counter */
	uint32_t record_size; /* the label bytes counted at the start of each record */
	uint32_t capacity;    /* distinct label sets counted between two flushes */
	uint8_t *keys;	      /* capacity * record_size */
	uint64_t *counts;     /* capacity */
	uint32_t *slots;      /* hash index over keys: position + 1, 0 for empty */
	uint32_t nslots;
	uint32_t n;    /* distinct label sets since the last flush */
	uint64_t lost; /* records never counted: lost by the kernel, or no room */
	uint64_t short_records;
	struct perf_buffer *pb;
	struct ring_buffer *rb;
	uv_poll_t poll;
	uv_timer_t flush;
	uint64_t flush_ms;
	int open_handles;	/* libuv handles not yet closed */
	int free_on_close;	/* destroy(): free the struct once they are */
	struct elx_batch batch; /* what Lua reads at a scrape */
};

/* Distinct label sets an event counter holds between flushes by default. */
#define ELX_EVENT_COUNTER_CAPACITY 65536

/* Allocates the counting table only (no map, no loop): for tests, and start.
 * Returns 0 or -ENOMEM. */
int elx_event_counter_init(struct elx_event_counter *c, const char *name, uint32_t record_size,
			   uint32_t capacity);

/* Starts counting the records of map `fd` (its type picks perf buffer or
 * ring buffer) on `loop`, and resets the counts every `flush_ms`. `name`
 * must outlive the counter. Returns 0 or -errno. */
int elx_event_counter_start(struct elx_event_counter *c, uv_loop_t *loop, int fd, const char *name,
			    uint32_t record_size, uint64_t flush_ms);

/* Counts one record: its first record_size bytes. For the callbacks, and tests. */
void elx_event_counter_add(struct elx_event_counter *c, const void *data, uint32_t size);

/* Drains what the kernel has queued and points c->batch at the counts. */
void elx_event_counter_read(struct elx_event_counter *c);

/* Forgets every count, as at a flush. */
void elx_event_counter_reset(struct elx_event_counter *c);

/* Stops polling and frees the buffers; the loop runs the handles' close
 * callbacks, after which the struct's memory may go. */
void elx_event_counter_stop(struct elx_event_counter *c);

/* A counter on the heap, started, for owners that come and go (reloads):
 * NULL with *ret set on failure. */
struct elx_event_counter *elx_event_counter_new(uv_loop_t *loop, int fd, const char *name,
						uint32_t record_size, uint64_t flush_ms, int *ret);

/* Stops a counter from elx_event_counter_new; its memory is freed once the
 * loop has closed its handles. */
void elx_event_counter_destroy(struct elx_event_counter *c);

/* Changes how often the counts start afresh (a reload may change it). */
void elx_event_counter_set_flush(struct elx_event_counter *c, uint64_t flush_ms);

#endif
