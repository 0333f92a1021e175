/* The HTTP/1.1 server of the exporter on the libuv loop, on listening
 * sockets made by listen.c: request parsing with http_parser, limits,
 * timeouts, keep-alive, pipelining, gzip and answers given later. Bytes
 * enter a connection in conn_on_read (handed to conn_input) and leave it in
 * conn_send, nowhere else: TLS (tls.c) sits at those two points, and
 * everything between them is HTTP. */
#define _GNU_SOURCE
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "accept.h"
#include "http_conn.h"
#include "listen.h"
#include "log.h"
#include "tls.h"

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"
/* Pipelined requests are parsed only while this much response data waits
 * to be sent, so a client that never reads cannot make us buffer without
 * bound; parsing resumes below the low mark. */
#define WRITE_HIGH_WATER (1024 * 1024)
#define WRITE_LOW_WATER	 (256 * 1024)
/* Over max_queued_bytes, a client that has taken no byte for this long is
 * one that is not reading now: it is dropped to make room. */
#define STALLED_MS 1000
/* After the last response, how long we wait for the client's FIN while
 * discarding its input; closing with unread input would send a RST that
 * can destroy the response in flight. */
#define LINGER_MS 2000

static void conn_close(struct elx_http_conn *conn);
static void conn_resume(struct elx_http_conn *conn);
static void conn_arm(struct elx_http_conn *conn);

static void srv_free(struct elx_http_server *srv)
{
	free(srv->headers);
	elx_tls_ctx_unref(srv->tls);
	free(srv);
}

static uint64_t conn_now(const struct elx_http_conn *conn)
{
	return uv_now(conn->srv->loop);
}

