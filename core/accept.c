/* Content negotiation: the format of the metrics page (Accept) and whether
 * it goes gzipped (Accept-Encoding). A media range is one of:
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

/* One element of a comma-separated header list (RFC 9110 5.6.1): its
 * token (a media range, a coding) without the whitespace around it, its
 * parameters (";a=b" up to end) and its weight. */
struct element {
	const char *token, *params, *end;
	size_t token_len;
	double q;
};

/* The element of the list at *p, and *p past it; 0 at the list's end. A q
 * parameter that is not a number counts as 1, as a missing one does: only
 * an explicit zero refuses. */
static int next_element(const char **p, struct element *el)
{
	char q[16], *q_end;

	if (!**p)
		return 0;
	el->end = *p + strcspn(*p, ",");
	el->token = *p + strspn(*p, " \t");
	if (el->token > el->end)
		el->token = el->end;
	el->params = memchr(el->token, ';', (size_t)(el->end - el->token));
	if (!el->params)
		el->params = el->end;
	el->token_len = (size_t)(el->params - el->token);
	while (el->token_len &&
	       (el->token[el->token_len - 1] == ' ' || el->token[el->token_len - 1] == '\t'))
		el->token_len--;
	param_value(el->params, el->end, "q", q, sizeof(q));
	el->q = strtod(q, &q_end);
	if (q_end == q)
		el->q = 1.0;
	*p = *el->end ? el->end + 1 : el->end;
	return 1;
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
	struct element el;

	while (next_element(&p, &el)) {
		int format = range_format(el.token, el.token_len, el.params, el.end);

		if (format == ELX_FORMAT_OPENMETRICS && !openmetrics)
			format = NO_FORMAT;
		if (format != NO_FORMAT && el.q > best_q) {
			best = format;
			best_q = el.q;
		}
	}
	return (enum elx_format)best;
}

int elx_accept_gzip(const char *accept_encoding)
{
	int gzip = -1, any = -1;
	const char *p = accept_encoding ? accept_encoding : "";
	struct element el;

	while (next_element(&p, &el)) {
		if (type_is(el.token, el.token_len, "gzip") ||
		    type_is(el.token, el.token_len, "x-gzip"))
			gzip = el.q > 0;
		else if (type_is(el.token, el.token_len, "*"))
			any = el.q > 0;
	}
	return gzip >= 0 ? gzip : any > 0;
}
