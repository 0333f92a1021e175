/* A small HTTP/1.1 server on a libuv loop: keep-alive, bounded requests,
 * bounded output, gzip of responses, answers given later (deferred) and
 * bodies shared between responses, on one or more listening sockets, in
 * TLS when given a context (tls.h). Requests are parsed by http_parser
 * (libhttp-parser). */
#ifndef ELX_HTTP_H
#define ELX_HTTP_H

#include <stddef.h>
#include <uv.h>

#include "http_body.h"

struct elx_http_conn;

struct elx_http_request {
	const char *method; /* "GET", "HEAD", "POST", ... */
	const char *path;   /* the request target up to '?', not decoded */
	const char *query;  /* after '?', or "" */
	int accept_gzip;    /* the client sent Accept-Encoding with gzip */
	const char *body;   /* request body (may be empty), not NUL-terminated */
	size_t body_len;
	struct elx_http_conn *conn; /* the server's, for elx_http_defer */
	/* The headers the exporter reads, as sent (the first of repeated
	 * ones), or NULL when absent. */
	const char *authorization;
	const char *scrape_timeout; /* X-Prometheus-Scrape-Timeout-Seconds */
};

struct elx_http_response {
	int status;		  /* 200 unless the handler sets it */
	const char *content_type; /* static string or content_type_buf; defaults to text/plain */
	char content_type_buf[96];
	const char *allow; /* static string for an Allow header, or NULL */
	char *body;	   /* malloc'd; the server frees it */
	size_t body_len;
	/* Instead of body: a body other responses may send too. The server
	 * takes this reference. */
	struct elx_http_body *shared;
	/* More header lines of this response, "Name: value\r\n" each (static,
	 * or alive until the response is handed over), or NULL. */
	const char *headers;
	/* Called once the server is done with the response: written whole,
	 * failed or dropped (its connection went). */
	void (*on_done)(void *arg);
	void *on_done_arg;
};

/* Called once per complete request, on the loop thread. For HEAD the server
 * sends the headers of the GET answer without its body. */
typedef void (*elx_http_handler_fn)(void *ctx, const struct elx_http_request *req,
				    struct elx_http_response *resp);

/* Timeouts in ms, 0 for none; sizes in bytes. */
struct elx_http_limits {
	size_t max_header_bytes;  /* request line + headers; 431 beyond */
	unsigned max_headers;	  /* header count; 431 beyond */
	size_t max_body_bytes;	  /* 413 beyond */
	unsigned max_connections; /* beyond: see "connections" in http.c */
	unsigned idle_timeout_ms; /* a keep-alive connection idle this long is closed */
	/* From a request's first byte to its last: 408 beyond. Reads do not
	 * extend it, so a client trickling bytes cannot hold a connection. */
	unsigned request_timeout_ms;
	/* A client that reads nothing of what we queued for it this long is
	 * dropped. */
	unsigned write_timeout_ms;
	/* Response bytes queued for all clients together; beyond it, clients
	 * that are not reading are dropped (0: no bound). Each connection
	 * also stops parsing pipelined requests while 1 MiB waits for it. */
	size_t max_queued_bytes;
};

#define ELX_HTTP_LIMITS_DEFAULT                                                                    \
	{                                                                                          \
		.max_header_bytes = 8192, .max_headers = 64, .max_body_bytes = 65536,              \
		.max_connections = 1024, .idle_timeout_ms = 60000, .request_timeout_ms = 10000,    \
		.write_timeout_ms = 30000, .max_queued_bytes = 64u << 20                           \
	}

struct elx_http_server;

/* Serves on `listen_fd`, a listening TCP socket (listen.h makes one from
 * --web.listen-address). The server owns the socket from the call on, and
 * closes it on failure too. NULL `limits` means ELX_HTTP_LIMITS_DEFAULT.
 * Returns 0 or -errno; *err_msg (static or NULL) says what was wrong. */
int elx_http_server_start(uv_loop_t *loop, int listen_fd, const struct elx_http_limits *limits,
			  elx_http_handler_fn fn, void *ctx, struct elx_http_server **out,
			  const char **err_msg);

/* Serves on one more listening socket (the server owns it from the call on,
 * and closes it on failure too). Returns 0 or -errno; *err_msg as above. */
int elx_http_server_listen(struct elx_http_server *srv, int listen_fd, const char **err_msg);

/* Header lines added to every response from now on ("Name: value\r\n"
 * each, copied; NULL or "" for none). 0 or -ENOMEM. */
int elx_http_server_set_headers(struct elx_http_server *srv, const char *lines);

struct elx_tls_ctx;

/* Connections accepted from now on speak TLS with `ctx` (a reference is
 * taken; NULL: plain HTTP). Connections already open keep theirs. */
void elx_http_server_set_tls(struct elx_http_server *srv, struct elx_tls_ctx *ctx);

/* Called at each new connection before it is set up: the place to look
 * whether the TLS context must change (certificate rotation). */
void elx_http_server_on_accept(struct elx_http_server *srv, void (*fn)(void *arg), void *arg);

/* Closes the listeners and every connection; the loop runs the close callbacks,
 * after which the memory is freed. */
void elx_http_server_close(struct elx_http_server *srv);

/* The port of its first socket (useful with port 0 in tests), or -1. */
int elx_http_server_port(const struct elx_http_server *srv);

/* Connections whose memory is not freed yet, and response bytes queued:
 * for tests and fuzzing. */
unsigned elx_http_server_connections(const struct elx_http_server *srv);
size_t elx_http_server_queued_bytes(const struct elx_http_server *srv);

/* ---------------------------------------------------------------- answers given later */

struct elx_http_deferred;

/* In a handler: the answer to `req` comes later, through elx_http_answer
 * (the handler's resp is then ignored). Its connection parses no further
 * request meanwhile, and no timeout runs for it. NULL when out of memory:
 * answer at once. */
struct elx_http_deferred *elx_http_defer(const struct elx_http_request *req);

/* In the handler still: takes elx_http_defer back (NULL does nothing); the
 * handler's resp is the answer. */
void elx_http_undefer(struct elx_http_deferred *d);

/* Not from the handler that deferred: sends the answer to a deferred request, or drops it if its
 * connection is gone; takes resp's body and frees `d`. */
void elx_http_answer(struct elx_http_deferred *d, struct elx_http_response *resp);

#endif