static int buf_append(struct elx_buf *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 256;
		char *data;

		while (cap - b->len <= n)
			cap *= 2;
		data = realloc(b->data, cap);
		if (!data)
			return -ENOMEM;
		b->data = data;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static void buf_reset(struct elx_buf *b)
{
	/* A connection keeps a small buffer between requests, not a big body. */
	if (b->cap > 4096) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	b->len = 0;
}

static void buf_free(struct elx_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* ---------------------------------------------------------------- responses */

static const char *reason_phrase(int status)
{
	const char *reason = http_status_str((enum http_status)status);

	return strcmp(reason, "<unknown>") == 0 ? "Unknown" : reason;
}

/* A response's body as a shared one, taken from resp: its own body wrapped,
 * or the shared one it holds. *body is NULL for none. */
static int take_body(struct elx_http_response *resp, struct elx_http_body **body)
{
	*body = resp->shared;
	resp->shared = NULL;
	if (resp->body && *body)
		free(resp->body);
	else if (resp->body && !(*body = elx_http_body_new(resp->body, resp->body_len)))
		return -ENOMEM;
	resp->body = NULL;
	return 0;
}

static void response_done(struct elx_http_response *resp)
{
	void (*fn)(void *) = resp->on_done;

	resp->on_done = NULL;
	if (fn)
		fn(resp->on_done_arg);
}

static void drop_response(struct elx_http_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	elx_http_body_unref(resp->shared);
	resp->shared = NULL;
	response_done(resp);
}

/* Formats one response: status line, headers (the response's own, then
 * the server's), and the body gzipped for a client that accepts it. Takes
 * resp's body (and its on_done) whatever happens. NULL when out of memory. */
static struct elx_http_write *format_response(struct elx_http_server *srv,
					      struct elx_http_response *resp,
					      const struct answer_mode *mode)
{
	const char *more = resp->headers ? resp->headers : "";
	const char *common = srv->headers ? srv->headers : "";
	const char *content_type = resp->content_type ? resp->content_type : DEFAULT_CONTENT_TYPE;
	const char *connection = "", *data = NULL;
	enum elx_http_form form = ELX_HTTP_PLAIN;
	struct elx_http_body *body;
	struct elx_http_write *w;
	size_t body_len = 0;
	int status = resp->status, head_len;

	if (take_body(resp, &body) < 0) {
		response_done(resp);
		return NULL;
	}
	if (status < 100 || status > 599) {
		log_warn("http: handler returned status %d, answering 500", status);
		status = 500;
	}
	if (body)
		form = elx_http_body_form(body, mode->gzip, &data, &body_len);
	if (!mode->keep_alive)
		connection = "Connection: close\r\n";
	else if (mode->http10)
		connection = "Connection: keep-alive\r\n";

#define HEAD_FORMAT                                                                                \
	"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s%s%s%s%s%s\r\n"
#define HEAD_ARGS                                                                                  \
	status, reason_phrase(status), content_type, body_len,                                     \
	    form == ELX_HTTP_GZIP ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n" : "",    \
	    resp->allow ? "Allow: " : "", resp->allow ? resp->allow : "",                          \
	    resp->allow ? "\r\n" : "", more, common, connection
	head_len = snprintf(NULL, 0, HEAD_FORMAT, HEAD_ARGS);
	w = malloc(sizeof(*w) + (size_t)head_len + 1);
	if (!w) {
		elx_http_body_unref(body);
		response_done(resp);
		return NULL;
	}
	snprintf(w->head, (size_t)head_len + 1, HEAD_FORMAT, HEAD_ARGS);
#undef HEAD_FORMAT
#undef HEAD_ARGS
	if (mode->head_only || !body_len) {
		elx_http_body_unref(body);
		body = NULL;
		body_len = 0;
	}
	w->body = body;
	w->form = form;
	w->body_data = data;
	w->body_len = body_len;
	w->head_len = (size_t)head_len;
	w->on_done = resp->on_done;
	w->on_done_arg = resp->on_done_arg;
	resp->on_done = NULL;
	return w;
}

/* What a write adds to the bytes queued for all clients: its head, and its
 * body's form unless another write already holds that form. */
static size_t write_charge(struct elx_http_write *w, int queued)
{
	size_t bytes = w->head_len;
	unsigned *n = w->body ? &w->body->queued[w->form] : NULL;

	if (n && (queued ? (*n)++ == 0 : --(*n) == 0))
		bytes += w->body_len;
	return bytes;
}

static void write_free(struct elx_http_write *w)
{
	elx_http_body_unref(w->body);
	if (w->on_done)
		w->on_done(w->on_done_arg);
	free(w);
}

/* Over max_queued_bytes: the clients that are not reading (nothing taken
 * for STALLED_MS) are dropped, whatever they hold; `keep` is the one whose
 * response is being queued. Readers drain by themselves. */
static void shed_stalled(struct elx_http_server *srv, struct elx_http_conn *keep)
{
	uint64_t now = uv_now(srv->loop);

	if (!srv->limits.max_queued_bytes || srv->queued_bytes <= srv->limits.max_queued_bytes)
		return;
	for (struct elx_http_conn *c = srv->conns; c; c = c->next) {
		size_t queue;

		if (c == keep || c->state == CONN_CLOSING || !c->out_count)
			continue;
		queue = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
		if (queue != c->write_seen) {
			c->write_seen = queue;
			c->write_seen_at = now;
		} else if (queue && now - c->write_seen_at >= STALLED_MS) {
			log_debug("http: %zu bytes queued for all clients: dropping one that "
				  "reads nothing",
				  srv->queued_bytes);
			conn_close(c);
		}
	}
}

static void conn_on_write(uv_write_t *req, int status);

/* The one place where bytes leave a connection (in TLS: tls.c encrypts
 * them as the client reads). Takes `w` whatever happens. */
static int conn_send(struct elx_http_conn *conn, struct elx_http_write *w)
{
	uv_stream_t *stream = (uv_stream_t *)&conn->tcp;
	uv_buf_t bufs[2];
	int r;

	w->conn = conn;
	bufs[0] = uv_buf_init(w->head, (unsigned)w->head_len);
	bufs[1] = uv_buf_init((char *)w->body_data, (unsigned)w->body_len);
	if (conn->tls)
		r = elx_tls_conn_write(conn->tls, bufs, w->body ? 2 : 1, w);
	else
		r = uv_write(&w->req, stream, bufs, w->body ? 2 : 1, conn_on_write);
	if (r < 0) {
		write_free(w);
		return r;
	}
	conn->out_bytes += w->head_len + w->body_len;
	conn->out_count++;
	conn->srv->queued_bytes += write_charge(w, 1);
	conn->write_seen = uv_stream_get_write_queue_size(stream);
	conn->write_seen_at = conn_now(conn);
	shed_stalled(conn->srv, conn);
	return 0;
}

/* Queues one response; takes resp's body whatever happens. */
static int conn_respond(struct elx_http_conn *conn, struct elx_http_response *resp,
			const struct answer_mode *mode)
{
	struct elx_http_write *w = format_response(conn->srv, resp, mode);

	return w ? conn_send(conn, w) : -ENOMEM;
}

/* ---------------------------------------------------------------- connection life */

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void conn_on_eof(struct elx_http_conn *conn, ssize_t nread);
static void conn_tls_feed(struct elx_http_conn *conn, const char *data, size_t len);

static void conn_read_start(struct elx_http_conn *conn)
{
	if (conn->reading || conn->eof)
		return;
	if (uv_read_start((uv_stream_t *)&conn->tcp, conn_alloc, conn_on_read) < 0) {
		conn_close(conn);
		return;
	}
	conn->reading = 1;
}

static void conn_read_stop(struct elx_http_conn *conn)
{
	if (!conn->reading)
		return;
	uv_read_stop((uv_stream_t *)&conn->tcp);
	conn->reading = 0;
}

static void conn_free(struct elx_http_conn *conn)
{
	struct elx_http_server *srv = conn->srv;

	if (conn->prev)
		conn->prev->next = conn->next;
	else
		srv->conns = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	srv->conn_count--;
	/* Whoever holds the deferred answer learns that nobody waits for it. */
	if (conn->deferred)
		conn->deferred->conn = NULL;
	/* Responses TLS never sent come back through conn_wrote. */
	elx_tls_conn_free(conn->tls);
	buf_free(&conn->url);
	buf_free(&conn->body);
	for (int i = 0; i < KEEP_COUNT; i++)
		buf_free(&conn->kept[i]);
	free(conn->pending);
	free(conn);
	if (srv->closing && !srv->listeners_open && !srv->conns)
		srv_free(srv);
}

static void conn_on_close(uv_handle_t *handle)
{
	struct elx_http_conn *conn = handle->data;

	if (--conn->open_handles == 0)
		conn_free(conn);
}

static void conn_close(struct elx_http_conn *conn)
{
	if (conn->state == CONN_CLOSING)
		return;
	conn->state = CONN_CLOSING;
	conn->srv->conn_active--;
	/* Writes still queued are cancelled: their callbacks run before ours. */
	uv_close((uv_handle_t *)&conn->tcp, conn_on_close);
	uv_close((uv_handle_t *)&conn->timer, conn_on_close);
}

static void conn_on_shutdown(uv_shutdown_t *req, int status)
{
	struct elx_http_conn *conn = req->handle->data;

	if (conn->state == CONN_CLOSING)
		return;
	if (status < 0)
		conn_close(conn);
}

/* Every response is written: half-close, then wait for the client's FIN. */
static void conn_shutdown(struct elx_http_conn *conn)
{
	unsigned idle = conn->srv->limits.idle_timeout_ms;

	if (conn->tls && !conn->eof)
		elx_tls_conn_close_notify(conn->tls);
	if (conn->eof ||
	    uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->tcp, conn_on_shutdown) < 0) {
		conn_close(conn);
		return;
	}
	conn->state = CONN_LINGER;
	conn->linger_due = conn_now(conn) + (idle && idle < LINGER_MS ? idle : LINGER_MS);
	conn_arm(conn);
}

/* The last response is queued: stop parsing; the rest of the input is read
 * and dropped until the writes finish. */
static void conn_finish(struct elx_http_conn *conn)
{
	conn->state = CONN_DRAINING;
	conn->paused = 0;
	conn->in_request = 0;
	/* A parser in error stops by itself, and may not be paused. */
	if (HTTP_PARSER_ERRNO(&conn->parser) == HPE_OK)
		http_parser_pause(&conn->parser, 1);
	conn_read_start(conn);
	conn_arm(conn);
}

/* A response went out whole (status 0), or never will. */
static void conn_wrote(struct elx_http_conn *conn, struct elx_http_write *w, int status)
{
	conn->out_bytes -= w->head_len + w->body_len;
	conn->out_count--;
	conn->srv->queued_bytes -= write_charge(w, 0);
	write_free(w);
	if (conn->state == CONN_CLOSING)
		return;
	if (status < 0) {
		log_debug("http: write failed: %s", uv_strerror(status));
		conn_close(conn);
		return;
	}
	conn->write_seen = uv_stream_get_write_queue_size((uv_stream_t *)&conn->tcp);
	conn->write_seen_at = conn->idle_since = conn_now(conn);
	if (conn->state == CONN_READING) {
		if (conn->paused && !conn->deferred && conn->out_bytes <= WRITE_LOW_WATER)
			conn_resume(conn);
	} else if (conn->state == CONN_DRAINING && conn->out_count == 0) {
		conn_shutdown(conn);
		return;
	}
	conn_arm(conn);
}

static void conn_on_write(uv_write_t *req, int status)
{
	struct elx_http_write *w = (struct elx_http_write *)req;

	conn_wrote(w->conn, w, status);
}

static void tls_written(void *arg, void *unit, int status)
{
	conn_wrote(arg, unit, status);
}

/* ---------------------------------------------------------------- deadlines */

/* Waiting for a request, with nothing to write and no answer to wait for. */
static int conn_is_idle(const struct elx_http_conn *conn)
{
	return conn->state == CONN_READING && !conn->in_request && !conn->out_count &&
	       !conn->deferred;
}

static void sooner(uint64_t *due, unsigned timeout, uint64_t since)
{
	if (timeout && (!*due || since + timeout < *due))
		*due = since + timeout;
}

/* The soonest deadline that applies to the connection now, or 0. */
static uint64_t conn_deadline(const struct elx_http_conn *conn)
{
	const struct elx_http_limits *l = &conn->srv->limits;
	uint64_t due = 0;

	if (conn->state == CONN_LINGER)
		return conn->linger_due;
	if (conn->out_count)
		sooner(&due, l->write_timeout_ms, conn->write_seen_at);
	if (conn->in_request)
		sooner(&due, l->request_timeout_ms, conn->request_start);
	if (conn_is_idle(conn))
		sooner(&due, l->idle_timeout_ms, conn->idle_since);
	return due;
}

static void conn_on_timer(uv_timer_t *timer);

/* One timer per connection, set again whenever what applies changes. */
static void conn_arm(struct elx_http_conn *conn)
{
	uint64_t due, now;

	if (conn->state == CONN_CLOSING)
		return;
	due = conn_deadline(conn);
	if (!due) {
		uv_timer_stop(&conn->timer);
		return;
	}
	now = conn_now(conn);
	uv_timer_start(&conn->timer, conn_on_timer, due > now ? due - now : 0, 0);
}

static void conn_answer_error(struct elx_http_conn *conn, int status);

static void conn_on_timer(uv_timer_t *timer)
{
	struct elx_http_conn *conn = timer->data;
	const struct elx_http_limits *l = &conn->srv->limits;
	uint64_t now = conn_now(conn);

	if (conn->state == CONN_LINGER) {
		conn_close(conn);
		return;
	}
	if (conn->out_count && l->write_timeout_ms) {
		size_t queue = uv_stream_get_write_queue_size((uv_stream_t *)&conn->tcp);

		if (queue != conn->write_seen) {
			conn->write_seen = queue;
			conn->write_seen_at = now;
		} else if (now - conn->write_seen_at >= l->write_timeout_ms) {
			log_debug("http: dropping a client that read nothing for %u ms",
				  l->write_timeout_ms);
			conn_close(conn);
			return;
		}
	}
	if (conn->in_request && l->request_timeout_ms &&
	    now - conn->request_start >= l->request_timeout_ms) {
		log_debug("http: a request took more than %u ms to arrive", l->request_timeout_ms);
		/* No answer can go out before the TLS handshake is done. */
		if (conn->tls && !elx_tls_conn_ready(conn->tls))
			conn_close(conn);
		else
			conn_answer_error(conn, 408);
		return;
	}
	if (conn_is_idle(conn) && l->idle_timeout_ms &&
	    now - conn->idle_since >= l->idle_timeout_ms) {
		log_debug("http: closing an idle connection");
		conn_close(conn);
		return;
	}
	conn_arm(conn);
}

/* ---------------------------------------------------------------- parser callbacks */

static struct elx_http_conn *parser_conn(http_parser *p)
{
	return p->data;
}

/* Records why the request is refused; the non-zero return stops the parser. */
static int conn_refuse(struct elx_http_conn *conn, int status)
{
	conn->error_status = status;
	return -1;
}

/* Request line and headers are counted as they would look written out
 * plainly: "METHOD target HTTP/1.1\r\n", "Name: value\r\n" and the blank line.
 * http_parser also stops at HTTP_MAX_HEADER_SIZE raw bytes, which catches
 * padding that this count leaves out. */
static int count_header_bytes(struct elx_http_conn *conn, size_t n)
{
	conn->header_bytes += n;
	if (conn->header_bytes > conn->srv->limits.max_header_bytes)
		return conn_refuse(conn, 431);
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct elx_http_conn *conn = parser_conn(p);

	buf_reset(&conn->url);
	buf_reset(&conn->body);
	for (int i = 0; i < KEEP_COUNT; i++) {
		buf_reset(&conn->kept[i]);
		conn->kept_seen[i] = 0;
	}
	conn->header_bytes = 0;
	conn->header_count = 0;
	conn->last_header_cb = HEADER_NONE;
	conn->field_len = 0;
	conn->in_kept = KEEP_NONE;
	conn->accept_gzip = 0;
	/* The whole request must arrive within the request timeout, however
	 * its bytes trickle in. */
	conn->in_request = 1;
	conn->request_start = conn_now(conn);
	conn_arm(conn);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct elx_http_conn *conn = parser_conn(p);

	/* The method and " HTTP/1.1\r\n" around the target. */
	if (!conn->url.len && count_header_bytes(conn, strlen(http_method_str(p->method)) + 12))
		return -1;
	if (count_header_bytes(conn, len))
		return -1;
	if (buf_append(&conn->url, at, len) < 0)
		return conn_refuse(conn, -ENOMEM);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct elx_http_conn *conn = parser_conn(p);
	size_t room;

	if (conn->last_header_cb != HEADER_FIELD) {
		conn->last_header_cb = HEADER_FIELD;
		conn->field_len = 0;
		if (++conn->header_count > conn->srv->limits.max_headers)
			return conn_refuse(conn, 431);
		/* ": " and CRLF */
		if (count_header_bytes(conn, 4))
			return -1;
	}
	if (count_header_bytes(conn, len))
		return -1;
	/* Only the start of a name is kept: enough to recognise the one we use. */
	room = conn->field_len < sizeof(conn->field) ? sizeof(conn->field) - conn->field_len : 0;
	if (room)
		memcpy(conn->field + conn->field_len, at, len < room ? len : room);
	conn->field_len += len;
	return 0;
}

/* Which kept header the field just read names, if any. */
static enum kept_header kept_header_of(const struct elx_http_conn *conn)
{
	for (int i = KEEP_NONE + 1; i < KEEP_COUNT; i++) {
		if (conn->field_len == strlen(kept_names[i]) &&
		    !strncasecmp(conn->field, kept_names[i], conn->field_len))
			return (enum kept_header)i;
	}
	return KEEP_NONE;
}

/* Headers whose repeats are one comma-separated list (RFC 9110, 5.3). */
static int is_list(enum kept_header k)
{
	return k == KEEP_ACCEPT_ENCODING || k == KEEP_ACCEPT;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct elx_http_conn *conn = parser_conn(p);
	enum kept_header k;

	if (conn->last_header_cb != HEADER_VALUE) {
		conn->last_header_cb = HEADER_VALUE;
		k = kept_header_of(conn);
		/* Repeated Accept-Encoding and Accept headers are one
		 * comma-separated list; of the others, the first one counts. */
		if (is_list(k) && conn->kept_seen[k] && buf_append(&conn->kept[k], ",", 1) < 0)
			return conn_refuse(conn, -ENOMEM);
		conn->in_kept = !is_list(k) && conn->kept_seen[k] ? KEEP_NONE : k;
		conn->kept_seen[k] = 1;
	}
	if (count_header_bytes(conn, len))
		return -1;
	if (conn->in_kept != KEEP_NONE && buf_append(&conn->kept[conn->in_kept], at, len) < 0)
		return conn_refuse(conn, -ENOMEM);
	return 0;
}

/* A kept header's value: "" for an empty one, NULL when it did not come. */
static const char *kept_value(const struct elx_http_conn *conn, enum kept_header k)
{
	if (!conn->kept_seen[k])
		return NULL;
	return conn->kept[k].data ? conn->kept[k].data : "";
}

static int on_headers_complete(http_parser *p)
{
	struct elx_http_conn *conn = parser_conn(p);

	/* the blank line */
	if (count_header_bytes(conn, 2))
		return -1;
	/* http_parser takes any one-digit version; we speak 1.0 and 1.1. */
	if (p->http_major != 1 || p->http_minor > 1)
		return conn_refuse(conn, 505);
	/* A declared length beyond the limit is refused before its body comes. */
	if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
	    p->content_length > conn->srv->limits.max_body_bytes)
		return conn_refuse(conn, 413);
	conn->accept_gzip = elx_accept_gzip(kept_value(conn, KEEP_ACCEPT_ENCODING));
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct elx_http_conn *conn = parser_conn(p);

	if (len > conn->srv->limits.max_body_bytes - conn->body.len)
		return conn_refuse(conn, 413);
	if (buf_append(&conn->body, at, len) < 0)
		return conn_refuse(conn, -ENOMEM);
	return 0;
}

