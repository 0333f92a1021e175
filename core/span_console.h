/* OTEL_TRACES_EXPORTER=console: each span as one line of JSON on stdout. */
#ifndef ELX_SPAN_CONSOLE_H
#define ELX_SPAN_CONSOLE_H

#include <stdio.h>

#include "span_queue.h"

/* {"name":..,"trace_id":"<32 hex>","span_id":..,"parent_span_id":"" or
 * <16 hex>,"start_time_unix_nano":..,"end_time_unix_nano":..,
 * "service.name":..,"attributes":{"key":"value",...}} and a newline. */
void elx_span_console_write(FILE *out, const struct elx_queued_span *s, const char *service);

#endif
