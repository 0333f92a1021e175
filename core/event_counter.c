/* Counters fed by events. Each record's label bytes are counted in a table
 * laid out like a map batch (keys, then u64 values), so at a scrape Lua
 * decodes it exactly as it decodes a map: no per-record call into Lua. */
#include "event_counter.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Pages per CPU for perf buffers: 64 pages is 256 KiB, room for bursts. */
#define PERF_BUFFER_PAGES 64

static uint64_t hash_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

void elx_event_counter_add(struct elx_event_counter *c, const void *data, uint32_t size)
{
	uint32_t mask = c->nslots - 1;
	uint32_t slot;

	if (size < c->record_size) {
		if (c->short_records++ == 0)
			log_warn("map %s: a %u-byte record is shorter than its labels (%u bytes): "
				 "not counted",
				 c->name, size, c->record_size);
		c->lost++;
		return;
	}
	slot = (uint32_t)hash_bytes(data, c->record_size) & mask;
	for (;;) {
		uint32_t pos = c->slots[slot];

		if (pos == 0)
			break;
		if (memcmp(c->keys + (size_t)(pos - 1) * c->record_size, data, c->record_size) ==
		    0) {
			c->counts[pos - 1]++;
			return;
		}
		slot = (slot + 1) & mask;
	}
	if (c->n == c->capacity) {
		c->lost++;
		return;
	}
	memcpy(c->keys + (size_t)c->n * c->record_size, data, c->record_size);
	c->counts[c->n] = 1;
	c->slots[slot] = ++c->n;
}

/* Unix seconds now: when counts (re)start, for created timestamps. */
static double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void elx_event_counter_reset(struct elx_event_counter *c)
{
	memset(c->slots, 0, c->nslots * sizeof(*c->slots));
	c->n = 0;
	c->batch.created = unix_now();
}

static void on_perf_sample(void *ctx, int cpu, void *data, __u32 size)
{
	elx_event_counter_add(ctx, data, size);
}

static void on_perf_lost(void *ctx, int cpu, __u64 count)
{
	struct elx_event_counter *c = ctx;

	c->lost += count;
}

static int on_ring_sample(void *ctx, void *data, size_t size)
{
	elx_event_counter_add(ctx, data, (uint32_t)size);
	return 0;
}

static void drain(struct elx_event_counter *c)
{
	if (c->pb)
		perf_buffer__consume(c->pb);
	if (c->rb)
		ring_buffer__consume(c->rb);
}

static void on_readable(uv_poll_t *handle, int status, int events)
{
	drain(handle->data);
}

static void on_flush(uv_timer_t *handle)
{
	struct elx_event_counter *c = handle->data;

	drain(c); /* records sent before the flush belong to the period that ends */
	elx_event_counter_reset(c);
}

/* Label sets past the capacity count as lost: memory stays bounded whatever
 * the programs send between two flushes. */
int elx_event_counter_init(struct elx_event_counter *c, const char *name, uint32_t record_size,
			   uint32_t capacity)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->record_size = record_size ? record_size : 1;
	c->capacity = capacity;
	/* A power of two at least twice the capacity: probes stay short. */
	c->nslots = 2;
	while (c->nslots < capacity * 2)
		c->nslots *= 2;
	c->keys = calloc(c->capacity, c->record_size);
	c->counts = calloc(c->capacity, sizeof(*c->counts));
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	if (!c->keys || !c->counts || !c->slots) {
		free(c->keys);
		free(c->counts);
		free(c->slots);
		memset(c, 0, sizeof(*c));
		return -ENOMEM;
	}
	c->batch.name = name;
	c->batch.key_size = c->record_size;
	c->batch.created = unix_now();
	c->batch.value_stride = sizeof(uint64_t);
	c->batch.ncpus = 1;
	return 0;
}

