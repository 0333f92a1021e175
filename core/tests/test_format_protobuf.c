/* Tests of the protobuf exposition: records as Lua writes them become
 * delimited MetricFamily messages that libprotobuf-c reads back with every
 * field as given (labels unescaped, created timestamps, classic buckets,
 * native spans and deltas); malformed records are refused whole. */
#include <errno.h>
#include <string.h>

#include "abi.h"
#include "check.h"
#include "format_protobuf.h"
#include "io/prometheus/client/metrics.pb-c.h"

typedef Io__Prometheus__Client__MetricFamily Family;

static uint8_t records[4096];
static size_t nrec;

static void put(const void *p, size_t n)
{
	CHECK(nrec + n <= sizeof(records));
	memcpy(records + nrec, p, n);
	nrec += n;
}

static void family(const char *name, const char *help, uint32_t type)
{
	struct elx_pb_family f = { ELX_PB_FAMILY, type, (uint32_t)strlen(name),
				   (uint32_t)strlen(help) };

	put(&f, sizeof(f));
	put(name, strlen(name));
	put(help, strlen(help));
}

static void sample(const char *labels, double value, double created)
{
	struct elx_pb_sample s = { ELX_PB_SAMPLE, (uint32_t)strlen(labels), value, created };

	put(&s, sizeof(s));
	put(labels, strlen(labels));
}

/* The next delimited message of out, or NULL at its end. */
static Family *next_family(const uint8_t **p, const uint8_t *end)
{
	size_t len = 0;
	int shift = 0;

	if (*p == end)
		return NULL;
	do {
		CHECK(*p < end);
		len |= (size_t)(**p & 0x7f) << shift;
		shift += 7;
	} while (*(*p)++ & 0x80);
	CHECK(len <= (size_t)(end - *p));
	*p += len;
	return io__prometheus__client__metric_family__unpack(NULL, len, *p - len);
}

static void check_samples(const uint8_t **p, const uint8_t *end)
{
	Family *f = next_family(p, end);

	CHECK(f);
	CHECK_STR(f->name, "x_total");
	CHECK_STR(f->help, "Help \"with\" quotes\nand lines");
	CHECK_INT(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__COUNTER);
	CHECK_INT(f->n_metric, 2);
	CHECK_INT(f->metric[0]->n_label, 2);
	CHECK_STR(f->metric[0]->label[0]->name, "a");
	CHECK_STR(f->metric[0]->label[0]->value, "q\"b\\c\nd,e=\"f\"");
	CHECK_STR(f->metric[0]->label[1]->name, "b");
	CHECK_STR(f->metric[0]->label[1]->value, "");
	CHECK(f->metric[0]->counter);
	CHECK(f->metric[0]->counter->value == 18446744073709551616.0);
	CHECK_INT(f->metric[0]->counter->created_timestamp->seconds, 1700000000);
	CHECK_INT(f->metric[0]->counter->created_timestamp->nanos, 250000000);
	CHECK_INT(f->metric[1]->n_label, 0);
	CHECK(f->metric[1]->counter->value == 0);
	CHECK(!f->metric[1]->counter->created_timestamp);
	io__prometheus__client__metric_family__free_unpacked(f, NULL);
	f = next_family(p, end);
	CHECK(f);
	CHECK_STR(f->name, "g");
	CHECK_INT(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__GAUGE);
	CHECK_INT(f->n_metric, 1);
	CHECK(f->metric[0]->gauge && f->metric[0]->gauge->value == 1.5);
	CHECK(!f->metric[0]->counter);
	io__prometheus__client__metric_family__free_unpacked(f, NULL);
}

/* A histogram of 2 classic buckets, and native counts 3, 0, 0, 2, 5 at
 * indexes -1..3 with 4 in the zero bucket. */
static void histogram(int native, const uint64_t *counts, uint32_t n)
{
	struct elx_pb_histogram h = { .record = ELX_PB_HISTOGRAM,
				      .labels_len = 7,
				      .count = 14,
				      .sum = 21.5,
				      .created = 1.5,
				      .nbuckets = 2,
				      .native = (uint32_t)native,
				      .native_first = -1,
				      .nnative = n,
				      .zero_count = 4 };
	struct elx_pb_bucket b[2] = { { 0.5, 4 }, { 2, 9 } };

	put(&h, sizeof(h));
	put("dev=\"x\"", 7);
	put(b, sizeof(b));
	put(counts, n * sizeof(*counts));
}