/* The request as the handler sees it; its strings live in the connection. */
static void fill_request(struct elx_http_conn *conn, http_parser *p, struct elx_http_request *req)
{
	static char empty[1];
	char *target = conn->url.data ? conn->url.data : empty;
	char *query;

	target[strcspn(target, "#")] = '\0';
	query = strchr(target, '?');
	if (query)
		*query++ = '\0';
	req->method = http_method_str(p->method);
	req->path = target;
	req->query = query ? query : "";
	req->accept_gzip = conn->accept_gzip;
	req->accept = conn->kept[KEEP_ACCEPT].len ? conn->kept[KEEP_ACCEPT].data : "";
	req->body = conn->body.data ? conn->body.data : "";
	req->body_len = conn->body.len;
	req->conn = conn;
	req->authorization = kept_value(conn, KEEP_AUTHORIZATION);
	req->scrape_timeout = kept_value(conn, KEEP_SCRAPE_TIMEOUT);
}

/* A response is queued: a connection that ends stops parsing; one with too
 * much waiting to be written pauses. */
static void conn_answered(struct elx_http_conn *conn, int keep_alive)
{
	if (!keep_alive) {
		conn_finish(conn);
		return;
	}
	if (conn->out_bytes > WRITE_HIGH_WATER && HTTP_PARSER_ERRNO(&conn->parser) == HPE_OK) {
		conn->paused = 1;
		http_parser_pause(&conn->parser, 1);
	}
	conn_arm(conn);
}