/* The kernel-side buffers and the counting table, leaving the struct. */
static void free_buffers(struct elx_event_counter *c)
{
	perf_buffer__free(c->pb);
	ring_buffer__free(c->rb);
	free(c->keys);
	free(c->counts);
	free(c->slots);
	c->pb = NULL;
	c->rb = NULL;
	c->keys = NULL;
	c->counts = NULL;
	c->slots = NULL;
}

int elx_event_counter_start(struct elx_event_counter *c, uv_loop_t *loop, int fd, const char *name,
			    uint32_t record_size, uint64_t flush_ms)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int ret, epoll_fd;

	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return -errno;
	ret = elx_event_counter_init(c, name, record_size, ELX_EVENT_COUNTER_CAPACITY);
	if (ret)
		return ret;
	if (info.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
		c->pb =
		    perf_buffer__new(fd, PERF_BUFFER_PAGES, on_perf_sample, on_perf_lost, c, NULL);
		ret = c->pb ? 0 : -errno;
		epoll_fd = c->pb ? perf_buffer__epoll_fd(c->pb) : -1;
	} else if (info.type == BPF_MAP_TYPE_RINGBUF) {
		c->rb = ring_buffer__new(fd, on_ring_sample, c, NULL);
		ret = c->rb ? 0 : -errno;
		epoll_fd = c->rb ? ring_buffer__epoll_fd(c->rb) : -1;
	} else {
		ret = -EINVAL;
	}
	if (ret)
		goto fail;
	uv_poll_init(loop, &c->poll, epoll_fd);
	c->poll.data = c;
	uv_poll_start(&c->poll, UV_READABLE, on_readable);
	uv_timer_init(loop, &c->flush);
	c->flush.data = c;
	uv_timer_start(&c->flush, on_flush, flush_ms, flush_ms);
	c->flush_ms = flush_ms;
	c->open_handles = 2;
	c->batch.map_type = info.type;
	return 0;
fail:
	free_buffers(c);
	memset(c, 0, sizeof(*c));
	return ret;
}

void elx_event_counter_read(struct elx_event_counter *c)
{
	drain(c);
	c->batch.keys = c->keys;
	c->batch.values = (const uint8_t *)c->counts;
	c->batch.count = c->n;
	c->batch.lost = c->lost;
	c->batch.error = 0;
}

static void on_closed(uv_handle_t *handle)
{
	struct elx_event_counter *c = handle->data;

	if (--c->open_handles == 0 && c->free_on_close)
		free(c);
}

void elx_event_counter_stop(struct elx_event_counter *c)
{
	if (!c->keys)
		return;
	/* The poll handle must leave epoll before the fd it watches closes. */
	if (c->pb || c->rb) {
		if (!uv_is_closing((uv_handle_t *)&c->poll)) {
			uv_poll_stop(&c->poll);
			uv_close((uv_handle_t *)&c->poll, on_closed);
		}
		if (!uv_is_closing((uv_handle_t *)&c->flush))
			uv_close((uv_handle_t *)&c->flush, on_closed);
	}
	free_buffers(c);
}

struct elx_event_counter *elx_event_counter_new(uv_loop_t *loop, int fd, const char *name,
						uint32_t record_size, uint64_t flush_ms, int *ret)
{
	struct elx_event_counter *c = malloc(sizeof(*c));

	if (!c) {
		*ret = -ENOMEM;
		return NULL;
	}
	*ret = elx_event_counter_start(c, loop, fd, name, record_size, flush_ms);
	if (*ret) {
		free(c);
		return NULL;
	}
	return c;
}

void elx_event_counter_destroy(struct elx_event_counter *c)
{
	if (!c)
		return;
	c->free_on_close = 1;
	elx_event_counter_stop(c);
	if (c->open_handles == 0)
		free(c);
}

void elx_event_counter_set_flush(struct elx_event_counter *c, uint64_t flush_ms)
{
	if (flush_ms == c->flush_ms || !(c->pb || c->rb))
		return;
	uv_timer_start(&c->flush, on_flush, flush_ms, flush_ms);
	c->flush_ms = flush_ms;
}
