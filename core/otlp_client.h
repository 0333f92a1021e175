/* An HTTP client for OTLP exports on the libuv loop: libcurl's multi
 * interface, its sockets watched with uv_poll and its timeouts run by a
 * uv_timer, so that a slow or absent receiver never blocks the loop. One
 * request at a time, on a connection kept alive between them. */
#ifndef ELX_OTLP_CLIENT_H
#define ELX_OTLP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "otel_env.h"

/* How a request ended. */
struct elx_otlp_result {
	long status;	     /* the HTTP status, 0 when there was no answer */
	const char *error;   /* why there was none (curl's words), or NULL */
	const uint8_t *body; /* the answer's first bytes (at most 64 KiB) */
	size_t len;
};

typedef void (*elx_otlp_done_fn)(void *ctx, const struct elx_otlp_result *result);

struct elx_otlp_client;

/* A client posting to cfg->url with cfg's headers and TLS files; cfg must
 * outlive it. Returns 0 or -errno. */
int elx_otlp_client_new(uv_loop_t *loop, const struct elx_otel_config *cfg, elx_otlp_done_fn done,
			void *ctx, struct elx_otlp_client **out);

/* Starts a POST of `body` (the caller keeps it until `done` runs), given at
 * most timeout_ms to finish. -EBUSY while one is under way. */
int elx_otlp_client_post(struct elx_otlp_client *c, const uint8_t *body, size_t len,
			 uint64_t timeout_ms);

/* Whether a request is under way. */
int elx_otlp_client_busy(const struct elx_otlp_client *c);

/* Ends the request under way, if any, without calling `done`. */
void elx_otlp_client_abort(struct elx_otlp_client *c);

/* Aborts, closes the connection; the memory goes once the loop has closed
 * the handles. */
void elx_otlp_client_free(struct elx_otlp_client *c);

#endif
