/* The span export, piece by piece and whole: the bounded queue (oldest out
 * first), a span's copy (ids made up, times converted, strings made valid
 * UTF-8), the OTLP encoding read back with protobuf-c, console lines, and
 * exports to this project's own HTTP server standing in for a receiver that
 * fails, refuses and accepts. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "check.h"
#include "http.h"
#include "listen.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "otlp_encode.h"
#include "span_console.h"
#include "span_export.h"
#include "span_queue.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

static struct elx_span make_span(const char *name, struct elx_span_attr *attrs, uint32_t n)
{
	struct elx_span s = { 0 };

	for (int i = 0; i < 16; i++)
		s.trace_id[i] = (uint8_t)(i + 1);
	memset(s.span_id, 0xab, 8);
	s.monotonic_ns = 1000;
	s.duration_ns = 50;
	s.flags = ELX_SPAN_HAS_TIMESTAMP;
	s.name = name;
	s.name_len = (uint32_t)strlen(name);
	s.attributes = attrs;
	s.nattributes = n;
	return s;
}

static void test_queue(void)
{
	struct elx_span_queue q;
	struct elx_queued_span *s[5], *out[5];

	CHECK_INT(elx_span_queue_init(&q, 3), 0);
	for (int i = 0; i < 5; i++) {
		s[i] = calloc(1, sizeof(*s[i]));
		s[i]->origin = (uint16_t)i;
	}
	CHECK(elx_span_queue_push(&q, s[0]) == NULL);
	CHECK(elx_span_queue_push(&q, s[1]) == NULL);
	CHECK(elx_span_queue_push(&q, s[2]) == NULL);
	CHECK(elx_span_queue_push(&q, s[3]) == s[0]); /* full: the oldest leaves */
	CHECK(elx_span_queue_push(&q, s[4]) == s[1]);
	free(s[0]);
	free(s[1]);
	CHECK_INT(q.len, 3);
	CHECK_INT(elx_span_queue_take(&q, out, 2), 2);
	CHECK(out[0] == s[2] && out[1] == s[3]);
	free(out[0]);
	free(out[1]);
	elx_span_queue_free(&q);
}

static void test_copy(void)
{
	struct elx_span_attr attrs[] = {
		{ "bad",
		  "a\xff"
		  "b",
		  3, 3 },
		{ "cut", "x\0y", 3, 3 },
	};
	struct elx_span s = make_span("n\xc3\xa9", attrs, 2);
	struct elx_span_ids ids = { 42 };
	struct elx_queued_span *q;
	static const uint8_t zero[8];

	memset(s.trace_id, 0, 16);
	memset(s.span_id, 0, 8);
	q = elx_queued_span_new(&s, 7, 5000, 99, &ids);
	CHECK(q != NULL);
	CHECK(memcmp(q->trace_id, zero, 8) != 0 || memcmp(q->trace_id + 8, zero, 8) != 0);
	CHECK(memcmp(q->span_id, zero, 8) != 0);
	CHECK(memcmp(q->parent_span_id, zero, 8) == 0);
	CHECK_INT(q->start_unix_ns, 6000);
	CHECK_INT(q->end_unix_ns, 6050);
	CHECK_INT(q->origin, 7);
	CHECK_STR(q->name, "n\xc3\xa9");
	CHECK_STR(q->attrs[0].value, "a\xef\xbf\xbd"
				     "b");
	CHECK_STR(q->attrs[1].value, "x");
	free(q);
	s.flags = 0; /* no timestamp of its own: it starts when decoded */
	q = elx_queued_span_new(&s, 0, 5000, 99, &ids);
	CHECK_INT(q->start_unix_ns, 5099);
	free(q);
}

static struct elx_queued_span *queued(const char *name, uint16_t origin, struct elx_span_attr *a,
				      uint32_t n)
{
	struct elx_span s = make_span(name, a, n);
	struct elx_span_ids ids = { 1 };

	if (origin == 1)
		memset(s.parent_span_id, 0x11, 8);
	return elx_queued_span_new(&s, origin, 1000000, 0, &ids);
}

