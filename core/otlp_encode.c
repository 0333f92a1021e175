/* OTLP encoding with protobuf-c: the messages of one request are built in
 * arrays sized from the batch, pointing at the queued spans' own bytes, then
 * packed once. Nothing is copied but by the packer. */
#define _GNU_SOURCE
#include "otlp_encode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest Request;

/* Every message of one request, in arrays allocated together. */
struct arena {
	Span *spans;
	Span **span_ptrs;
	KeyValue *kvs;
	KeyValue **kv_ptrs;
	AnyValue *values;
	size_t nkv;
	ResourceSpans *rs;
	ResourceSpans **rs_ptrs;
	ScopeSpans *ss;
	ScopeSpans **ss_ptrs;
	Resource *resources;
};

static KeyValue **string_attrs(struct arena *a, const struct elx_span_kv *kv, size_t n,
			       const char *key0, const char *value0)
{
	KeyValue **first = &a->kv_ptrs[a->nkv];

	for (size_t i = 0; i < n + (key0 ? 1 : 0); i++) {
		KeyValue *k = &a->kvs[a->nkv];
		AnyValue *v = &a->values[a->nkv];

		opentelemetry__proto__common__v1__key_value__init(k);
		opentelemetry__proto__common__v1__any_value__init(v);
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		k->key = (char *)(i < n ? kv[i].key : key0);
		v->string_value = (char *)(i < n ? kv[i].value : value0);
		k->value = v;
		a->kv_ptrs[a->nkv++] = k;
	}
	return first;
}

static void fill_span(struct arena *a, Span *p, const struct elx_queued_span *s)
{
	static const uint8_t zero[8];

	opentelemetry__proto__trace__v1__span__init(p);
	p->trace_id = (ProtobufCBinaryData){ sizeof(s->trace_id), (uint8_t *)s->trace_id };
	p->span_id = (ProtobufCBinaryData){ sizeof(s->span_id), (uint8_t *)s->span_id };
	if (memcmp(s->parent_span_id, zero, sizeof(zero)) != 0)
		p->parent_span_id = (ProtobufCBinaryData){ sizeof(s->parent_span_id),
							   (uint8_t *)s->parent_span_id };
	p->name = (char *)s->name;
	p->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_INTERNAL;
	p->start_time_unix_nano = s->start_unix_ns;
	p->end_time_unix_nano = s->end_unix_ns;
	p->flags = 1; /* sampled: every span is */
	p->n_attributes = s->nattrs;
	p->attributes = string_attrs(a, s->attrs, s->nattrs, NULL, NULL);
}

static int arena_alloc(struct arena *a, const struct elx_otlp_resource *r,
		       struct elx_queued_span *const *spans, size_t n)
{
	size_t nkv = r->nservices * (r->nattrs + 1);

	for (size_t i = 0; i < n; i++)
		nkv += spans[i]->nattrs;
	a->spans = calloc(n + 1, sizeof(*a->spans));
	a->span_ptrs = calloc(n + 1, sizeof(*a->span_ptrs));
	a->kvs = calloc(nkv + 1, sizeof(*a->kvs));
	a->kv_ptrs = calloc(nkv + 1, sizeof(*a->kv_ptrs));
	a->values = calloc(nkv + 1, sizeof(*a->values));
	a->rs = calloc(r->nservices + 1, sizeof(*a->rs));
	a->rs_ptrs = calloc(r->nservices + 1, sizeof(*a->rs_ptrs));
	a->ss = calloc(r->nservices + 1, sizeof(*a->ss));
	a->ss_ptrs = calloc(r->nservices + 1, sizeof(*a->ss_ptrs));
	a->resources = calloc(r->nservices + 1, sizeof(*a->resources));
	return a->spans && a->span_ptrs && a->kvs && a->kv_ptrs && a->values && a->rs &&
		       a->rs_ptrs && a->ss && a->ss_ptrs && a->resources
		   ? 0
		   : -ENOMEM;
}

static void arena_free(struct arena *a)
{
	free(a->spans);
	free(a->span_ptrs);
	free(a->kvs);
	free(a->kv_ptrs);
	free(a->values);
	free(a->rs);
	free(a->rs_ptrs);
	free(a->ss);
	free(a->ss_ptrs);
	free(a->resources);
}

/* The ResourceSpans of service `svc`, with its spans (those of the batch
 * whose origin it is) at span_ptrs[*next...]. Returns 0 when it has none. */
static int fill_service(struct arena *a, const struct elx_otlp_resource *r, size_t svc,
			struct elx_queued_span *const *spans, size_t n, size_t *next, Scope *scope)
{
	ResourceSpans *rs = &a->rs[svc];
	ScopeSpans *ss = &a->ss[svc];
	Resource *res = &a->resources[svc];
	size_t first = *next;

	for (size_t i = 0; i < n; i++) {
		if (r->service_of[spans[i]->origin] != svc)
			continue;
		fill_span(a, &a->spans[*next], spans[i]);
		a->span_ptrs[*next] = &a->spans[*next];
		(*next)++;
	}
	if (*next == first)
		return 0;
	opentelemetry__proto__trace__v1__scope_spans__init(ss);
	ss->scope = scope;
	ss->n_spans = *next - first;
	ss->spans = &a->span_ptrs[first];
	a->ss_ptrs[svc] = ss;
	opentelemetry__proto__resource__v1__resource__init(res);
	res->attributes = string_attrs(a, NULL, 0, "service.name", r->services[svc]);
	string_attrs(a, r->attrs, r->nattrs, NULL, NULL);
	res->n_attributes = r->nattrs + 1;
	opentelemetry__proto__trace__v1__resource_spans__init(rs);
	rs->resource = res;
	rs->n_scope_spans = 1;
	rs->scope_spans = &a->ss_ptrs[svc];
	return 1;
}

int elx_otlp_encode(const struct elx_otlp_resource *r, struct elx_queued_span *const *spans,
		    size_t n, uint8_t **body, size_t *len)
{
	struct arena a = { 0 };
	Request req =
	    OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
	Scope scope = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
	size_t next = 0;
	int ret = arena_alloc(&a, r, spans, n);

	*body = NULL;
	scope.name = (char *)r->scope_name;
	scope.version = (char *)r->scope_version;
	for (size_t svc = 0; !ret && svc < r->nservices; svc++) {
		if (fill_service(&a, r, svc, spans, n, &next, &scope))
			a.rs_ptrs[req.n_resource_spans++] = &a.rs[svc];
	}
	req.resource_spans = a.rs_ptrs;
	if (!ret) {
		*len =
		    opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(
			&req);
		*body = malloc(*len ? *len : 1);
		if (*body)
			opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(
			    &req, *body);
		else
			ret = -ENOMEM;
	}
	arena_free(&a);
	return ret;
}

int64_t elx_otlp_rejected(const uint8_t *body, size_t len, char **message)
{
	Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *resp;
	int64_t rejected = 0;

	*message = NULL;
	resp = opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(
	    NULL, len, body);
	if (!resp)
		return -1;
	if (resp->partial_success) {
		rejected = resp->partial_success->rejected_spans;
		if (resp->partial_success->error_message && *resp->partial_success->error_message)
			*message = strdup(resp->partial_success->error_message);
	}
	opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(
	    resp, NULL);
	return rejected;
}
