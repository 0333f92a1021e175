/* The protobuf exposition, encoded with libprotobuf-c. Lua hands over
 * compact records (core/abi.h, struct elx_pb_*): per family its messages
 * are built in a pool that lives for that family, packed after its varint
 * length, and the pool starts again. */
#define _GNU_SOURCE
#include "format_protobuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "io/prometheus/client/metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily Family;
typedef Io__Prometheus__Client__Metric Metric;
typedef Io__Prometheus__Client__LabelPair LabelPair;
typedef Io__Prometheus__Client__Histogram Histogram;
typedef Io__Prometheus__Client__Bucket Bucket;
typedef Io__Prometheus__Client__BucketSpan BucketSpan;
typedef Google__Protobuf__Timestamp Timestamp;

/* ---------------------------------------------------------------- memory */

/* A bump allocator in blocks: everything of one family, freed at once. */
struct block {
	struct block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct pool {
	struct block *head;
};

#define BLOCK_BYTES (256u << 10)

static void *pool_alloc(struct pool *p, size_t n)
{
	struct block *b = p->head;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->size - b->used < n) {
		size_t size = n > BLOCK_BYTES ? n : BLOCK_BYTES;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = p->head;
		b->used = 0;
		b->size = size;
		p->head = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

static void pool_free(struct pool *p)
{
	while (p->head) {
		struct block *next = p->head->next;

		free(p->head);
		p->head = next;
	}
}

/* The encoded output, grown as families are packed. */
struct out {
	uint8_t *data;
	size_t len, cap;
};

static uint8_t *out_reserve(struct out *o, size_t n)
{
	if (o->cap - o->len < n) {
		size_t cap = o->cap ? o->cap : 65536;
		uint8_t *data;

		while (cap - o->len < n)
			cap *= 2;
		data = realloc(o->data, cap);
		if (!data)
			return NULL;
		o->data = data;
		o->cap = cap;
	}
	return o->data + o->len;
}

/* ---------------------------------------------------------------- records */

struct cursor {
	const uint8_t *p, *end;
};

/* The next n bytes of the records, or NULL past their end. */
static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *at = c->p;

