/* Where a span stream's batches go: through the Lua state of the generation
 * serving its config (ELX_ENTRY_SPANS decodes the records into spans), into
 * the span export's queue. */
#ifndef ELX_SPAN_TARGET_H
#define ELX_SPAN_TARGET_H

#include <stdint.h>

#include "abi.h"
#include "span_reader.h"

struct elx_lua;
struct elx_span_export;

struct elx_span_target {
	struct elx_lua *lua;
	const char *config;
	uint32_t stream; /* its index in the config's span streams */
	char *service;	 /* tracing.spans[i].service, or NULL; malloc'd */
	struct elx_config_counters *counters;
	struct elx_span_export *export;
	uint16_t origin;
};

/* An elx_span_deliver_fn, with ctx a struct elx_span_target *. */
void elx_span_target_deliver(void *ctx, const struct elx_span_reader *r);

#endif
