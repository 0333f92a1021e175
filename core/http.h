/* A small HTTP/1.1 server on a libuv loop: keep-alive, bounded requests,
 * gzip of responses. Requests are parsed by http_parser (libhttp-parser). */
#ifndef ELX_HTTP_H
#define ELX_HTTP_H

#include <stddef.h>
#include <uv.h>

struct elx_http_request {
	const char *method; /* "GET", "HEAD", "POST", ... */
	const char *path;   /* the request target up to '?', not decoded */
	const char *query;  /* after '?', or "" */
	int accept_gzip;    /* the client sent Accept-Encoding with gzip */
	const char *body;   /* request body (may be empty), not NUL-terminated */
	size_t body_len;
};

struct elx_http_response {
	int status;		  /* 200 unless the handler sets it */
	const char *content_type; /* static string or content_type_buf; defaults to text/plain */
	char content_type_buf[96];
	const char *allow; /* static string for an Allow header, or NULL */
	char *body;	   /* malloc'd; the server frees it */
	size_t body_len;
};

/* Called once per complete request, on the loop thread. For HEAD the server
 * sends the headers of the GET answer without its body. */
typedef void (*elx_http_handler_fn)(void *ctx, const struct elx_http_request *req,
				    struct elx_http_response *resp);

struct elx_http_limits {
	size_t max_header_bytes;  /* request line + headers; 431 beyond */
	unsigned max_headers;	  /* header count; 431 beyond */
	size_t max_body_bytes;	  /* 413 beyond */
	unsigned max_connections; /* further connections are closed at once */
	unsigned idle_timeout_ms; /* a keep-alive connection idle this long is closed */
};

#define ELX_HTTP_LIMITS_DEFAULT                                                                    \
	{                                                                                          \
		.max_header_bytes = 8192, .max_headers = 64, .max_body_bytes = 65536,              \
		.max_connections = 256, .idle_timeout_ms = 60000                                   \
	}

struct elx_http_server;

/* Serves on `listen_fd`, a listening TCP socket (listen.h makes one from
 * --web.listen-address). The server owns the socket from the call on, and
 * closes it on failure too. NULL `limits` means ELX_HTTP_LIMITS_DEFAULT;
 * idle_timeout_ms 0 means none. Returns 0 or -errno; *err_msg (static or
 * NULL) says what was wrong. */
int elx_http_server_start(uv_loop_t *loop, int listen_fd, const struct elx_http_limits *limits,
			  elx_http_handler_fn fn, void *ctx, struct elx_http_server **out,
			  const char **err_msg);

/* Closes the listener and every connection; the loop runs the close callbacks,
 * after which the memory is freed. */
void elx_http_server_close(struct elx_http_server *srv);

/* The port of its socket (useful with port 0 in tests), or -1. */
int elx_http_server_port(const struct elx_http_server *srv);

#endif
