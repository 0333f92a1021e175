/* Spans into the body of an OTLP/HTTP export (ExportTraceServiceRequest in
 * protobuf, with protobuf-c's code generated from proto/), and the answer's
 * partial success out of the receiver's reply. */
#ifndef ELX_OTLP_ENCODE_H
#define ELX_OTLP_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "span_queue.h"

/* What every request says besides its spans. */
struct elx_otlp_resource {
	const struct elx_span_kv *attrs; /* OTEL_RESOURCE_ATTRIBUTES, less service.name */
	size_t nattrs;
	const char *const *services; /* service.name by span origin */
	size_t nservices;
	const uint16_t *service_of; /* origin -> index in services */
	const char *scope_name;	    /* the instrumentation scope: us */
	const char *scope_version;
};

/* One ResourceSpans per service, holding one ScopeSpans with its spans in
 * their order. *body is malloc'd. Returns 0 or -ENOMEM. */
int elx_otlp_encode(const struct elx_otlp_resource *r, struct elx_queued_span *const *spans,
		    size_t n, uint8_t **body, size_t *len);

/* The spans an ExportTraceServiceResponse says were rejected (its
 * partial_success), 0 for a reply without one, -1 when it is no such
 * message. */
int64_t elx_otlp_rejected(const uint8_t *body, size_t len, char **message);

#endif
