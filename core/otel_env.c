/* OpenTelemetry's environment variables for the span export: the same names,
 * defaults and formats as the SDKs (the OTLP exporter and batch span
 * processor sections of the specification), so that a deployment configured
 * for ebpf_exporter's autoexport works unchanged. */
#define _GNU_SOURCE
#include "otel_env.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define DEFAULT_SERVICE	 "ebpf_exporter"

/* The traces-specific variable, else the general OTLP one. */
static const char *otlp_env(const char *traces, const char *general, const char **which)
{
	const char *v = getenv(traces);

	*which = traces;
	if (v && *v)
		return v;
	*which = general;
	v = getenv(general);
	return v && *v ? v : NULL;
}

static int fail(char **err, const char *var, const char *value, const char *why)
{
	if (asprintf(err, "%s=%s: %s", var, value, why) < 0)
		*err = NULL;
	return -EINVAL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A copy of s[0, n) with surrounding blanks trimmed and %XX decoded, as the
 * W3C baggage format of the header and resource lists has them. */
static char *decoded(const char *s, size_t n)
{
	char *out, *o;

	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	out = o = malloc(n + 1);
	for (size_t i = 0; out && i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n && (hi = hex_digit(s[i + 1])) >= 0 &&
		    (lo = hex_digit(s[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	if (out)
		*o = '\0';
	return out;
}

/* "k1=v1,k2=v2" into pairs. Returns 0, or -EINVAL for an entry without '='
 * or with an empty key. */
static int parse_pairs(const char *list, struct elx_otel_attr **out, size_t *n)
{
	const char *p = list;

	while (*p) {
		const char *end = strchr(p, ','), *eq;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct elx_otel_attr *grown;

		eq = memchr(p, '=', len);
		if (!eq || eq == p)
			return -EINVAL;
		grown = realloc(*out, (*n + 1) * sizeof(**out));
		if (!grown)
			return -ENOMEM;
		*out = grown;
		grown[*n].key = decoded(p, (size_t)(eq - p));
		grown[*n].value = decoded(eq + 1, len - (size_t)(eq - p) - 1);
		(*n)++;
		if (!grown[*n - 1].key || !grown[*n - 1].value)
			return -ENOMEM;
		if (!*grown[*n - 1].key)
			return -EINVAL;
		p += len + (end ? 1 : 0);
	}
	return 0;
}

static void free_pairs(struct elx_otel_attr *pairs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(pairs[i].key);
		free(pairs[i].value);
	}
	free(pairs);
}

static int read_mode(struct elx_otel_config *c, char **err)
{
	const char *v = getenv("OTEL_TRACES_EXPORTER");
	const char *off = getenv("OTEL_SDK_DISABLED");

	c->mode = ELX_OTEL_OTLP;
	if (off && strcasecmp(off, "true") == 0)
		c->mode = ELX_OTEL_NONE;
	else if (!v || !*v || strcmp(v, "otlp") == 0)
		c->mode = ELX_OTEL_OTLP;
	else if (strcmp(v, "console") == 0)
		c->mode = ELX_OTEL_CONSOLE;
	else if (strcmp(v, "none") == 0)
		c->mode = ELX_OTEL_NONE;
	else
		return fail(err, "OTEL_TRACES_EXPORTER", v, "must be otlp, console or none");
	return 0;
}

static int read_protocol(char **err)
{
	const char *which, *v = otlp_env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
					 "OTEL_EXPORTER_OTLP_PROTOCOL", &which);

	if (v && strcmp(v, "http/protobuf") != 0)
		return fail(err, which, v,
			    "only http/protobuf is supported (OTLP over HTTP, port 4318)");
	return 0;
}

static int is_url(const char *v)
{
	return strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0;
}

/* The traces endpoint is the URL itself; the general one gets /v1/traces. */
static int read_url(struct elx_otel_config *c, char **err)
{
	const char *v = getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *var = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
	size_t len;

	if (v && *v) {
		if (!is_url(v))
			return fail(err, var, v, "must be an http:// or https:// URL");
		c->url = strdup(v);
		return c->url ? 0 : -ENOMEM;
	}
	var = "OTEL_EXPORTER_OTLP_ENDPOINT";
	v = getenv(var);
	if (!v || !*v)
		v = DEFAULT_ENDPOINT;
	if (!is_url(v))
		return fail(err, var, v, "must be an http:// or https:// URL");
	len = strlen(v);
	while (len > 0 && v[len - 1] == '/')
		len--;
	if (asprintf(&c->url, "%.*s/v1/traces", (int)len, v) < 0) {
		c->url = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* General headers first, the traces ones after: a later one of the same
 * name replaces the earlier (curl sends both otherwise). */
static int read_headers(struct elx_otel_config *c, char **err)
{
	static const char *const vars[] = { "OTEL_EXPORTER_OTLP_HEADERS",
					    "OTEL_EXPORTER_OTLP_TRACES_HEADERS" };
	struct elx_otel_attr *pairs = NULL;
	size_t n = 0;
	int ret = 0;

	for (size_t i = 0; i < 2 && !ret; i++) {
		const char *v = getenv(vars[i]);

		if (v && *v && (ret = parse_pairs(v, &pairs, &n)) == -EINVAL)
			ret = fail(err, vars[i], v,
				   "must be a list of key=value separated by commas");
	}
	c->headers = calloc(n + 1, sizeof(*c->headers));
	for (size_t i = 0; !ret && c->headers && i < n; i++) {
		int replaced = 0;

		for (size_t j = i + 1; j < n; j++)
			replaced |= strcasecmp(pairs[i].key, pairs[j].key) == 0;
		if (!replaced && asprintf(&c->headers[c->nheaders++], "%s: %s", pairs[i].key,
					  pairs[i].value) < 0)
			ret = -ENOMEM;
	}
	free_pairs(pairs, n);
	return ret ? ret : c->headers ? 0 : -ENOMEM;
}

/* A positive integer, or the default when unset. */
static int read_number(const char *var, const char *v, uint64_t min, uint64_t *out, char **err)
{
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || !isdigit((unsigned char)*v) || n < min || n > UINT32_MAX)
		return fail(err, var, v,
			    min ? "must be a whole number >= 1" : "must be a whole number");
	*out = n;
	return 0;
}

static int read_limits(struct elx_otel_config *c, char **err)
{
	const char *which, *v;
	uint64_t queue = 2048, batch = 512;
	int ret;

	c->timeout_ms = 10000;
	c->schedule_delay_ms = 5000;
	v = otlp_env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", &which);
	ret = read_number(which, v, 1, &c->timeout_ms, err);
	if (!ret)
		ret = read_number("OTEL_BSP_SCHEDULE_DELAY", getenv("OTEL_BSP_SCHEDULE_DELAY"), 1,
				  &c->schedule_delay_ms, err);
	if (!ret)
		ret = read_number("OTEL_BSP_MAX_QUEUE_SIZE", getenv("OTEL_BSP_MAX_QUEUE_SIZE"), 1,
				  &queue, err);
	if (!ret)
		ret = read_number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
				  getenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"), 1, &batch, err);
	c->max_queue = (uint32_t)queue;
	/* As the SDKs do: a batch never holds more than the queue. */
	c->max_batch = (uint32_t)(batch < queue ? batch : queue);
	return ret;
}

static int read_compression(struct elx_otel_config *c, char **err)
{
	const char *which, *v = otlp_env("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
					 "OTEL_EXPORTER_OTLP_COMPRESSION", &which);

	if (!v || strcmp(v, "none") == 0)
		return 0;
	if (strcmp(v, "gzip") != 0)
		return fail(err, which, v, "must be gzip or none");
	c->gzip = 1;
	return 0;
}

static int read_tls(struct elx_otel_config *c)
{
	static const char *const vars[][2] = {
		{ "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE" },
		{ "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
		  "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE" },
		{ "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY" },
	};
	char **out[] = { &c->ca_file, &c->client_cert, &c->client_key };
	const char *which;

	for (size_t i = 0; i < 3; i++) {
		const char *v = otlp_env(vars[i][0], vars[i][1], &which);

		if (v && !(*out[i] = strdup(v)))
			return -ENOMEM;
	}
	return 0;
}

/* service.name: OTEL_SERVICE_NAME, else the one among the resource
 * attributes, else ebpf_exporter's default; it is taken out of the list,
 * as each config may name its own. */
static int read_resource(struct elx_otel_config *c, char **err)
{
	const char *v = getenv("OTEL_RESOURCE_ATTRIBUTES"), *name = getenv("OTEL_SERVICE_NAME");
	int ret = 0;

	if (v && *v && (ret = parse_pairs(v, &c->resource, &c->nresource)) == -EINVAL)
		return fail(err, "OTEL_RESOURCE_ATTRIBUTES", v,
			    "must be a list of key=value separated by commas");
	for (size_t i = 0; !ret && i < c->nresource; i++) {
		if (strcmp(c->resource[i].key, "service.name") != 0)
			continue;
		if (!name || !*name)
			name = c->service_name = c->resource[i].value;
		else
			free(c->resource[i].value);
		free(c->resource[i].key);
		c->resource[i--] = c->resource[--c->nresource];
	}
	if (!ret && !c->service_name)
		c->service_name = strdup(name && *name ? name : DEFAULT_SERVICE);
	return ret ? ret : c->service_name ? 0 : -ENOMEM;
}

int elx_otel_config_from_env(struct elx_otel_config *c, char **err)
{
	int ret;

	memset(c, 0, sizeof(*c));
	*err = NULL;
	ret = read_mode(c, err);
	if (!ret && c->mode == ELX_OTEL_OTLP)
		ret = read_protocol(err);
	if (!ret)
		ret = read_url(c, err);
	if (!ret)
		ret = read_headers(c, err);
	if (!ret)
		ret = read_limits(c, err);
	if (!ret)
		ret = read_compression(c, err);
	if (!ret)
		ret = read_tls(c);
	if (!ret)
		ret = read_resource(c, err);
	if (ret) {
		if (!*err)
			*err = strdup("out of memory");
		elx_otel_config_free(c);
	}
	return ret;
}

void elx_otel_config_free(struct elx_otel_config *c)
{
	for (size_t i = 0; c->headers && i < c->nheaders; i++)
		free(c->headers[i]);
	free(c->headers);
	free_pairs(c->resource, c->nresource);
	free(c->url);
	free(c->ca_file);
	free(c->client_cert);
	free(c->client_key);
	free(c->service_name);
	memset(c, 0, sizeof(*c));
}
