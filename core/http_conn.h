/* The HTTP server's own types (core/http.c): its connections, listeners,
 * responses on their way out, and the request state the parser fills. Kept
 * apart from http.h, which is what the rest of the core sees. */
#ifndef ELX_HTTP_CONN_H
#define ELX_HTTP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#include <uv.h>

#include "http.h"
#include "http_body.h"
#include "tls.h"

#define READ_BUF_SIZE 65536

enum conn_state {
	CONN_READING,  /* parsing requests */
	CONN_DRAINING, /* the last response is queued; input is discarded */
	CONN_LINGER,   /* our side is shut down; waiting for the client's FIN */
	CONN_CLOSING,  /* uv_close was called, memory goes in the close callbacks */
};

enum header_cb { HEADER_NONE, HEADER_FIELD, HEADER_VALUE };

/* The request headers the server keeps: every other one is counted against
 * the limits and dropped. */
enum kept_header {
	KEEP_NONE,
	KEEP_ACCEPT_ENCODING, /* repeated ones are one list */
	KEEP_ACCEPT,	      /* repeated ones are one list too */
	KEEP_AUTHORIZATION,   /* the first one counts */
	KEEP_SCRAPE_TIMEOUT,  /* X-Prometheus-Scrape-Timeout-Seconds, the first one */
	KEEP_COUNT
};

static const char *const kept_names[KEEP_COUNT] = {
	[KEEP_ACCEPT_ENCODING] = "accept-encoding",
	[KEEP_ACCEPT] = "accept",
	[KEEP_AUTHORIZATION] = "authorization",
	[KEEP_SCRAPE_TIMEOUT] = "x-prometheus-scrape-timeout-seconds",
};

struct elx_buf {
	char *data;
	size_t len, cap;
};

/* How the answer to a request is written. */
struct answer_mode {
	int gzip;	/* the client accepts gzip */
	int head_only;	/* HEAD: the headers of the GET answer */
	int keep_alive; /* else Connection: close, and the connection ends */
	int http10;	/* an HTTP/1.0 client keeping the connection is told so */
};

struct elx_http_deferred {
	struct elx_http_conn *conn; /* NULL once the connection is gone */
	struct answer_mode mode;
};

struct elx_http_conn {
	uv_tcp_t tcp;
	uv_timer_t timer; /* the soonest deadline that applies: conn_arm */
	uv_shutdown_t shutdown_req;
	http_parser parser;
	struct elx_http_server *srv;
	struct elx_http_conn *prev, *next;
	int open_handles;
	enum conn_state state;
	int reading;	 /* uv_read_start is in effect */
	int paused;	 /* the parser waits: for queued responses to drain, or an answer */
	int eof;	 /* the client shut down its side */
	int handshaking; /* TLS: no request before the handshake is done */

	/* Input received while paused; parsed once the parser may go on. */
	char *pending;
	size_t pending_len, pending_off;

	/* The request being parsed. */
	struct elx_buf url, body, kept[KEEP_COUNT];
	int kept_seen[KEEP_COUNT]; /* the header came, its value may be "" */
	size_t header_bytes;
	unsigned header_count;
	enum header_cb last_header_cb;
	char field[40]; /* start of the current header name: the longest kept one fits */
	size_t field_len;
	enum kept_header in_kept; /* the value being read is of this header */
	int accept_gzip;
	int error_status; /* the answer to a request that broke a limit */
	struct answer_mode mode;
	struct elx_http_deferred *deferred; /* its answer comes later */

	/* Deadlines, in loop milliseconds. */
	int in_request;		/* a request's first byte came, its last not yet */
	uint64_t request_start; /* when its first byte came */
	uint64_t idle_since;	/* when the connection last had nothing to do */
	uint64_t linger_due;
	size_t write_seen;	/* libuv's write queue size when last looked at */
	uint64_t write_seen_at; /* when it last changed */

	size_t out_bytes; /* response bytes queued and not yet written */
	unsigned out_count;

	struct elx_tls_conn *tls; /* NULL: plain HTTP */
};

/* One response on its way out: the request that writes it, a reference to
 * its body, and its head, in one allocation. */
struct elx_http_write {
	uv_write_t req;
	struct elx_http_conn *conn;
	struct elx_http_body *body; /* NULL for none */
	enum elx_http_form form;
	const char *body_data;
	size_t body_len;
	void (*on_done)(void *arg);
	void *on_done_arg;
	size_t head_len;
	char head[];
};

/* A listening socket; a server has one or more. */
struct http_listener {
	uv_tcp_t handle;
	struct elx_http_server *srv;
};

#define MAX_LISTENERS 64

struct elx_http_server {
	uv_loop_t *loop;
	struct http_listener *listeners[MAX_LISTENERS];
	unsigned nlisteners;
	unsigned listeners_open; /* not closed yet: the memory goes with the last */
	struct elx_http_limits limits;
	elx_http_handler_fn fn;
	void *ctx;
	struct elx_http_conn *conns;
	unsigned conn_count;  /* allocated */
	unsigned conn_active; /* not closing */
	size_t queued_bytes;  /* heads, and each body form once however many send it */
	int closing;
	int port;
	char *headers;		 /* added to every response */
	struct elx_tls_ctx *tls; /* for connections accepted from now on */
	void (*on_accept)(void *arg);
	void *on_accept_arg;
	/* One read buffer serves every connection: each read is parsed before
	 * the next one is allocated. */
	char read_buf[READ_BUF_SIZE];
};

#endif
