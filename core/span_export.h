/* The span export: spans decoded from every config's ring buffers wait in
 * one bounded queue and leave it in batches (a size and a time bound) for
 * the receiver the OTEL_* environment names, over OTLP/HTTP, or for stdout
 * (console). One process-wide export outlives reloads, so that queued spans
 * and the spans_total counts carry over. Everything runs on the libuv loop:
 * a slow or absent receiver costs queued spans, never a scrape. */
#ifndef ELX_SPAN_EXPORT_H
#define ELX_SPAN_EXPORT_H

#include <stdint.h>
#include <uv.h>

#include "abi.h"

struct elx_span_export;

/* Reads the OTEL_* environment. An export is always made: when the
 * environment is wrong, elx_span_export_error() says why, and configs with
 * spans must not load. Returns 0 or -ENOMEM. */
int elx_span_export_new(uv_loop_t *loop, struct elx_span_export **out);

/* What is wrong with the environment ("VAR=value: why"), or NULL. */
const char *elx_span_export_error(const struct elx_span_export *x);

/* Where spans go, for the log: "exported with OTLP/HTTP to <url>", ... */
const char *elx_span_export_describe(struct elx_span_export *x);

/* Whether spans are made at all (OTEL_TRACES_EXPORTER is not none). */
int elx_span_export_enabled(const struct elx_span_export *x);

/* The origin id of the spans of `config` for `service` (NULL: the default
 * service.name): their resource and their spans_total. -ENOMEM, or -ENOSPC
 * past 65535 origins. */
int elx_span_export_origin(struct elx_span_export *x, const char *config, const char *service);

/* Queues n decoded spans of an origin (their strings are copied). */
void elx_span_export_add(struct elx_span_export *x, uint16_t origin, const struct elx_span *spans,
			 uint32_t n);

/* The counts and the queue, for a scrape; valid until the next call. */
void elx_span_export_stats(struct elx_span_export *x, struct elx_span_export_stats *out);

/* At shutdown: exports what is queued, running the loop for at most
 * bound_ms; what is left counts as dropped (queued) or failed (sent, with
 * no answer). */
void elx_span_export_shutdown(struct elx_span_export *x, uint64_t bound_ms);

/* The bound shutdown gives the last exports: the export timeout, at most
 * 5 s. */
uint64_t elx_span_export_shutdown_bound(const struct elx_span_export *x);

void elx_span_export_free(struct elx_span_export *x);

#endif
