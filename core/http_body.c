/* Shared response bodies: reference counts, the slot of a cache that holds
 * one without keeping it alive, and the gzipped form made once. */
#include "http_body.h"

#include <stdlib.h>

#include "gzip.h"

/* Smaller bodies gain nothing from gzip that pays for the header and CPU. */
#define GZIP_MIN_BYTES 256

struct elx_http_body *elx_http_body_new(char *data, size_t len)
{
	struct elx_http_body *b = calloc(1, sizeof(*b));

	if (!b) {
		free(data);
		return NULL;
	}
	b->refs = 1;
	b->data = data;
	b->len = data ? len : 0;
	return b;
}

struct elx_http_body *elx_http_body_ref(struct elx_http_body *b)
{
	if (b)
		b->refs++;
	return b;
}

void elx_http_body_unref(struct elx_http_body *b)
{
	if (!b || --b->refs > 0)
		return;
	if (b->slot)
		*b->slot = NULL;
	free(b->data);
	free(b->gz);
	free(b);
}

void elx_http_body_forget(struct elx_http_body **slot)
{
	if (*slot)
		(*slot)->slot = NULL;
	*slot = NULL;
}

void elx_http_body_watch(struct elx_http_body *b, struct elx_http_body **slot)
{
	elx_http_body_forget(slot);
	if (b->slot)
		*b->slot = NULL;
	b->slot = slot;
	*slot = b;
}

enum elx_http_form elx_http_body_form(struct elx_http_body *b, int gzip, const char **data,
				      size_t *len)
{
	if (gzip && !b->gz_tried && b->len >= GZIP_MIN_BYTES) {
		b->gz_tried = 1;
		/* On failure the body goes out uncompressed. */
		if (elx_gzip(b->data, b->len, &b->gz, &b->gz_len) != 0)
			b->gz = NULL;
	}
	if (gzip && b->gz) {
		*data = b->gz;
		*len = b->gz_len;
		return ELX_HTTP_GZIP;
	}
	*data = b->data;
	*len = b->len;
	return ELX_HTTP_PLAIN;
}
