/* One call into Lua per batch of records; the spans it answers are copied
 * into the export's queue before anything else runs in that state. */
#include "span_target.h"

#include <stdlib.h>

#include "log.h"
#include "lua_host.h"
#include "span_export.h"

/* Spans of one call: the core's memory, reused (the loop is one thread). */
static struct elx_span spans[ELX_SPAN_BATCH];

void elx_span_target_deliver(void *ctx, const struct elx_span_reader *r)
{
	struct elx_span_target *t = ctx;
	struct elx_span_call call = {
		.config = t->config,
		.stream = t->stream,
		.nrecords = r->n,
		.data = r->data,
		.records = r->records,
		.counters = t->counters,
		.spans = spans,
	};
	char *err = NULL;

	if (!t->export || !elx_span_export_enabled(t->export))
		return;
	if (elx_lua_call(t->lua, ELX_ENTRY_SPANS, &call, &err) != 0) {
		/* A bug, not bad data (decoders' failures are counted in Lua). */
		log_error("config %s: decoding spans from %s failed: %s", t->config, r->map,
			  err ? err : "out of memory");
		free(err);
		return;
	}
	elx_span_export_add(t->export, t->origin, spans, call.nspans < r->n ? call.nspans : r->n);
}
