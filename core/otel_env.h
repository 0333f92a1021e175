/* The span export's settings, from OpenTelemetry's standard environment
 * variables (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_*, OTEL_SERVICE_NAME,
 * OTEL_RESOURCE_ATTRIBUTES, OTEL_BSP_*), as its SDKs read them. */
#ifndef ELX_OTEL_ENV_H
#define ELX_OTEL_ENV_H

#include <stddef.h>
#include <stdint.h>

enum elx_otel_mode {
	ELX_OTEL_OTLP = 0,    /* OTLP/HTTP with protobuf */
	ELX_OTEL_CONSOLE = 1, /* one JSON line per span on stdout */
	ELX_OTEL_NONE = 2,    /* spans are not made */
};

struct elx_otel_attr {
	char *key;
	char *value;
};

struct elx_otel_config {
	enum elx_otel_mode mode;
	char *url;	/* where to POST: <endpoint>/v1/traces, or the traces endpoint */
	char **headers; /* "Key: value", for the HTTP client */
	size_t nheaders;
	uint64_t timeout_ms; /* one export, its retries included */
	int gzip;	     /* OTEL_EXPORTER_OTLP_COMPRESSION=gzip */
	char *ca_file;	     /* OTEL_EXPORTER_OTLP_CERTIFICATE, or NULL */
	char *client_cert;
	char *client_key;
	char *service_name;		/* for spans whose config names no service */
	struct elx_otel_attr *resource; /* OTEL_RESOURCE_ATTRIBUTES less service.name */
	size_t nresource;
	uint64_t schedule_delay_ms; /* OTEL_BSP_SCHEDULE_DELAY: a batch waits at most that */
	uint32_t max_queue;	    /* OTEL_BSP_MAX_QUEUE_SIZE: spans held, the oldest dropped */
	uint32_t max_batch;	    /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE: spans per request */
};

/* Reads the environment into *c. Returns 0, or -EINVAL with *err a malloc'd
 * line naming the variable and what is wrong with its value. */
int elx_otel_config_from_env(struct elx_otel_config *c, char **err);

void elx_otel_config_free(struct elx_otel_config *c);

#endif
