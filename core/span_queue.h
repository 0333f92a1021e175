/* Spans waiting for export: each one copied out of the Lua state that
 * decoded it into one allocation, and a bounded queue of them that drops
 * its oldest span when full, so memory stays bounded whatever the
 * programs send and however long the receiver is away. */
#ifndef ELX_SPAN_QUEUE_H
#define ELX_SPAN_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "abi.h"

struct elx_span_kv {
	const char *key;
	const char *value;
};

/* A span as it is exported: wall-clock times, ids complete, strings valid
 * UTF-8 and NUL-terminated, all in the one allocation. */
struct elx_queued_span {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zeros: a root span */
	uint64_t start_unix_ns;
	uint64_t end_unix_ns;
	uint16_t origin; /* whose span: the export's config and service */
	uint16_t nattrs;
	const char *name;
	struct elx_span_kv attrs[];
};

/* What spans carry no id for: 64 random bits at a time. */
struct elx_span_ids {
	uint64_t state;
};

void elx_span_ids_seed(struct elx_span_ids *ids);
uint64_t elx_span_ids_next(struct elx_span_ids *ids);

/* A copy of a span decoded by Lua; `realtime_offset_ns` is CLOCK_REALTIME
 * minus CLOCK_MONOTONIC now, `monotonic_now_ns` the time a span without a
 * timestamp of its own starts at. A zero trace id or span id gets a random
 * one. NULL when out of memory. Free with free(). */
struct elx_queued_span *elx_queued_span_new(const struct elx_span *s, uint16_t origin,
					    int64_t realtime_offset_ns, uint64_t monotonic_now_ns,
					    struct elx_span_ids *ids);

struct elx_span_queue {
	struct elx_queued_span **slots;
	uint32_t capacity;
	uint32_t head; /* the oldest */
	uint32_t len;
};

int elx_span_queue_init(struct elx_span_queue *q, uint32_t capacity);

/* Queues a span; when the queue is full, the oldest span leaves it to make
 * room and is returned (for the caller to count and free), else NULL. */
struct elx_queued_span *elx_span_queue_push(struct elx_span_queue *q, struct elx_queued_span *s);

/* Takes up to n of the oldest spans into out; returns how many. */
uint32_t elx_span_queue_take(struct elx_span_queue *q, struct elx_queued_span **out, uint32_t n);

/* Frees every span still queued, after `each` (may be NULL) saw it. */
void elx_span_queue_clear(struct elx_span_queue *q,
			  void (*each)(void *ctx, struct elx_queued_span *), void *ctx);

void elx_span_queue_free(struct elx_span_queue *q);

#endif
