/* Content negotiation of the metrics page. A media range is one of:
 * - application/vnd.google.protobuf with proto=io.prometheus.client.MetricFamily
 *   and encoding=delimited: protobuf (what Prometheus asks for with native
 *   histograms enabled);
 * - application/openmetrics-text, version 1.0.0, 0.0.1 or none: OpenMetrics
 *   1.0.0 (0.0.1 is its draft, which Prometheus parses the same way);
 * - text/plain (version 0.0.4 or none), text/ *, * / *: the text format.
 * Anything else, a q of 0 or an unknown version is not acceptable.
 *
 * OpenMetrics only with --web.enable-openmetrics, as client_golang's
 * EnableOpenMetrics: Prometheus asks for it first, and would then store a
 * counter `x` as `x_total` and a `x_created` series next to it, which
 * breaks the queries of a drop-in for ebpf_exporter (whose client serves
 * text). Protobuf keeps the names and ingests created timestamps as such. */
#define _GNU_SOURCE
#include "accept.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NO_FORMAT (-1)

/* A parameter's value in `params` (";a=b;c=d" up to `end`), copied into
 * `out` without quotes; "" when absent. */
static void param_value(const char *params, const char *end, const char *name, char *out,
			size_t size)
{
	size_t nlen = strlen(name);
	const char *p = params;

	out[0] = '\0';
	while (p < end) {
		const char *semi, *next, *eq;
		size_t n;

		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		if (p == end)
			break;
		semi = memchr(p, ';', (size_t)(end - p));
		next = semi ? semi + 1 : end;
		eq = memchr(p, '=', (size_t)(next - p));
		if (eq && (size_t)(eq - p) == nlen && !strncasecmp(p, name, nlen)) {
			const char *v = eq + 1, *v_end = semi ? semi : end;

			while (v_end > v && (v_end[-1] == ' ' || v_end[-1] == '\t'))
				v_end--;
			if (v_end - v >= 2 && *v == '"' && v_end[-1] == '"')
				v++, v_end--;
			n = (size_t)(v_end - v) < size - 1 ? (size_t)(v_end - v) : size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return;
		}
		p = next;
	}
}

static int type_is(const char *type, size_t len, const char *want)
{
	return len == strlen(want) && !strncasecmp(type, want, len);
}

/* The format a media range (type/subtype;params) asks for, or NO_FORMAT. */
static int range_format(const char *type, size_t type_len, const char *params, const char *end)
{
	char a[64], b[64];

	if (type_is(type, type_len, "application/vnd.google.protobuf")) {
		param_value(params, end, "proto", a, sizeof(a));
		param_value(params, end, "encoding", b, sizeof(b));
		return !strcmp(a, "io.prometheus.client.MetricFamily") &&
			       !strcasecmp(b, "delimited")
			   ? ELX_FORMAT_PROTOBUF
			   : NO_FORMAT;
	}
	param_value(params, end, "version", a, sizeof(a));
	if (type_is(type, type_len, "application/openmetrics-text"))
		return !a[0] || !strcmp(a, "1.0.0") || !strcmp(a, "0.0.1") ? ELX_FORMAT_OPENMETRICS
									   : NO_FORMAT;
	if (type_is(type, type_len, "text/plain"))
		return !a[0] || !strcmp(a, "0.0.4") ? ELX_FORMAT_TEXT : NO_FORMAT;
	if (type_is(type, type_len, "text/*") || type_is(type, type_len, "*/*"))
		return ELX_FORMAT_TEXT;
	return NO_FORMAT;
}

enum elx_format elx_accept_format(const char *accept, int openmetrics)
{
	int best = ELX_FORMAT_TEXT;
	double best_q = 0;
	const char *p = accept ? accept : "";

	while (*p) {
		size_t len = strcspn(p, ",");
		const char *end = p + len, *params, *type = p + strspn(p, " \t");
		size_t type_len;
		char q[16];
		double qv;
		int format;

		params = memchr(type, ';', (size_t)(end - type));
		if (!params)
			params = end;
		type_len = (size_t)(params - type);
		while (type_len && (type[type_len - 1] == ' ' || type[type_len - 1] == '\t'))
			type_len--;
		param_value(params, end, "q", q, sizeof(q));
		qv = q[0] ? strtod(q, NULL) : 1.0;
		format = range_format(type, type_len, params, end);
		if (format == ELX_FORMAT_OPENMETRICS && !openmetrics)
			format = NO_FORMAT;
		if (format != NO_FORMAT && qv > best_q) {
			best = format;
			best_q = qv;
		}
		p = *end ? end + 1 : end;
	}
	return (enum elx_format)best;
}
