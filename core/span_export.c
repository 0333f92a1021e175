/* The span export's policy: when a batch leaves the queue, what a receiver's
 * answer means for it, retries, and what every span became. The queue, the
 * encoding and the HTTP client are each a file of their own. */
#define _GNU_SOURCE
#include "span_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build_config.h"
#include "gzip.h"
#include "log.h"
#include "otel_env.h"
#include "otlp_client.h"
#include "otlp_encode.h"
#include "span_console.h"
#include "span_queue.h"

/* Retries start after RETRY_FIRST_MS and double up to RETRY_MAX_MS, within
 * the export timeout (OTEL_EXPORTER_OTLP_TIMEOUT) counted from the first try. */
#define RETRY_FIRST_MS	100
#define RETRY_MAX_MS	5000
#define SHUTDOWN_MAX_MS 5000
#define MAX_ORIGINS	65535

struct origin {
	uint16_t config;  /* index in stats */
	uint16_t service; /* index in services */
};

struct elx_span_export {
	uv_loop_t *loop;
	struct elx_otel_config cfg;
	char *error; /* the environment's mistake, or NULL */
	struct elx_span_queue queue;
	struct elx_span_ids ids;
	struct elx_span_stats *stats; /* per config, names malloc'd */
	size_t nstats;
	char **services;
	size_t nservices;
	struct origin *origins;
	uint16_t *service_of; /* per origin, for the encoder */
	size_t norigins;
	struct elx_span_kv *resource; /* cfg's resource attributes, as the encoder takes them */
	/* The batch under way: sent, or waiting to be sent again. */
	struct elx_queued_span **batch;
	uint32_t nbatch;
	uint8_t *body;
	size_t body_len;
	uint64_t first_try_ms;
	uint64_t backoff_ms;
	int retry_pending; /* the timer runs for a retry, not for the batch delay */
	int failing;	   /* the last export failed: said once, until one works */
	char description[512];
	int stopping; /* shutdown: every span goes now, no retry */
	struct elx_otlp_client *client;
	uv_timer_t timer;
	int timer_open;
};

static void kick(struct elx_span_export *x);

int elx_span_export_new(uv_loop_t *loop, struct elx_span_export **out)
{
	struct elx_span_export *x = calloc(1, sizeof(*x));
	int ret;

	if (!x)
		return -ENOMEM;
	x->loop = loop;
	if (elx_otel_config_from_env(&x->cfg, &x->error) != 0) {
		x->cfg.mode = ELX_OTEL_NONE;
		x->cfg.max_queue = x->cfg.max_batch = 1;
	}
	ret = elx_span_queue_init(&x->queue, x->cfg.max_queue);
	x->batch = calloc(x->cfg.max_batch, sizeof(*x->batch));
	x->resource = calloc(x->cfg.nresource + 1, sizeof(*x->resource));
	if (ret || !x->batch || !x->resource) {
		elx_span_export_free(x);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->cfg.nresource; i++)
		x->resource[i] =
		    (struct elx_span_kv){ x->cfg.resource[i].key, x->cfg.resource[i].value };
	elx_span_ids_seed(&x->ids);
	uv_timer_init(loop, &x->timer);
	x->timer.data = x;
	x->timer_open = 1;
	*out = x;
	return 0;
}

const char *elx_span_export_error(const struct elx_span_export *x)
{
	return x->error;
}

const char *elx_span_export_describe(struct elx_span_export *x)
{
	if (x->cfg.mode == ELX_OTEL_CONSOLE)
		return "printed on stdout (OTEL_TRACES_EXPORTER=console)";
	if (x->cfg.mode == ELX_OTEL_NONE)
		return "not exported (OTEL_TRACES_EXPORTER=none)";
	snprintf(x->description, sizeof(x->description), "exported with OTLP/HTTP to %s",
		 x->cfg.url);
	return x->description;
}

int elx_span_export_enabled(const struct elx_span_export *x)
{
	return x->cfg.mode != ELX_OTEL_NONE;
}