	if ((size_t)(c->end - c->p) < n)
		return NULL;
	c->p += n;
	return at;
}

static char *pool_string(struct pool *pool, const uint8_t *s, size_t n)
{
	char *copy = pool_alloc(pool, n + 1);

	if (copy) {
		memcpy(copy, s, n);
		copy[n] = '\0';
	}
	return copy;
}

/* One `name="value"` of the text format's label pairs at *s: the value
 * unescaped (\\, \n, \"). Returns 0, -EINVAL or -ENOMEM. */
static int parse_pair(struct pool *pool, const char **s, const char *end, LabelPair *pair)
{
	const char *eq = memchr(*s, '=', (size_t)(end - *s));
	char *v;
	size_t n = 0;

	if (!eq || eq == *s || eq + 1 >= end || eq[1] != '"')
		return -EINVAL;
	pair->name = pool_string(pool, (const uint8_t *)*s, (size_t)(eq - *s));
	v = pool_alloc(pool, (size_t)(end - eq));
	if (!pair->name || !v)
		return -ENOMEM;
	for (*s = eq + 2; *s < end && **s != '"'; (*s)++) {
		if (**s == '\\' && *s + 1 < end) {
			(*s)++;
			v[n++] = **s == 'n' ? '\n' : **s;
		} else {
			v[n++] = **s;
		}
	}
	if (*s >= end)
		return -EINVAL;
	v[n] = '\0';
	pair->value = v;
	(*s)++; /* the closing quote */
	if (*s < end && *(*s)++ != ',')
		return -EINVAL;
	return 0;
}

/* The label pairs text into m->label. */
static int parse_labels(struct pool *pool, const uint8_t *text, size_t len, Metric *m)
{
	const char *s = (const char *)text, *end = s + len;
	size_t most = 1;

	for (size_t i = 0; i < len; i++)
		most += text[i] == '"';
	most /= 2; /* a pair has two quotes at least */
	m->label = pool_alloc(pool, (most + 1) * sizeof(*m->label));
	if (!m->label)
		return -ENOMEM;
	while (s < end) {
		LabelPair *pair = pool_alloc(pool, sizeof(*pair));
		int ret;

		if (!pair)
			return -ENOMEM;
		if (m->n_label >= most)
			return -EINVAL;
		io__prometheus__client__label_pair__init(pair);
		ret = parse_pair(pool, &s, end, pair);
		if (ret)
			return ret;
		m->label[m->n_label++] = pair;
	}
	return 0;
}

/* A created timestamp in Unix seconds, or NULL for none (0). */
static Timestamp *created_at(struct pool *pool, double created, int *ret)
{
	Timestamp *t;

	if (!(created > 0))
		return NULL;
	t = pool_alloc(pool, sizeof(*t));
	if (!t) {
		*ret = -ENOMEM;
		return NULL;
	}
	google__protobuf__timestamp__init(t);
	t->seconds = (int64_t)floor(created);
	t->nanos = (int32_t)((created - floor(created)) * 1e9);
	if (t->nanos > 999999999)
		t->nanos = 999999999;
	return t;
}

/* A sample record: a counter, gauge or untyped metric of the family's type. */
static int read_sample(struct pool *pool, struct cursor *c, uint32_t type, Metric *m)
{
	struct elx_pb_sample rec;
	const uint8_t *at = take(c, sizeof(rec)), *labels;
	int ret = 0;

	if (!at)
		return -EINVAL;
	memcpy(&rec, at, sizeof(rec));
	labels = take(c, rec.labels_len);
	if (!labels)
		return -EINVAL;
	ret = parse_labels(pool, labels, rec.labels_len, m);
	if (ret)
		return ret;
	if (type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER) {
		m->counter = pool_alloc(pool, sizeof(*m->counter));
		if (!m->counter)
			return -ENOMEM;
		io__prometheus__client__counter__init(m->counter);
		m->counter->value = rec.value;
		m->counter->created_timestamp = created_at(pool, rec.created, &ret);
	} else if (type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE) {
		m->gauge = pool_alloc(pool, sizeof(*m->gauge));
		if (!m->gauge)
			return -ENOMEM;
		io__prometheus__client__gauge__init(m->gauge);
		m->gauge->value = rec.value;
	} else if (type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__UNTYPED) {
		m->untyped = pool_alloc(pool, sizeof(*m->untyped));
		if (!m->untyped)
			return -ENOMEM;
		io__prometheus__client__untyped__init(m->untyped);
		m->untyped->value = rec.value;
	} else {
		return -EINVAL;
	}
	return ret;
}

/* The classic buckets of a histogram record. */
static int read_buckets(struct pool *pool, struct cursor *c, uint32_t n, Histogram *h)
{
	h->bucket = pool_alloc(pool, (n + 1) * sizeof(*h->bucket));
	if (!h->bucket)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		struct elx_pb_bucket rec;
		const uint8_t *at = take(c, sizeof(rec));
		Bucket *b = pool_alloc(pool, sizeof(*b));

		if (!at)
			return -EINVAL;
		if (!b)
			return -ENOMEM;
		memcpy(&rec, at, sizeof(rec));
		io__prometheus__client__bucket__init(b);
		b->upper_bound = rec.upper_bound;
		b->cumulative_count = rec.cumulative_count;
		h->bucket[h->n_bucket++] = b;
	}
	return 0;
}

static BucketSpan *new_span(struct pool *pool, int32_t offset)
{
	BucketSpan *s = pool_alloc(pool, sizeof(*s));

	if (s) {
		io__prometheus__client__bucket_span__init(s);
		s->offset = offset;
	}
	return s;
}

/* The native buckets: `n` counts of indexes first, first + 1, ... as spans
 * of consecutive non-empty buckets and deltas between their counts; one
 * empty span when all are empty, which tells a native histogram without
 * observations from a classic one. */
static int read_native(struct pool *pool, struct cursor *c, int32_t first, uint32_t n, Histogram *h)
{
	const uint8_t *counts = take(c, (size_t)n * sizeof(uint64_t));
	int64_t next_index = 0, prev = 0;

	if (!counts)
		return -EINVAL;
	h->positive_span = pool_alloc(pool, (n / 2 + 2) * sizeof(*h->positive_span));
	h->positive_delta = pool_alloc(pool, (n + 1) * sizeof(*h->positive_delta));
	if (!h->positive_span || !h->positive_delta)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		int64_t index = (int64_t)first + i;
		uint64_t count;

		memcpy(&count, counts + (size_t)i * sizeof(count), sizeof(count));
		if (!count)
			continue;
		if (!h->n_positive_span || index != next_index) {
			/* The first span's offset is its index; the others' the gap. */
			BucketSpan *s = new_span(
			    pool, (int32_t)(index - (h->n_positive_span ? next_index : 0)));

			if (!s)
				return -ENOMEM;
			h->positive_span[h->n_positive_span++] = s;
		}
		h->positive_span[h->n_positive_span - 1]->length++;
		h->positive_delta[h->n_positive_delta++] = (int64_t)count - prev;
		prev = (int64_t)count;
		next_index = index + 1;
	}
	if (!h->n_positive_span) {
		h->positive_span[0] = new_span(pool, 0);
		if (!h->positive_span[0])
			return -ENOMEM;
		h->n_positive_span = 1;
	}
	return 0;
}