static int on_message_complete(http_parser *p)
{
	struct elx_http_conn *conn = parser_conn(p);
	struct elx_http_server *srv = conn->srv;
	struct elx_http_response resp = { .status = 200 };
	struct elx_http_request req;

	conn->in_request = 0;
	conn->mode = (struct answer_mode){
		.gzip = conn->accept_gzip,
		.head_only = p->method == HTTP_HEAD,
		.keep_alive = http_should_keep_alive(p) && !p->upgrade && !srv->closing,
		.http10 = p->http_major == 1 && p->http_minor == 0,
	};
	fill_request(conn, p, &req);
	srv->fn(srv->ctx, &req, &resp);

	if (conn->state == CONN_CLOSING || conn->deferred) {
		/* The handler closed the server, or answers later: parse no
		 * further until then. */
		drop_response(&resp);
		conn->paused = 1;
		http_parser_pause(p, 1);
		conn_arm(conn);
		return 0;
	}
	if (conn_respond(conn, &resp, &conn->mode) < 0) {
		conn_close(conn);
		http_parser_pause(p, 1);
		return 0;
	}
	conn_answered(conn, conn->mode.keep_alive);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

/* ---------------------------------------------------------------- reading */

/* Answers `status` with its reason phrase, then ends the connection. */
static void conn_answer_error(struct elx_http_conn *conn, int status)
{
	static const struct answer_mode close_mode = { 0 };
	struct elx_http_response resp = { .status = status };

	if (asprintf(&resp.body, "%s\n", reason_phrase(status)) < 0) {
		conn_close(conn);
		return;
	}
	resp.body_len = strlen(resp.body);
	if (conn_respond(conn, &resp, &close_mode) < 0) {
		conn_close(conn);
		return;
	}
	conn_finish(conn);
}

/* Answers a request that broke a limit or the grammar, then closes. */
static void conn_fail(struct elx_http_conn *conn)
{
	enum http_errno err = HTTP_PARSER_ERRNO(&conn->parser);
	int status = conn->error_status;

	if (status < 0) {
		/* Out of memory: an answer would need memory too. */
		conn_close(conn);
		return;
	}
	if (!status)
		status = err == HPE_HEADER_OVERFLOW ? 431 : 400;
	log_debug("http: answering %d to a bad request (%s)", status, http_errno_name(err));
	conn_answer_error(conn, status);
}

/* Parses input and answers every complete request in it. Returns how many
 * bytes were used: fewer than `len` only when the parser paused. */
static size_t conn_parse(struct elx_http_conn *conn, const char *data, size_t len)
{
	size_t n = http_parser_execute(&conn->parser, &parser_settings, data, len);
	enum http_errno err = HTTP_PARSER_ERRNO(&conn->parser);

	if (conn->state != CONN_READING || err == HPE_PAUSED)
		return n;
	if (err != HPE_OK)
		conn_fail(conn);
	return len;
}

/* Plaintext from the client: parsed, or kept while the parser waits (then
 * reading stops). Returns nonzero when the connection takes no more now. */
static int conn_input(struct elx_http_conn *conn, const char *data, size_t len)
{
	size_t n = conn_parse(conn, data, len);

	if (conn->state != CONN_READING)
		return 1;
	if (!conn->paused)
		return 0;
	if (n < len) {
		conn->pending_len = len - n;
		conn->pending_off = 0;
		conn->pending = malloc(conn->pending_len);
		if (!conn->pending) {
			conn_close(conn);
			return 1;
		}
		memcpy(conn->pending, data + n, conn->pending_len);
	}
	conn_read_stop(conn);
	return 1;
}

/* ---------------------------------------------------------------- TLS */

/* The handshake is done: from now on the request timeout runs from a
 * request's first byte, and the idle one from now. */
static void conn_tls_ready(struct elx_http_conn *conn)
{
	conn->handshaking = 0;
	conn->in_request = 0;
	conn->idle_since = conn_now(conn);
	conn_arm(conn);
}

static int tls_input(void *arg, const char *data, size_t len)
{
	struct elx_http_conn *conn = arg;

	if (conn->handshaking)
		conn_tls_ready(conn);
	return conn_input(conn, data, len);
}

static const struct elx_tls_io tls_io = { .input = tls_input, .written = tls_written };

/* What feeding or pulling TLS came to. A failed handshake has had its
 * alert written: the connection ends as one whose answers are all out. */
static void conn_tls_result(struct elx_http_conn *conn, enum elx_tls_feed r, const char *why)
{
	if (conn->state == CONN_CLOSING)
		return;
	if (r == ELX_TLS_FAILED) {
		log_debug("http: TLS: %s", why ? why : "failed");
		conn->in_request = 0;
		conn_shutdown(conn);
		/* Lingering, the client's FIN is looked for (and its input dropped). */
		if (conn->state == CONN_LINGER)
			conn_read_start(conn);
	} else if (r == ELX_TLS_CLOSED) {
		conn_on_eof(conn, UV_EOF);
	} else if (conn->handshaking && elx_tls_conn_ready(conn->tls)) {
		conn_tls_ready(conn);
	}
}

static void conn_tls_feed(struct elx_http_conn *conn, const char *data, size_t len)
{
	const char *why = NULL;
	enum elx_tls_feed r = elx_tls_conn_feed(conn->tls, data, len, &why);

	conn_tls_result(conn, r, why);
}

/* The parser may go on: parse what arrived meanwhile, then read on. */
static void conn_resume(struct elx_http_conn *conn)
{
	conn->paused = 0;
	http_parser_pause(&conn->parser, 0);
	if (conn->pending) {
		size_t n = conn_parse(conn, conn->pending + conn->pending_off,
				      conn->pending_len - conn->pending_off);

		conn->pending_off += n;
		if (conn->pending_off == conn->pending_len || conn->state != CONN_READING) {
			free(conn->pending);
			conn->pending = NULL;
		}
	}
	/* TLS may hold plaintext already: it comes before the socket's. */
	if (conn->tls && conn->state == CONN_READING && !conn->paused) {
		const char *why = NULL;
		enum elx_tls_feed r = elx_tls_conn_pull(conn->tls, &why);

		conn_tls_result(conn, r, why);
	}
	if (conn->state == CONN_READING && !conn->paused)
		conn_read_start(conn);
}

static void conn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
	struct elx_http_conn *conn = handle->data;

	*buf = uv_buf_init(conn->srv->read_buf, sizeof(conn->srv->read_buf));
}

