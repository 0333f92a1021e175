/* The OTEL_* environment as the span export reads it: defaults, each
 * variable's form, the traces-specific ones over the general ones, and the
 * error line for each kind of mistake. */
#include <stdlib.h>

#include "check.h"
#include "otel_env.h"

static const char *const VARS[] = {
	"OTEL_TRACES_EXPORTER",		  "OTEL_SDK_DISABLED",
	"OTEL_EXPORTER_OTLP_PROTOCOL",	  "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_ENDPOINT",	  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_HEADERS",	  "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_TIMEOUT",	  "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_SERVICE_NAME",
	"OTEL_RESOURCE_ATTRIBUTES",	  "OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_MAX_QUEUE_SIZE",	  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(VARS) / sizeof(VARS[0]); i++)
		unsetenv(VARS[i]);
}

static void test_defaults(void)
{
	struct elx_otel_config c;
	char *err;

	clear_env();
	CHECK_INT(elx_otel_config_from_env(&c, &err), 0);
	CHECK_INT(c.mode, ELX_OTEL_OTLP);
	CHECK_STR(c.url, "http://localhost:4318/v1/traces");
	CHECK_INT(c.nheaders, 0);
	CHECK_INT(c.timeout_ms, 10000);
	CHECK_INT(c.schedule_delay_ms, 5000);
	CHECK_INT(c.max_queue, 2048);
	CHECK_INT(c.max_batch, 512);
	CHECK_INT(c.gzip, 0);
	CHECK_STR(c.service_name, "ebpf_exporter");
	CHECK_INT(c.nresource, 0);
	elx_otel_config_free(&c);
}

static void test_values(void)
{
	struct elx_otel_config c;
	char *err;

	clear_env();
	setenv("OTEL_TRACES_EXPORTER", "console", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318/", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20x, X-Team = a", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-team=b", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "3000", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "2000", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", 1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "host.name=h1,service.name=from-attrs,k=a%2Cb", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "100", 1);
	setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500", 1);
	CHECK_INT(elx_otel_config_from_env(&c, &err), 0);
	CHECK_INT(c.mode, ELX_OTEL_CONSOLE);
	CHECK_STR(c.url, "https://collector:4318/v1/traces");
	CHECK_INT(c.nheaders, 2);
	CHECK_STR(c.headers[0], "Authorization: Bearer x");
	CHECK_STR(c.headers[1], "x-team: b"); /* the traces list's, over the general one's */
	CHECK_INT(c.timeout_ms, 2000);
	CHECK_INT(c.gzip, 1);
	CHECK_STR(c.service_name, "from-attrs");
	CHECK_INT(c.nresource, 2);
	CHECK_STR(c.resource[0].key, "host.name");
	CHECK_STR(c.resource[0].value, "h1");
	CHECK_STR(c.resource[1].key, "k");
	CHECK_STR(c.resource[1].value, "a,b");
	CHECK_INT(c.max_queue, 100);
	CHECK_INT(c.max_batch, 100); /* never more than the queue */
	elx_otel_config_free(&c);

	/* OTEL_SERVICE_NAME wins; the traces endpoint is used as it is. */
	setenv("OTEL_SERVICE_NAME", "svc", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:9/custom", 1);
	setenv("OTEL_TRACES_EXPORTER", "none", 1);
	CHECK_INT(elx_otel_config_from_env(&c, &err), 0);
	CHECK_STR(c.service_name, "svc");
	CHECK_STR(c.url, "http://other:9/custom");
	CHECK_INT(c.mode, ELX_OTEL_NONE);
	CHECK_INT(c.nresource, 2);
	elx_otel_config_free(&c);
}

static void check_error(const char *var, const char *value, const char *want)
{
	struct elx_otel_config c;
	char *err = NULL;

	clear_env();
	setenv(var, value, 1);
	CHECK_INT(elx_otel_config_from_env(&c, &err), -22);
	CHECK_STR(err, want);
	free(err);
}

static void test_errors(void)
{
	check_error("OTEL_TRACES_EXPORTER", "jaeger",
		    "OTEL_TRACES_EXPORTER=jaeger: must be otlp, console or none");
	check_error("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc",
		    "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only http/protobuf is supported (OTLP over "
		    "HTTP, port 4318)");
	check_error("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318",
		    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=collector:4318: must be an http:// or "
		    "https:// URL");
	check_error("OTEL_EXPORTER_OTLP_HEADERS", "novalue",
		    "OTEL_EXPORTER_OTLP_HEADERS=novalue: must be a list of key=value separated by "
		    "commas");
	check_error("OTEL_EXPORTER_OTLP_TIMEOUT", "10s",
		    "OTEL_EXPORTER_OTLP_TIMEOUT=10s: must be a whole number >= 1");
	check_error("OTEL_BSP_MAX_QUEUE_SIZE", "0",
		    "OTEL_BSP_MAX_QUEUE_SIZE=0: must be a whole number >= 1");
	check_error("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd",
		    "OTEL_EXPORTER_OTLP_COMPRESSION=zstd: must be gzip or none");
	check_error("OTEL_RESOURCE_ATTRIBUTES", "=x",
		    "OTEL_RESOURCE_ATTRIBUTES==x: must be a list of key=value separated by commas");
}

int main(void)
{
	test_defaults();
	test_values();
	test_errors();
	clear_env();
	return 0;
}