static void check_histograms(const uint8_t **p, const uint8_t *end)
{
	Family *f = next_family(p, end);
	Io__Prometheus__Client__Histogram *h;

	CHECK(f);
	CHECK_INT(f->type, IO__PROMETHEUS__CLIENT__METRIC_TYPE__HISTOGRAM);
	CHECK_INT(f->n_metric, 3);
	h = f->metric[0]->histogram;
	CHECK_STR(f->metric[0]->label[0]->value, "x");
	CHECK_INT(h->sample_count, 14);
	CHECK(h->sample_sum == 21.5);
	CHECK_INT(h->created_timestamp->seconds, 1);
	CHECK_INT(h->created_timestamp->nanos, 500000000);
	CHECK_INT(h->n_bucket, 2);
	CHECK(h->bucket[1]->upper_bound == 2 && h->bucket[1]->cumulative_count == 9);
	CHECK_INT(h->zero_count, 4);
	CHECK_INT(h->n_positive_span, 2);
	CHECK_INT(h->positive_span[0]->offset, -1);
	CHECK_INT(h->positive_span[0]->length, 1);
	CHECK_INT(h->positive_span[1]->offset, 2);
	CHECK_INT(h->positive_span[1]->length, 2);
	CHECK_INT(h->n_positive_delta, 3);
	CHECK_INT(h->positive_delta[0], 3);
	CHECK_INT(h->positive_delta[1], -1);
	CHECK_INT(h->positive_delta[2], 3);
	/* No observations: one empty span marks it native. */
	h = f->metric[1]->histogram;
	CHECK_INT(h->n_positive_span, 1);
	CHECK_INT(h->positive_span[0]->offset, 0);
	CHECK_INT(h->positive_span[0]->length, 0);
	CHECK_INT(h->n_positive_delta, 0);
	/* Classic only. */
	h = f->metric[2]->histogram;
	CHECK_INT(h->n_bucket, 2);
	CHECK_INT(h->n_positive_span, 0);
	CHECK_INT(h->zero_count, 0);
	io__prometheus__client__metric_family__free_unpacked(f, NULL);
}

static void check_refused(const char *what, const uint8_t *in, size_t len)
{
	char *out = NULL;
	size_t out_len = 0;

	if (elx_protobuf_encode(in, len, &out, &out_len) != -EINVAL) {
		fprintf(stderr, "%s: not refused\n", what);
		exit(1);
	}
	CHECK(!out);
}

int main(void)
{
	static const uint64_t counts[5] = { 3, 0, 0, 2, 5 }, none[5];
	const uint8_t *p, *end;
	char *out = NULL;
	size_t len = 0, good;

	family("x_total", "Help \"with\" quotes\nand lines", 0);
	sample("a=\"q\\\"b\\\\c\\nd,e=\\\"f\\\"\",b=\"\"", 18446744073709551616.0, 1700000000.25);
	sample("", 0, 0);
	family("g", "", 1);
	sample("", 1.5, 99);
	family("h_seconds", "H", 4);
	histogram(1, counts, 5);
	histogram(1, none, 5);
	histogram(0, counts, 0);
	good = nrec;
	CHECK_INT(elx_protobuf_encode(records, nrec, &out, &len), 0);
	p = (const uint8_t *)out;
	end = p + len;
	check_samples(&p, end);
	check_histograms(&p, end);
	CHECK(p == end);
	free(out);

	CHECK_INT(elx_protobuf_encode(records, 0, &out, &len), 0);
	CHECK_INT(len, 0);
	free(out);
	check_refused("a truncated record", records, good - 1);
	check_refused("a sample before any family",
		      records + sizeof(struct elx_pb_family) + 7 +
			  strlen("Help \"with\" quotes\nand lines"),
		      good - sizeof(struct elx_pb_family));
	nrec = 0;
	family("bad", "", 0);
	sample("a=\"unterminated", 1, 0);
	check_refused("an unterminated label value", records, nrec);
	nrec = 0;
	family("bad", "", 0);
	sample("a=1", 1, 0);
	check_refused("an unquoted label value", records, nrec);
	nrec = 0;
	family("bad", "", 0);
	histogram(1, counts, 5);
	check_refused("a histogram in a counter family", records, nrec);
	return 0;
}