/* A histogram record: classic buckets, and the native histogram if any. */
static int read_histogram(struct pool *pool, struct cursor *c, Metric *m)
{
	struct elx_pb_histogram rec;
	const uint8_t *at = take(c, sizeof(rec)), *labels;
	Histogram *h;
	int ret = 0;

	if (!at)
		return -EINVAL;
	memcpy(&rec, at, sizeof(rec));
	labels = take(c, rec.labels_len);
	if (!labels)
		return -EINVAL;
	ret = parse_labels(pool, labels, rec.labels_len, m);
	h = pool_alloc(pool, sizeof(*h));
	if (ret || !h)
		return ret ? ret : -ENOMEM;
	io__prometheus__client__histogram__init(h);
	m->histogram = h;
	h->sample_count = rec.count;
	h->sample_sum = rec.sum;
	h->created_timestamp = created_at(pool, rec.created, &ret);
	if (!ret)
		ret = read_buckets(pool, c, rec.nbuckets, h);
	if (ret || !rec.native)
		return ret;
	h->schema = rec.schema;
	h->zero_threshold = rec.zero_threshold;
	h->zero_count = rec.zero_count;
	return read_native(pool, c, rec.native_first, rec.nnative, h);
}

/* The family record at the cursor and its metrics, up to the next family.
 * `metrics` is the caller's array, grown here (*cap entries). */
static int read_family(struct pool *pool, struct cursor *c, Family *f, Metric ***metrics,
		       size_t *cap)
{
	struct elx_pb_family rec;
	const uint8_t *at = take(c, sizeof(rec)), *name, *help;
	uint32_t record;

	if (!at)
		return -EINVAL;
	memcpy(&rec, at, sizeof(rec));
	name = take(c, rec.name_len);
	help = take(c, rec.help_len);
	if (rec.record != ELX_PB_FAMILY || !name || !help)
		return -EINVAL;
	f->name = pool_string(pool, name, rec.name_len);
	f->help = pool_string(pool, help, rec.help_len);
	if (!f->name || !f->help)
		return -ENOMEM;
	f->type = (Io__Prometheus__Client__MetricType)rec.type;
	while ((size_t)(c->end - c->p) >= sizeof(record)) {
		Metric *m;
		int ret;

		memcpy(&record, c->p, sizeof(record));
		if (record == ELX_PB_FAMILY)
			break;
		if (f->n_metric == *cap) {
			Metric **grown =
			    realloc(*metrics, (*cap ? *cap * 2 : 64) * sizeof(**metrics));

			if (!grown)
				return -ENOMEM;
			*metrics = grown;
			*cap = *cap ? *cap * 2 : 64;
		}
		m = pool_alloc(pool, sizeof(*m));
		if (!m)
			return -ENOMEM;
		io__prometheus__client__metric__init(m);
		if (record == ELX_PB_SAMPLE)
			ret = read_sample(pool, c, rec.type, m);
		else if (record == ELX_PB_HISTOGRAM &&
			 rec.type == IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM)
			ret = read_histogram(pool, c, m);
		else
			ret = -EINVAL;
		if (ret)
			return ret;
		(*metrics)[f->n_metric++] = m;
	}
	f->metric = *metrics;
	return c->p == c->end || (size_t)(c->end - c->p) >= sizeof(record) ? 0 : -EINVAL;
}

/* A message after its length, as a varint: the delimited format. */
static int put_delimited(struct out *o, const Family *f)
{
	size_t size = io__prometheus__client__metric_family__get_packed_size(f);
	uint8_t *dst = out_reserve(o, size + 10);
	size_t n = 0;

	if (!dst)
		return -ENOMEM;
	for (size_t v = size;; v >>= 7) {
		dst[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	o->len += n + io__prometheus__client__metric_family__pack(f, dst + n);
	return 0;
}

int elx_protobuf_encode(const uint8_t *in, size_t len, char **out, size_t *out_len)
{
	struct cursor c = { in, in + len };
	struct out o = { 0 };
	struct pool pool = { 0 };
	Metric **metrics = NULL;
	size_t cap = 0;
	int ret = 0;

	while (!ret && c.p < c.end) {
		Family f;

		io__prometheus__client__metric_family__init(&f);
		ret = read_family(&pool, &c, &f, &metrics, &cap);
		if (!ret)
			ret = put_delimited(&o, &f);
		pool_free(&pool);
	}
	free(metrics);
	if (!ret && !out_reserve(&o, 1))
		ret = -ENOMEM; /* an empty page is a valid body too */
	if (ret) {
		free(o.data);
		return ret;
	}
	*out = (char *)o.data;
	*out_len = o.len;
	return 0;
}