/* The client shut down its side, or the connection failed. */
static void conn_on_eof(struct elx_http_conn *conn, ssize_t nread)
{
	if (nread != UV_EOF)
		log_debug("http: read failed: %s", uv_strerror((int)nread));
	conn_read_stop(conn);
	conn->eof = 1;
	/* A client that half-closes after its request still gets the answer. */
	if (nread != UV_EOF || (conn->out_count == 0 && !conn->deferred))
		conn_close(conn);
	else if (conn->state == CONN_READING)
		conn->state = CONN_DRAINING;
}

static void conn_on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct elx_http_conn *conn = stream->data;

	if (nread == 0 || conn->state == CONN_CLOSING)
		return;
	if (nread < 0) {
		conn_on_eof(conn, nread);
		return;
	}
	/* Reads extend no deadline: a request has its timeout from its first
	 * byte, and an idle connection from its last answer. */
	if (conn->state != CONN_READING)
		return;
	if (conn->tls)
		conn_tls_feed(conn, buf->base, (size_t)nread);
	else
		conn_input(conn, buf->base, (size_t)nread);
}

/* ---------------------------------------------------------------- connections */

/* At max_connections, a new connection takes the place of the one that
 * serves least: one lingering after its last answer, else the oldest idle
 * keep-alive connection, else the one whose request has been arriving the
 * longest (a slow client: a normal request arrives in milliseconds). Those
 * writing answers or waiting for one are never taken. NULL when none. */