static void test_encode(void)
{
	struct elx_span_attr a[] = { { "k", "v", 1, 1 } };
	struct elx_queued_span *spans[] = { queued("one", 0, a, 1), queued("two", 1, NULL, 0),
					    queued("three", 0, NULL, 0) };
	const char *services[] = { "svc-a", "svc-b" };
	const uint16_t service_of[] = { 1, 0 };
	struct elx_span_kv resource[] = { { "host.name", "h" } };
	struct elx_otlp_resource r = { resource, 1, services, 2, service_of, "scope", "1.0" };
	uint8_t *body;
	size_t len;
	Request *req;

	CHECK_INT(elx_otlp_encode(&r, spans, 3, &body, &len), 0);
	req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
	    NULL, len, body);
	CHECK(req != NULL);
	CHECK_INT(req->n_resource_spans, 2);
	/* svc-a: origin 1's span; svc-b: origin 0's two, in batch order. */
	CHECK_STR(req->resource_spans[0]->resource->attributes[0]->key, "service.name");
	CHECK_STR(req->resource_spans[0]->resource->attributes[0]->value->string_value, "svc-a");
	CHECK_STR(req->resource_spans[0]->resource->attributes[1]->key, "host.name");
	CHECK_INT(req->resource_spans[0]->scope_spans[0]->n_spans, 1);
	CHECK_STR(req->resource_spans[0]->scope_spans[0]->scope->name, "scope");
	CHECK_STR(req->resource_spans[0]->scope_spans[0]->spans[0]->name, "two");
	CHECK_INT(req->resource_spans[0]->scope_spans[0]->spans[0]->parent_span_id.len, 8);
	CHECK_STR(req->resource_spans[1]->resource->attributes[0]->value->string_value, "svc-b");
	CHECK_INT(req->resource_spans[1]->scope_spans[0]->n_spans, 2);
	{
		Opentelemetry__Proto__Trace__V1__Span *s =
		    req->resource_spans[1]->scope_spans[0]->spans[0];

		CHECK_STR(s->name, "one");
		CHECK_INT(s->trace_id.len, 16);
		CHECK_INT(s->trace_id.data[15], 16);
		CHECK_INT(s->span_id.data[0], 0xab);
		CHECK_INT(s->parent_span_id.len, 0);
		CHECK_INT(s->start_time_unix_nano, 1001000);
		CHECK_INT(s->end_time_unix_nano, 1001050);
		CHECK_INT(s->n_attributes, 1);
		CHECK_STR(s->attributes[0]->key, "k");
		CHECK_STR(s->attributes[0]->value->string_value, "v");
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    req, NULL);
	free(body);
	for (int i = 0; i < 3; i++)
		free(spans[i]);
}

static void test_rejected(void)
{
	/* partial_success { rejected_spans: 2, error_message: "no" } */
	static const uint8_t answer[] = { 0x0a, 0x06, 0x08, 0x02, 0x12, 0x02, 'n', 'o' };
	char *message;

	CHECK_INT(elx_otlp_rejected(answer, sizeof(answer), &message), 2);
	CHECK_STR(message, "no");
	free(message);
	CHECK_INT(elx_otlp_rejected(answer, 0, &message), 0);
	CHECK_INT(elx_otlp_rejected((const uint8_t *)"\xff", 1, &message), -1);
}

static void test_console(void)
{
	struct elx_span_attr a[] = { { "q", "say \"hi\"\n", 1, 9 } };
	struct elx_queued_span *s = queued("name", 0, a, 1);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	elx_span_console_write(out, s, "svc");
	fclose(out);
	CHECK_STR(text,
		  "{\"name\":\"name\",\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\","
		  "\"span_id\":\"abababababababab\",\"parent_span_id\":\"\","
		  "\"start_time_unix_nano\":1001000,\"end_time_unix_nano\":1001050,"
		  "\"service.name\":\"svc\",\"attributes\":{\"q\":\"say \\\"hi\\\"\\u000a\"}}\n");
	free(text);
	free(s);
}

