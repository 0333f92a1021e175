/* Response bodies that several responses share: scrapes of one page that
 * arrive while its last rendering is still being sent get the same bytes,
 * and the gzipped form is made once for all of them. */
#ifndef ELX_HTTP_BODY_H
#define ELX_HTTP_BODY_H

#include <stddef.h>

enum elx_http_form { ELX_HTTP_PLAIN, ELX_HTTP_GZIP };

/* The fields are the HTTP server's; others hold references. */
struct elx_http_body {
	int refs;
	char *data;
	size_t len;
	char *gz; /* made on first need */
	size_t gz_len;
	int gz_tried;
	unsigned queued[2];	     /* writes of each form on their way out */
	struct elx_http_body **slot; /* set to NULL when the body is freed */
};

/* A body of `len` bytes of `data` (malloc'd; taken whatever happens), with
 * one reference. NULL when out of memory. */
struct elx_http_body *elx_http_body_new(char *data, size_t len);

struct elx_http_body *elx_http_body_ref(struct elx_http_body *b);
void elx_http_body_unref(struct elx_http_body *b);

/* Points *slot at b without a reference: *slot turns NULL when b is freed,
 * so that a cache holds a body only while responses still use it. A body
 * has one slot; a slot one body (the one it held is let go). */
void elx_http_body_watch(struct elx_http_body *b, struct elx_http_body **slot);

/* Empties a slot set by elx_http_body_watch. */
void elx_http_body_forget(struct elx_http_body **slot);

/* The bytes to send for a client that does (`gzip`) or does not accept
 * gzip: the gzipped form when gzip is asked for, worth it and possible,
 * else the plain one. Returns which form it is. */
enum elx_http_form elx_http_body_form(struct elx_http_body *b, int gzip, const char **data,
				      size_t *len);

#endif
