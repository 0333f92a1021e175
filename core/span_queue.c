/* Queued spans and their bounded queue. */
#include "span_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void elx_span_ids_seed(struct elx_span_ids *ids)
{
	struct timespec ts;

	if (getrandom(&ids->state, sizeof(ids->state), GRND_NONBLOCK) != sizeof(ids->state)) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ids->state = (uint64_t)ts.tv_nsec * 6364136223846793005ull ^ (uint64_t)ts.tv_sec;
	}
}

/* splitmix64: ids need to be unique and spread, not secret. */
uint64_t elx_span_ids_next(struct elx_span_ids *ids)
{
	uint64_t z = (ids->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i])
			return 0;
	}
	return 1;
}

static void random_id(struct elx_span_ids *ids, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = elx_span_ids_next(ids);

		memcpy(p + i, &r, n - i < 8 ? n - i : 8);
	}
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_sequence(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80		    ? 1
		     : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
		     : (s[0] & 0xf0) == 0xe0	    ? 3
		     : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
						    : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
	    (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

/* OTLP strings must be UTF-8 (receivers refuse the whole request
 * otherwise): a byte that starts no valid sequence becomes U+FFFD, and a
 * NUL ends the string. Writes at most 3 * n + 1 bytes; returns the end. */
static char *copy_utf8(char *out, const char *in, size_t n)
{
	const unsigned char *s = (const unsigned char *)in;

	for (size_t i = 0; i < n && s[i];) {
		size_t len = utf8_sequence(s + i, n - i);

		if (len) {
			memcpy(out, s + i, len);
			out += len;
			i += len;
		} else {
			memcpy(out, "\xef\xbf\xbd", 3);
			out += 3;
			i++;
		}
	}
	*out++ = '\0';
	return out;
}

struct elx_queued_span *elx_queued_span_new(const struct elx_span *s, uint16_t origin,
					    int64_t realtime_offset_ns, uint64_t monotonic_now_ns,
					    struct elx_span_ids *ids)
{
	size_t bytes = 3 * (size_t)s->name_len + 1,
	       n = s->nattributes > UINT16_MAX ? UINT16_MAX : s->nattributes;
	struct elx_queued_span *q;
	uint64_t start = s->flags & ELX_SPAN_HAS_TIMESTAMP ? s->monotonic_ns : monotonic_now_ns;
	char *p;

	for (size_t i = 0; i < n; i++)
		bytes += 3 * ((size_t)s->attributes[i].key_len + s->attributes[i].value_len) + 2;
	q = malloc(sizeof(*q) + n * sizeof(q->attrs[0]) + bytes);
	if (!q)
		return NULL;
	memcpy(q->trace_id, s->trace_id, sizeof(q->trace_id));
	memcpy(q->span_id, s->span_id, sizeof(q->span_id));
	memcpy(q->parent_span_id, s->parent_span_id, sizeof(q->parent_span_id));
	if (all_zero(q->trace_id, sizeof(q->trace_id)))
		random_id(ids, q->trace_id, sizeof(q->trace_id));
	if (all_zero(q->span_id, sizeof(q->span_id)))
		random_id(ids, q->span_id, sizeof(q->span_id));
	q->start_unix_ns = start + (uint64_t)realtime_offset_ns;
	q->end_unix_ns = q->start_unix_ns + s->duration_ns;
	q->origin = origin;
	q->nattrs = (uint16_t)n;
	p = (char *)&q->attrs[n];
	q->name = p;
	p = copy_utf8(p, s->name, s->name_len);
	for (size_t i = 0; i < n; i++) {
		q->attrs[i].key = p;
		p = copy_utf8(p, s->attributes[i].key, s->attributes[i].key_len);
		q->attrs[i].value = p;
		p = copy_utf8(p, s->attributes[i].value, s->attributes[i].value_len);
	}
	return q;
}

int elx_span_queue_init(struct elx_span_queue *q, uint32_t capacity)
{
	memset(q, 0, sizeof(*q));
	q->slots = calloc(capacity ? capacity : 1, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	q->capacity = capacity ? capacity : 1;
	return 0;
}

struct elx_queued_span *elx_span_queue_push(struct elx_span_queue *q, struct elx_queued_span *s)
{
	struct elx_queued_span *oldest = NULL;

	if (q->len == q->capacity) {
		oldest = q->slots[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->len--;
	}
	q->slots[(q->head + q->len) % q->capacity] = s;
	q->len++;
	return oldest;
}

uint32_t elx_span_queue_take(struct elx_span_queue *q, struct elx_queued_span **out, uint32_t n)
{
	uint32_t taken = 0;

	while (taken < n && q->len > 0) {
		out[taken++] = q->slots[q->head];
		q->head = (q->head + 1) % q->capacity;
		q->len--;
	}
	return taken;
}

void elx_span_queue_clear(struct elx_span_queue *q,
			  void (*each)(void *ctx, struct elx_queued_span *), void *ctx)
{
	struct elx_queued_span *s;

	while (elx_span_queue_take(q, &s, 1) == 1) {
		if (each)
			each(ctx, s);
		free(s);
	}
}

void elx_span_queue_free(struct elx_span_queue *q)
{
	elx_span_queue_clear(q, NULL, NULL);
	free(q->slots);
	memset(q, 0, sizeof(*q));
}