static struct elx_http_conn *pick_victim(struct elx_http_server *srv)
{
	struct elx_http_conn *idle = NULL, *slow = NULL;

	for (struct elx_http_conn *c = srv->conns; c; c = c->next) {
		if (c->state == CONN_LINGER)
			return c;
		if (conn_is_idle(c) && (!idle || c->idle_since < idle->idle_since))
			idle = c;
		else if (c->state == CONN_READING && c->in_request && !c->out_count &&
			 !c->deferred && (!slow || c->request_start < slow->request_start))
			slow = c;
	}
	return idle ? idle : slow;
}

static void reject_on_close(uv_handle_t *handle)
{
	free(handle);
}

/* Accepts a connection only to close it: libuv stops listening until the
 * pending connection is accepted. */
static void refuse_connection(struct elx_http_server *srv, uv_stream_t *listener)
{
	uv_tcp_t *reject = malloc(sizeof(*reject));

	if (!reject || uv_tcp_init(srv->loop, reject) < 0) {
		log_error("http: out of memory refusing a connection");
		free(reject);
		return;
	}
	uv_accept(listener, (uv_stream_t *)reject);
	uv_close((uv_handle_t *)reject, reject_on_close);
	log_debug("http: refused a connection beyond max_connections=%u",
		  srv->limits.max_connections);
}