/* ---------------------------------------------------------- a receiver */

struct receiver {
	int fail_first; /* answer this many requests 503 */
	int status;	/* then this */
	int requests;
	size_t spans;
};

static void on_request(void *ctx, const struct elx_http_request *req,
		       struct elx_http_response *resp)
{
	struct receiver *r = ctx;
	Request *body;

	r->requests++;
	resp->status = r->requests <= r->fail_first ? 503 : r->status;
	resp->body = strdup("");
	if (resp->status != 200)
		return;
	body = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(
	    NULL, req->body_len, (const uint8_t *)req->body);
	CHECK(body != NULL);
	for (size_t i = 0; i < body->n_resource_spans; i++)
		r->spans += body->resource_spans[i]->scope_spans[0]->n_spans;
	opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(
	    body, NULL);
}

static struct elx_span_stats run_until(uv_loop_t *loop, struct elx_span_export *x, uint64_t n)
{
	struct elx_span_export_stats st;

	for (int i = 0; i < 20000; i++) {
		elx_span_export_stats(x, &st);
		if (st.nconfigs &&
		    st.configs[0].exported + st.configs[0].failed + st.configs[0].dropped >= n &&
		    st.queue_length == 0)
			break;
		uv_run(loop, UV_RUN_ONCE);
	}
	return st.configs[0];
}

static void add_spans(struct elx_span_export *x, int origin, int n)
{
	struct elx_span s[8];

	for (int i = 0; i < n; i++)
		s[i] = make_span("s", NULL, 0);
	elx_span_export_add(x, (uint16_t)origin, s, (uint32_t)n);
}

static void test_export(void)
{
	uv_loop_t *loop = uv_default_loop();
	struct receiver r = { .fail_first = 2, .status = 200 };
	struct elx_http_server *srv;
	struct elx_span_export *x;
	struct elx_span_stats st;
	const char *msg;
	char url[64];
	int origin;

	CHECK_INT(elx_http_server_start(loop, elx_listen_open("127.0.0.1:0", &msg), NULL,
					on_request, &r, &srv, &msg),
		  0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", elx_http_server_port(srv));
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "10", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3000", 1);
	CHECK_INT(elx_span_export_new(loop, &x), 0);
	CHECK(elx_span_export_error(x) == NULL);
	origin = elx_span_export_origin(x, "cfg", NULL);
	CHECK_INT(origin, 0);
	CHECK_INT(elx_span_export_origin(x, "cfg", "other"), 1);
	CHECK_INT(elx_span_export_origin(x, "cfg", NULL), 0);
	/* Two 503s, then the batch goes through: retried, exported once. */
	add_spans(x, origin, 5);
	st = run_until(loop, x, 5);
	CHECK_INT(st.exported, 5);
	CHECK_INT(st.failed, 0);
	CHECK_INT(r.requests, 3);
	CHECK_INT(r.spans, 5);
	/* A 400 is final: no retry. */
	r.status = 400;
	add_spans(x, 1, 3);
	st = run_until(loop, x, 8);
	CHECK_INT(st.failed, 3);
	CHECK_INT(r.requests, 4);
	/* Shutdown sends what is queued, at once. */
	r.status = 200;
	add_spans(x, 0, 4);
	elx_span_export_shutdown(x, 2000);
	st = run_until(loop, x, 12);
	CHECK_INT(st.exported, 9);
	CHECK_INT(r.spans, 9);
	elx_span_export_free(x);
	elx_http_server_close(srv);
	uv_run(loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(loop), 0);
}

int main(void)
{
	test_queue();
	test_copy();
	test_encode();
	test_rejected();
	test_console();
	test_export();
	return 0;
}