static int config_index(struct elx_span_export *x, const char *config)
{
	struct elx_span_stats *grown;

	for (size_t i = 0; i < x->nstats; i++) {
		if (strcmp(x->stats[i].config, config) == 0)
			return (int)i;
	}
	grown = realloc(x->stats, (x->nstats + 1) * sizeof(*x->stats));
	if (!grown)
		return -ENOMEM;
	x->stats = grown;
	grown[x->nstats] = (struct elx_span_stats){ .config = strdup(config) };
	return grown[x->nstats].config ? (int)x->nstats++ : -ENOMEM;
}

static int service_index(struct elx_span_export *x, const char *service)
{
	char **grown;

	for (size_t i = 0; i < x->nservices; i++) {
		if (strcmp(x->services[i], service) == 0)
			return (int)i;
	}
	grown = realloc(x->services, (x->nservices + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	x->services = grown;
	grown[x->nservices] = strdup(service);
	return grown[x->nservices] ? (int)x->nservices++ : -ENOMEM;
}

int elx_span_export_origin(struct elx_span_export *x, const char *config, const char *service)
{
	int c = config_index(x, config);
	int s = service_index(x, service && *service ? service : x->cfg.service_name);
	struct origin *grown;
	uint16_t *of;

	if (c < 0 || s < 0)
		return -ENOMEM;
	for (size_t i = 0; i < x->norigins; i++) {
		if (x->origins[i].config == c && x->origins[i].service == s)
			return (int)i;
	}
	if (x->norigins == MAX_ORIGINS)
		return -ENOSPC;
	grown = realloc(x->origins, (x->norigins + 1) * sizeof(*grown));
	if (grown)
		x->origins = grown;
	of = realloc(x->service_of, (x->norigins + 1) * sizeof(*of));
	if (of)
		x->service_of = of;
	if (!grown || !of)
		return -ENOMEM;
	grown[x->norigins] = (struct origin){ (uint16_t)c, (uint16_t)s };
	of[x->norigins] = (uint16_t)s;
	return (int)x->norigins++;
}

static struct elx_span_stats *stats_of(struct elx_span_export *x, const struct elx_queued_span *s)
{
	return &x->stats[x->origins[s->origin].config];
}

static uint64_t monotonic_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void elx_span_export_add(struct elx_span_export *x, uint16_t origin, const struct elx_span *spans,
			 uint32_t n)
{
	uint64_t mono = monotonic_ns(CLOCK_MONOTONIC);
	/* One offset for the whole batch: the kernel's timestamps are
	 * CLOCK_MONOTONIC, OTLP's are Unix time. */
	int64_t offset = (int64_t)(monotonic_ns(CLOCK_REALTIME) - mono);

	if (x->cfg.mode == ELX_OTEL_NONE || origin >= x->norigins)
		return;
	for (uint32_t i = 0; i < n; i++) {
		struct elx_queued_span *s =
		    elx_queued_span_new(&spans[i], origin, offset, mono, &x->ids);
		struct elx_queued_span *oldest;

		if (!s) {
			x->stats[x->origins[origin].config].dropped++;
			continue;
		}
		oldest = elx_span_queue_push(&x->queue, s);
		if (oldest) {
			stats_of(x, oldest)->dropped++;
			free(oldest);
		}
	}
	kick(x);
}

/* ---------------------------------------------------------- batches */

static void end_batch(struct elx_span_export *x, int64_t failed)
{
	for (uint32_t i = 0; i < x->nbatch; i++) {
		struct elx_span_stats *st = stats_of(x, x->batch[i]);

		/* A partial success does not say which: the last ones count. */
		if ((int64_t)(x->nbatch - i) <= failed)
			st->failed++;
		else
			st->exported++;
		free(x->batch[i]);
	}
	x->nbatch = 0;
	free(x->body);
	x->body = NULL;
	x->retry_pending = 0;
}

static void write_console(struct elx_span_export *x)
{
	for (uint32_t i = 0; i < x->nbatch; i++)
		elx_span_console_write(stdout, x->batch[i],
				       x->services[x->service_of[x->batch[i]->origin]]);
	fflush(stdout);
	end_batch(x, 0);
}

static void say_failure(struct elx_span_export *x, const char *what, int retrying)
{
	if (retrying) {
		log_debug("span export to %s: %s; trying again", x->cfg.url, what);
		return;
	}
	if (!x->failing)
		log_warn("span export to %s failed: %s (%u spans; said once until an export works)",
			 x->cfg.url, what, x->nbatch);
	x->failing = 1;
}

static void on_timer(uv_timer_t *handle);
static void on_answer(void *ctx, const struct elx_otlp_result *r);

static void send_batch(struct elx_span_export *x)
{
	uint64_t spent = uv_now(x->loop) - x->first_try_ms;
	uint64_t left = spent < x->cfg.timeout_ms ? x->cfg.timeout_ms - spent : 1;
	int ret = 0;

	if (!x->client)
		ret = elx_otlp_client_new(x->loop, &x->cfg, on_answer, x, &x->client);
	if (!ret)
		ret = elx_otlp_client_post(x->client, x->body, x->body_len, left);
	if (ret) {
		say_failure(x, strerror(-ret), 0);
		end_batch(x, x->nbatch);
		kick(x);
	}
}

static int retryable(const struct elx_otlp_result *r)
{
	return r->status == 0 || r->status == 429 || r->status >= 500;
}

static void on_answer(void *ctx, const struct elx_otlp_result *r)
{
	struct elx_span_export *x = ctx;
	char what[256], *message = NULL;
	int64_t rejected;

	if (r->status >= 200 && r->status < 300) {
		rejected = elx_otlp_rejected(r->body, r->len, &message);
		if (rejected > 0)
			log_warn("span export to %s: the receiver rejected %lld of %u spans: %s",
				 x->cfg.url, (long long)rejected, x->nbatch,
				 message ? message : "");
		if (x->failing)
			log_info("span export to %s works again", x->cfg.url);
		x->failing = 0;
		free(message);
		end_batch(x, rejected > 0 ? rejected : 0);
		kick(x);
		return;
	}
	if (r->status)
		snprintf(what, sizeof(what), "HTTP %ld", r->status);
	else
		snprintf(what, sizeof(what), "%s", r->error ? r->error : "no answer");
	if (retryable(r) && !x->stopping &&
	    uv_now(x->loop) + x->backoff_ms < x->first_try_ms + x->cfg.timeout_ms) {
		say_failure(x, what, 1);
		x->retry_pending = 1;
		uv_timer_start(&x->timer, on_timer, x->backoff_ms, 0);
		x->backoff_ms = x->backoff_ms * 2 < RETRY_MAX_MS ? x->backoff_ms * 2 : RETRY_MAX_MS;
		return;
	}
	say_failure(x, what, 0);
	end_batch(x, x->nbatch);
	kick(x);
}

/* The oldest spans, up to a batch, leave the queue now. */
static void start_batch(struct elx_span_export *x)
{
	uint8_t *gz;
	size_t gz_len;
	struct elx_otlp_resource r = {
		.attrs = x->resource,
		.nattrs = x->cfg.nresource,
		.services = (const char *const *)x->services,
		.nservices = x->nservices,
		.service_of = x->service_of,
		.scope_name = "ebpf-lua-exporter",
		.scope_version = ELX_VERSION,
	};

	x->nbatch = elx_span_queue_take(&x->queue, x->batch, x->cfg.max_batch);
	if (x->cfg.mode == ELX_OTEL_CONSOLE)
		return write_console(x);
	if (elx_otlp_encode(&r, x->batch, x->nbatch, &x->body, &x->body_len) != 0) {
		say_failure(x, "out of memory", 0);
		end_batch(x, x->nbatch);
		return;
	}
	if (x->cfg.gzip && elx_gzip((char *)x->body, x->body_len, (char **)&gz, &gz_len) == 0) {
		free(x->body);
		x->body = gz;
		x->body_len = gz_len;
	}
	x->first_try_ms = uv_now(x->loop);
	x->backoff_ms = RETRY_FIRST_MS;
	send_batch(x);
}

static int busy(const struct elx_span_export *x)
{
	return x->nbatch > 0;
}

static void on_timer(uv_timer_t *handle)
{
	struct elx_span_export *x = handle->data;

	if (x->retry_pending) {
		x->retry_pending = 0;
		send_batch(x);
	} else if (!busy(x) && x->queue.len > 0) {
		start_batch(x);
	}
}

/* A batch goes when one is full (or at shutdown), else when the oldest
 * queued span has waited the schedule delay. Console batches go at once,
 * one after the other; an OTLP batch waits for the one under way. */
static void kick(struct elx_span_export *x)
{
	while (!busy(x) && x->queue.len > 0 && (x->queue.len >= x->cfg.max_batch || x->stopping)) {
		start_batch(x);
		if (x->cfg.mode != ELX_OTEL_CONSOLE)
			return;
	}
	if (!busy(x) && x->queue.len > 0 && !uv_is_active((uv_handle_t *)&x->timer))
		uv_timer_start(&x->timer, on_timer, x->cfg.schedule_delay_ms, 0);
}

void elx_span_export_stats(struct elx_span_export *x, struct elx_span_export_stats *out)
{
	out->configs = x->stats;
	out->nconfigs = (uint32_t)x->nstats;
	out->enabled = x->cfg.mode != ELX_OTEL_NONE;
	out->queue_length = x->queue.len + x->nbatch;
	out->queue_capacity = x->cfg.max_queue;
}

uint64_t elx_span_export_shutdown_bound(const struct elx_span_export *x)
{
	return x->cfg.timeout_ms < SHUTDOWN_MAX_MS ? x->cfg.timeout_ms : SHUTDOWN_MAX_MS;
}

static void on_deadline(uv_timer_t *handle)
{
	*(int *)handle->data = 1;
}

static void count_dropped(void *ctx, struct elx_queued_span *s)
{
	stats_of(ctx, s)->dropped++;
}

void elx_span_export_shutdown(struct elx_span_export *x, uint64_t bound_ms)
{
	uv_timer_t deadline;
	int expired = 0;

	if (!x || (x->queue.len == 0 && !busy(x)))
		return;
	x->stopping = 1;
	uv_timer_init(x->loop, &deadline);
	deadline.data = &expired;
	uv_timer_start(&deadline, on_deadline, bound_ms, 0);
	if (x->retry_pending) {
		uv_timer_stop(&x->timer);
		on_timer(&x->timer);
	}
	kick(x);
	while (!expired && (x->queue.len > 0 || busy(x)))
		uv_run(x->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	if (busy(x)) {
		elx_otlp_client_abort(x->client);
		say_failure(x, "the exporter stopped before the receiver answered", 0);
		end_batch(x, x->nbatch);
	}
	elx_span_queue_clear(&x->queue, count_dropped, x);
	uv_run(x->loop, UV_RUN_NOWAIT); /* the deadline's close */
}

static void free_export(uv_handle_t *handle)
{
	free(handle->data);
}

void elx_span_export_free(struct elx_span_export *x)
{
	if (!x)
		return;
	elx_otlp_client_free(x->client);
	end_batch(x, 0);
	elx_span_queue_free(&x->queue);
	for (size_t i = 0; i < x->nstats; i++)
		free((char *)x->stats[i].config);
	for (size_t i = 0; i < x->nservices; i++)
		free(x->services[i]);
	free(x->stats);
	free(x->services);
	free(x->origins);
	free(x->service_of);
	free(x->resource);
	free(x->batch);
	free(x->error);
	elx_otel_config_free(&x->cfg);
	if (x->timer_open)
		uv_close((uv_handle_t *)&x->timer, free_export);
	else
		free(x);
}
