/* Console spans: JSON lines, easy to read and to parse. */
#include "span_console.h"

#include <inttypes.h>
#include <string.h>

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void put_hex(FILE *out, const uint8_t *p, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
	fputc('"', out);
}

void elx_span_console_write(FILE *out, const struct elx_queued_span *s, const char *service)
{
	static const uint8_t zero[8];

	fputs("{\"name\":", out);
	put_string(out, s->name);
	fputs(",\"trace_id\":", out);
	put_hex(out, s->trace_id, sizeof(s->trace_id));
	fputs(",\"span_id\":", out);
	put_hex(out, s->span_id, sizeof(s->span_id));
	fputs(",\"parent_span_id\":", out);
	put_hex(out, s->parent_span_id,
		memcmp(s->parent_span_id, zero, sizeof(zero)) ? sizeof(s->parent_span_id) : 0);
	fprintf(out, ",\"start_time_unix_nano\":%" PRIu64 ",\"end_time_unix_nano\":%" PRIu64,
		s->start_unix_ns, s->end_unix_ns);
	fputs(",\"service.name\":", out);
	put_string(out, service);
	fputs(",\"attributes\":{", out);
	for (size_t i = 0; i < s->nattrs; i++) {
		if (i)
			fputc(',', out);
		put_string(out, s->attrs[i].key);
		fputc(':', out);
		put_string(out, s->attrs[i].value);
	}
	fputs("}}\n", out);
}