/* Room for one more connection: 0, or -1 when every one is busy. */
static int make_room(struct elx_http_server *srv)
{
	struct elx_http_conn *victim;

	if (srv->conn_active < srv->limits.max_connections)
		return 0;
	victim = pick_victim(srv);
	if (!victim)
		return -1;
	log_debug("http: at max_connections=%u: closing a %s connection",
		  srv->limits.max_connections,
		  victim->state == CONN_LINGER ? "finished"
		  : conn_is_idle(victim)       ? "idle"
					       : "slow");
	conn_close(victim);
	return 0;
}

/* TLS on a new connection: its handshake must be done within the request
 * timeout, as a request would be. */
static int conn_tls_start(struct elx_http_conn *conn)
{
	conn->tls = elx_tls_conn_new(conn->srv->tls, (uv_stream_t *)&conn->tcp, &tls_io, conn);
	if (!conn->tls) {
		log_error("http: out of memory for a TLS connection");
		conn_close(conn);
		return -ENOMEM;
	}
	conn->handshaking = 1;
	conn->in_request = 1;
	conn->request_start = conn_now(conn);
	return 0;
}

static void srv_on_connection(uv_stream_t *listener, int status)
{
	struct http_listener *l = listener->data;
	struct elx_http_server *srv = l->srv;
	struct elx_http_conn *conn;

	if (status < 0) {
		log_warn("http: accept failed: %s", uv_strerror(status));
		return;
	}
	if (make_room(srv) < 0) {
		refuse_connection(srv, listener);
		return;
	}
	/* Before the connection takes its TLS context: a rotated certificate
	 * serves this one already. */
	if (srv->on_accept)
		srv->on_accept(srv->on_accept_arg);
	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		log_error("http: out of memory accepting a connection");
		return;
	}
	conn->srv = srv;
	uv_tcp_init(srv->loop, &conn->tcp);
	uv_timer_init(srv->loop, &conn->timer);
	conn->tcp.data = conn;
	conn->timer.data = conn;
	conn->open_handles = 2;
	conn->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = conn;
	srv->conns = conn;
	srv->conn_count++;
	srv->conn_active++;
	http_parser_init(&conn->parser, HTTP_REQUEST);
	conn->parser.data = conn;
	conn->idle_since = uv_now(srv->loop);
	if (uv_accept(listener, (uv_stream_t *)&conn->tcp) < 0) {
		conn_close(conn);
		return;
	}
	/* Pipelined answers are small writes; Nagle would hold them back. */
	uv_tcp_nodelay(&conn->tcp, 1);
	if (srv->tls && conn_tls_start(conn) < 0)
		return;
	conn_read_start(conn);
	conn_arm(conn);
}

/* ---------------------------------------------------------------- answers given later */

struct elx_http_deferred *elx_http_defer(const struct elx_http_request *req)
{
	struct elx_http_conn *conn = req->conn;
	struct elx_http_deferred *d;

	if (!conn || conn->deferred || !(d = calloc(1, sizeof(*d))))
		return NULL;
	d->conn = conn;
	d->mode = conn->mode;
	conn->deferred = d;
	return d;
}

void elx_http_undefer(struct elx_http_deferred *d)
{
	if (!d)
		return;
	if (d->conn)
		d->conn->deferred = NULL;
	free(d);
}

void elx_http_answer(struct elx_http_deferred *d, struct elx_http_response *resp)
{
	struct elx_http_conn *conn = d->conn;

	if (!conn || conn->state == CONN_CLOSING) {
		if (conn)
			conn->deferred = NULL;
		drop_response(resp);
		free(d);
		return;
	}
	conn->deferred = NULL;
	if (conn_respond(conn, resp, &d->mode) < 0) {
		conn_close(conn);
	} else if (!d->mode.keep_alive) {
		conn_finish(conn);
	} else {
		/* Requests that came meanwhile are parsed now, unless answers
		 * pile up; then the writes resume parsing. */
		if (conn->state == CONN_READING && conn->out_bytes <= WRITE_LOW_WATER)
			conn_resume(conn);
		conn_arm(conn);
	}
	free(d);
}

/* ---------------------------------------------------------------- listening */

static void srv_on_listener_close(uv_handle_t *handle)
{
	struct http_listener *l = handle->data;
	struct elx_http_server *srv = l->srv;

	free(l);
	srv->listeners_open--;
	if (srv->closing && !srv->listeners_open && !srv->conns)
		srv_free(srv);
}

/* A libuv handle on a listening socket. The socket is the handle's from
 * the start (closed with it), or closed here when no handle was made. */
static int add_listener(struct elx_http_server *srv, int listen_fd, const char **msg)
{
	struct http_listener *l;
	int r;

	if (srv->nlisteners == MAX_LISTENERS || !(l = calloc(1, sizeof(*l)))) {
		*msg = srv->nlisteners == MAX_LISTENERS ? "too many listen addresses"
							: "out of memory";
		close(listen_fd);
		return srv->nlisteners == MAX_LISTENERS ? -E2BIG : -ENOMEM;
	}
	l->srv = srv;
	uv_tcp_init(srv->loop, &l->handle);
	l->handle.data = l;
	srv->listeners[srv->nlisteners++] = l;
	srv->listeners_open++;
	r = uv_tcp_open(&l->handle, listen_fd);
	if (r < 0) {
		*msg = "cannot use the listening socket";
		close(listen_fd);
		return r;
	}
	r = uv_listen((uv_stream_t *)&l->handle, SOMAXCONN, srv_on_connection);
	if (r < 0)
		*msg = "cannot listen on the address";
	return r;
}

static void close_listeners(struct elx_http_server *srv)
{
	for (unsigned i = 0; i < srv->nlisteners; i++)
		uv_close((uv_handle_t *)&srv->listeners[i]->handle, srv_on_listener_close);
	srv->nlisteners = 0;
}

int elx_http_server_start(uv_loop_t *loop, int listen_fd, const struct elx_http_limits *limits,
			  elx_http_handler_fn fn, void *ctx, struct elx_http_server **out,
			  const char **err_msg)
{
	static const struct elx_http_limits default_limits = ELX_HTTP_LIMITS_DEFAULT;
	struct elx_http_server *srv = NULL;
	const char *msg = NULL;
	int r;

	if (!loop || listen_fd < 0 || !fn || !out) {
		msg = "missing argument";
		r = -EINVAL;
		goto out;
	}
	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (!srv) {
		msg = "out of memory";
		r = -ENOMEM;
		goto out;
	}
	srv->loop = loop;
	srv->limits = limits ? *limits : default_limits;
	srv->fn = fn;
	srv->ctx = ctx;
	srv->port = elx_listen_port(listen_fd);
	r = add_listener(srv, listen_fd, &msg);
	listen_fd = -1; /* the listener's now, or closed */
	if (r < 0)
		goto out;
	log_debug("http: serving on port %d", srv->port);
	*out = srv;
	srv = NULL;
out:
	if (listen_fd >= 0)
		close(listen_fd);
	if (srv) {
		/* A handle may be initialised: only the loop can free it. */
		srv->closing = 1;
		if (srv->nlisteners)
			close_listeners(srv);
		else
			srv_free(srv);
	}
	if (err_msg)
		*err_msg = msg;
	return r;
}

int elx_http_server_listen(struct elx_http_server *srv, int listen_fd, const char **err_msg)
{
	const char *msg = NULL;
	int r;

	if (!srv || srv->closing || listen_fd < 0) {
		if (listen_fd >= 0)
			close(listen_fd);
		msg = "missing argument";
		r = -EINVAL;
	} else {
		r = add_listener(srv, listen_fd, &msg);
		if (!r)
			log_debug("http: serving on port %d too", elx_listen_port(listen_fd));
	}
	if (err_msg)
		*err_msg = msg;
	return r;
}

int elx_http_server_set_headers(struct elx_http_server *srv, const char *lines)
{
	char *copy = lines && *lines ? strdup(lines) : NULL;

	if (lines && *lines && !copy)
		return -ENOMEM;
	free(srv->headers);
	srv->headers = copy;
	return 0;
}

void elx_http_server_set_tls(struct elx_http_server *srv, struct elx_tls_ctx *ctx)
{
	struct elx_tls_ctx *old = srv->tls;

	srv->tls = elx_tls_ctx_ref(ctx);
	elx_tls_ctx_unref(old);
}

void elx_http_server_on_accept(struct elx_http_server *srv, void (*fn)(void *arg), void *arg)
{
	srv->on_accept = fn;
	srv->on_accept_arg = arg;
}

void elx_http_server_close(struct elx_http_server *srv)
{
	struct elx_http_conn *conn;

	if (!srv || srv->closing)
		return;
	srv->closing = 1;
	close_listeners(srv);
	for (conn = srv->conns; conn; conn = conn->next)
		conn_close(conn);
}

int elx_http_server_port(const struct elx_http_server *srv)
{
	return srv ? srv->port : -1;
}

unsigned elx_http_server_connections(const struct elx_http_server *srv)
{
	return srv ? srv->conn_count : 0;
}

size_t elx_http_server_queued_bytes(const struct elx_http_server *srv)
{
	return srv ? srv->queued_bytes : 0;
}
