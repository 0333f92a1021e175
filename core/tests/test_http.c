/* Tests of the HTTP server: real servers on the main thread's libuv loop, a
 * client in a second thread speaking HTTP over plain sockets. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>
#include <zlib.h>

#include "gzip.h"
#include "http.h"
#include "listen.h"
#include "check.h"

#define PLAIN	   "text/plain; charset=utf-8"
#define EXPOSITION "text/plain; version=0.0.4; charset=utf-8"
#define HUGE_BYTES (2 * 1024 * 1024)
#define IDLE_MS	   200
#define REQUEST_MS 400
#define WRITE_MS   300
#define RECV_SECS  10
#define HELLO_HEAD "HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: 6\r\n\r\n"
#define HELLO	   "hello\n"
#define GET_HELLO  "GET / HTTP/1.1\r\nHost: t\r\n\r\n"

/* ---------------------------------------------------------------- the handler */

static char *big_body;
static size_t big_len;
static char *huge_body;
static struct elx_http_body *shared_body; /* big_body, sent by every /shared */

/* Answers to /later, given by a timer on the loop. */
#define LATER_MAX 16
static uv_timer_t later_timer;
static struct elx_http_deferred *later[LATER_MAX];
static int nlater;

static void on_later(uv_timer_t *timer)
{
	for (int i = 0; i < nlater; i++) {
		struct elx_http_response resp = { .status = 200 };

		resp.body = strdup("later\n");
		resp.body_len = 6;
		elx_http_answer(later[i], &resp);
	}
	nlater = 0;
}

static char *dup_mem(const char *p, size_t n)
{
	char *d = malloc(n ? n : 1);

	CHECK(d);
	memcpy(d, p, n);
	return d;
}

static void set_body(struct elx_http_response *resp, const char *p, size_t n)
{
	resp->body = dup_mem(p, n);
	resp->body_len = n;
}

/* Routing is the handler's business: the server passes status and Allow on. */
static void handler(void *ctx, const struct elx_http_request *req, struct elx_http_response *resp)
{
	int *calls = ctx;
	int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");

	/* The client thread reads the count. */
	__atomic_fetch_add(calls, 1, __ATOMIC_SEQ_CST);
	if (!strcmp(req->path, "/")) {
		set_body(resp, HELLO, strlen(HELLO));
	} else if (!strcmp(req->path, "/big") && get) {
		resp->content_type = EXPOSITION;
		set_body(resp, big_body, big_len);
	} else if (!strcmp(req->path, "/huge")) {
		set_body(resp, huge_body, HUGE_BYTES);
	} else if (!strcmp(req->path, "/echo")) {
		resp->body_len = (size_t)asprintf(
		    &resp->body, "method=%s path=%s query=%s gzip=%d body=%.*s", req->method,
		    req->path, req->query, req->accept_gzip, (int)req->body_len, req->body);
	} else if (!strcmp(req->path, "/accept")) {
		resp->body_len = (size_t)asprintf(&resp->body, "accept=%s", req->accept);
	} else if (!strcmp(req->path, "/post-only") && strcmp(req->method, "POST")) {
		resp->status = 405;
		resp->allow = "POST";
		set_body(resp, "method not allowed\n", 19);
	} else if (!strcmp(req->path, "/bad-status")) {
		resp->status = 999;
	} else if (!strcmp(req->path, "/shared")) {
		resp->content_type = EXPOSITION;
		resp->shared = elx_http_body_ref(shared_body);
	} else if (!strcmp(req->path, "/later") && nlater < LATER_MAX) {
		/* The handler's response is ignored once it defers. */
		set_body(resp, "ignored\n", 8);
		later[nlater] = elx_http_defer(req);
		CHECK(later[nlater]);
		nlater++;
		uv_timer_start(&later_timer, on_later, 50, 0);
	} else {
		resp->status = 404;
		set_body(resp, "not found\n", 10);
	}
}

static void make_bodies(void)
{
	size_t cap = 8192;
	int i;

	big_body = malloc(cap);
	CHECK(big_body);
	for (i = 0; big_len < 4096; i++)
		big_len += (size_t)snprintf(big_body + big_len, cap - big_len,
					    "elx_test_total{cpu=\"%d\",name=\"series\"} %d\n",
					    i % 8, i * 37);
	shared_body = elx_http_body_new(dup_mem(big_body, big_len), big_len);
	CHECK(shared_body);
	huge_body = malloc(HUGE_BYTES);
	CHECK(huge_body);
	for (i = 0; i < HUGE_BYTES; i++)
		huge_body[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
}

/* ---------------------------------------------------------------- the client */

struct client {
	int fd;
	char *buf; /* received and not yet consumed */
	size_t len, cap;
};

struct response {
	char *head; /* status line and headers, blank line included */
	char *body;
	size_t body_len;
};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	CHECK(vasprintf(&s, f, ap) >= 0);
	va_end(ap);
	return s;
}

/* rcvbuf: the socket's receive buffer, set before connecting (which fixes
 * the window's scale), or 0 for the default. */
static int try_connect_buf(int family, int port, int rcvbuf)
{
	struct sockaddr_storage ss = { 0 };
	struct timeval tv = { .tv_sec = RECV_SECS };
	socklen_t len;
	int fd, one = 1;

	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	if (rcvbuf)
		CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
	/* A hung server fails the test instead of hanging it. */
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	CHECK(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int try_connect(int family, int port)
{
	return try_connect_buf(family, port, 0);
}

static struct client *client_open_family(int family, int port)
{
	struct client *c = calloc(1, sizeof(*c));

	CHECK(c);
	c->fd = try_connect(family, port);
	CHECK(c->fd >= 0);
	return c;
}

static struct client *client_open(int port)
{
	return client_open_family(AF_INET, port);
}

static void client_free(struct client *c)
{
	close(c->fd);
	free(c->buf);
	free(c);
}

static void client_send_len(struct client *c, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);

		CHECK(w > 0);
		p += w;
		n -= (size_t)w;
	}
}

static void client_send(struct client *c, const char *s)
{
	client_send_len(c, s, strlen(s));
}

/* Receives more bytes; returns what recv returned. */
static ssize_t client_fill(struct client *c)
{
	ssize_t n;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap * 2 + 65536;
		c->buf = realloc(c->buf, c->cap);
		CHECK(c->buf);
	}
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n > 0)
		c->len += (size_t)n;
	return n;
}

static void client_consume(struct client *c, size_t n)
{
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
}

/* Reads one response; returns -1 when the connection ends before it does. */
static int client_read(struct client *c, int head_only, struct response *r)
{
	char *end, *cl;
	size_t head_len, body_len = 0;

	memset(r, 0, sizeof(*r));
	while (!c->len || !(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
		if (client_fill(c) <= 0)
			return -1;
	head_len = (size_t)(end - c->buf) + 4;
	r->head = dup_mem(c->buf, head_len + 1);
	r->head[head_len] = '\0';
	cl = strstr(r->head, "\r\nContent-Length: ");
	if (cl)
		body_len = strtoul(cl + 18, NULL, 10);
	client_consume(c, head_len);
	if (head_only)
		return 0;
	while (c->len < body_len)
		if (client_fill(c) <= 0)
			return -1;
	r->body = dup_mem(c->buf, body_len + 1);
	r->body[body_len] = '\0';
	r->body_len = body_len;
	client_consume(c, body_len);
	return 0;
}

static void response_free(struct response *r)
{
	free(r->head);
	free(r->body);
}

static void expect_response_len(struct client *c, int head_only, const char *head, const char *body,
				size_t body_len)
{
	struct response r;

	CHECK_INT(client_read(c, head_only, &r), 0);
	CHECK_STR(r.head, head);
	if (head_only)
		CHECK(!r.body);
	else
		CHECK_MEM(r.body, r.body_len, body, body_len);
	response_free(&r);
}

static void expect_response(struct client *c, const char *head, const char *body)
{
	expect_response_len(c, 0, head, body, strlen(body));
}

/* A 200 with the default content type and exactly `body`. */
static void expect_plain(struct client *c, const char *body)
{
	char *head =
	    fmt("HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: %zu\r\n\r\n",
		strlen(body));

	expect_response(c, head, body);
	free(head);
}

/* The server closed the connection (a FIN, not a reset) and sent nothing more. */
static void expect_eof(struct client *c)
{
	CHECK_INT(c->len, 0);
	CHECK_INT(client_fill(c), 0);
}

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	CHECK(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------- the servers */

/* Tight limits, so that the tests can cross them. */
static const struct elx_http_limits main_limits = {
	.max_header_bytes = 1024,
	.max_headers = 16,
	.max_body_bytes = 1024,
	.max_connections = 64,
	.idle_timeout_ms = 30000,
};
static const struct elx_http_limits idle_limits = {
	.max_header_bytes = 8192,
	.max_headers = 64,
	.max_body_bytes = 65536,
	.max_connections = 64,
	.idle_timeout_ms = IDLE_MS,
	.request_timeout_ms = REQUEST_MS,
	.write_timeout_ms = WRITE_MS,
};
static const struct elx_http_limits conn_limits = {
	.max_header_bytes = 8192,
	.max_headers = 64,
	.max_body_bytes = 65536,
	.max_connections = 2,
	.idle_timeout_ms = 30000,
};
static const struct elx_http_limits queue_limits = {
	.max_header_bytes = 8192,
	.max_headers = 64,
	.max_body_bytes = 65536,
	.max_connections = 64,
	.idle_timeout_ms = 30000,
	.write_timeout_ms = 30000,
	.max_queued_bytes = 3 << 20,
};

enum { SRV_MAIN, SRV_IDLE, SRV_CONNS, SRV_QUEUE, SRV_FD, SRV_COUNT };

static struct elx_http_server *servers[SRV_COUNT];
static int ports[SRV_COUNT];
static int handler_calls;
static uv_async_t done_async;

static void on_done(uv_async_t *async)
{
	int i;

	for (i = 0; i < SRV_COUNT; i++)
		elx_http_server_close(servers[i]);
	uv_close((uv_handle_t *)async, NULL);
	uv_close((uv_handle_t *)&later_timer, NULL);
	elx_http_body_unref(shared_body);
}

static void start_on(uv_loop_t *loop, int which, int fd, const struct elx_http_limits *limits)
{
	const char *msg = "unset";
	int r =
	    elx_http_server_start(loop, fd, limits, handler, &handler_calls, &servers[which], &msg);

	if (r != 0) {
		fprintf(stderr, "starting a server on fd %d: %s (%s)\n", fd, msg, strerror(-r));
		exit(1);
	}
	CHECK(msg == NULL);
	ports[which] = elx_http_server_port(servers[which]);
	CHECK(ports[which] > 0);
}

static void start(uv_loop_t *loop, int which, const char *address,
		  const struct elx_http_limits *limits)
{
	const char *msg = "unset";
	int fd = elx_listen_open(address, &msg);

	if (fd < 0) {
		fprintf(stderr, "listening on %s: %s (%s)\n", address, msg, strerror(-fd));
		exit(1);
	}
	start_on(loop, which, fd, limits);
}

/* The server owns the socket it is given, and closes it when it fails. */
static void test_start_errors(uv_loop_t *loop)
{
	struct elx_http_server *srv = (struct elx_http_server *)1;
	const char *msg = NULL;
	int pipe_fds[2];

	CHECK_INT(elx_http_server_start(loop, -1, NULL, handler, NULL, &srv, &msg), -EINVAL);
	CHECK_STR(msg, "missing argument");
	CHECK(pipe(pipe_fds) == 0);
	srv = (struct elx_http_server *)1;
	msg = NULL;
	CHECK_INT(elx_http_server_start(loop, pipe_fds[0], NULL, handler, NULL, &srv, &msg),
		  -ENOTSOCK);
	CHECK_STR(msg, "cannot listen on the address");
	CHECK(srv == NULL);
	CHECK(fcntl(pipe_fds[0], F_GETFD) < 0 && errno == EBADF);
	close(pipe_fds[1]);
}

/* A listening socket made outside listen.c, the way systemd would make it. */
static int make_listening_socket(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(listen(fd, 16) == 0);
	return fd;
}

/* ---------------------------------------------------------------- the tests */

static void test_get(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	client_free(c);
}

static void test_keep_alive(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	client_send(c, "GET /echo?x=1&y=2 HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_plain(c, "method=GET path=/echo query=x=1&y=2 gzip=0 body=");
	client_free(c);
}

static void test_http10(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	expect_response(c,
			"HTTP/1.1 200 OK\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 6\r\nConnection: keep-alive\r\n\r\n",
			HELLO);
	client_send(c, "GET / HTTP/1.0\r\n\r\n");
	expect_response(c,
			"HTTP/1.1 200 OK\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
			HELLO);
	expect_eof(c);
	client_free(c);
}

static void test_pipelining(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET /echo?first HTTP/1.1\r\nHost: t\r\n\r\n"
		       "POST /echo?second HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"
		       "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_plain(c, "method=GET path=/echo query=first gzip=0 body=");
	expect_plain(c, "method=POST path=/echo query=second gzip=0 body=body");
	expect_response(
	    c, "HTTP/1.1 404 Not Found\r\nContent-Type: " PLAIN "\r\nContent-Length: 10\r\n\r\n",
	    "not found\n");
	client_free(c);
}

/* Responses bigger than the write high-water mark pause the parser: the
 * pipelined requests behind them wait and are still answered in order. */
static void test_pipelining_backpressure(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);
	char *head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: %d\r\n\r\n",
			 HUGE_BYTES);
	int i;

	client_send(c, "GET /huge HTTP/1.1\r\n\r\nGET /huge HTTP/1.1\r\n\r\n"
		       "GET /huge HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	for (i = 0; i < 3; i++)
		expect_response_len(c, 0, head, huge_body, HUGE_BYTES);
	expect_response(c, HELLO_HEAD, HELLO);
	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	free(head);
	client_free(c);
}

static void test_connection_close(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	/* The request after the one that closes is never answered. */
	client_send(c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n" GET_HELLO);
	expect_response(c,
			"HTTP/1.1 200 OK\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
			HELLO);
	expect_eof(c);
	client_free(c);
}

/* Upgrades are not spoken here: the request is answered and the
 * connection closed, whatever followed it. */
static void test_upgrade(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
		       "\x81\x05hello");
	expect_response(c,
			"HTTP/1.1 200 OK\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
			HELLO);
	expect_eof(c);
	client_free(c);
}

/* A client that pipelines big answers and resets the connection without
 * reading them costs the server nothing lasting. */
static void test_abandoned_pipeline(void)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	struct client *c = client_open(ports[SRV_MAIN]);
	int i;

	for (i = 0; i < 8; i++)
		client_send(c, "GET /huge HTTP/1.1\r\n\r\n");
	usleep(50000);
	CHECK(setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	client_free(c);

	c = client_open(ports[SRV_MAIN]);
	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	client_free(c);
}

static void test_half_close(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, GET_HELLO);
	CHECK(shutdown(c->fd, SHUT_WR) == 0);
	expect_response(c, HELLO_HEAD, HELLO);
	expect_eof(c);
	client_free(c);
}

static void test_head(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);
	int calls = __atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST);
	char *head;

	client_send(c, "HEAD / HTTP/1.1\r\nHost: t\r\n\r\n");
	expect_response_len(c, 1, HELLO_HEAD, NULL, 0);
	/* No stray body: the next response starts right after the headers. */
	client_send(c, "HEAD /echo?q HTTP/1.1\r\n\r\n");
	head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: %zu\r\n\r\n",
		   strlen("method=HEAD path=/echo query=q gzip=0 body="));
	expect_response_len(c, 1, head, NULL, 0);
	free(head);
	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	CHECK_INT(__atomic_load_n(&handler_calls, __ATOMIC_SEQ_CST), calls + 3);
	client_free(c);
}

static void test_handler_statuses(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET /nope HTTP/1.1\r\n\r\n");
	expect_response(
	    c, "HTTP/1.1 404 Not Found\r\nContent-Type: " PLAIN "\r\nContent-Length: 10\r\n\r\n",
	    "not found\n");
	client_send(c, "GET /post-only HTTP/1.1\r\n\r\n");
	expect_response(c,
			"HTTP/1.1 405 Method Not Allowed\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 19\r\nAllow: POST\r\n\r\n",
			"method not allowed\n");
	client_send(c, "GET /bad-status HTTP/1.1\r\n\r\n");
	expect_response(c,
			"HTTP/1.1 500 Internal Server Error\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 0\r\n\r\n",
			"");
	client_free(c);
}

static void expect_refused(const char *request, size_t len, const char *head, const char *body)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send_len(c, request, len);
	expect_response(c, head, body);
	expect_eof(c);
	client_free(c);
}

#define BAD_REQUEST_HEAD                                                                           \
	"HTTP/1.1 400 Bad Request\r\nContent-Type: " PLAIN                                         \
	"\r\nContent-Length: 12\r\nConnection: close\r\n\r\n"
#define TOO_LARGE_HEAD                                                                             \
	"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: " PLAIN                     \
	"\r\nContent-Length: 32\r\nConnection: close\r\n\r\n"
#define TOO_LARGE_BODY "Request Header Fields Too Large\n"
#define PAYLOAD_HEAD                                                                               \
	"HTTP/1.1 413 Payload Too Large\r\nContent-Type: " PLAIN                                   \
	"\r\nContent-Length: 18\r\nConnection: close\r\n\r\n"

static void test_garbage(void)
{
	static const char binary[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";

	expect_refused("GARBAGE\r\n\r\n", 11, BAD_REQUEST_HEAD, "Bad Request\n");
	expect_refused("GET / HTTP/1.1\r\nBad Header\r\n\r\n", 30, BAD_REQUEST_HEAD,
		       "Bad Request\n");
	/* A TLS ClientHello on the plain port. */
	expect_refused(binary, sizeof(binary) - 1, BAD_REQUEST_HEAD, "Bad Request\n");

	/* A good request before the garbage is answered first. */
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, GET_HELLO "NOT HTTP AT ALL\r\n\r\n");
	expect_response(c, HELLO_HEAD, HELLO);
	expect_response(c, BAD_REQUEST_HEAD, "Bad Request\n");
	expect_eof(c);
	client_free(c);
}

/* The request line and headers of `total` bytes, written plainly. */
static char *request_of_size(size_t total)
{
	/* "GET / HTTP/1.1\r\n" "X-Pad: " pad "\r\n" "\r\n" */
	char *pad = repeat('p', total - 27);
	char *req = fmt("GET / HTTP/1.1\r\nX-Pad: %s\r\n\r\n", pad);

	CHECK_INT(strlen(req), total);
	free(pad);
	return req;
}

static char *request_with_headers(int n)
{
	char *req = fmt("GET / HTTP/1.1\r\n"), *more;
	int i;

	for (i = 0; i < n; i++) {
		more = fmt("%sX-H%d: v\r\n", req, i);
		free(req);
		req = more;
	}
	more = fmt("%s\r\n", req);
	free(req);
	return more;
}

static void test_header_limits(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);
	char *req;

	/* Exactly at the limits is fine. */
	req = request_of_size(main_limits.max_header_bytes);
	client_send(c, req);
	expect_response(c, HELLO_HEAD, HELLO);
	free(req);
	req = request_with_headers((int)main_limits.max_headers);
	client_send(c, req);
	expect_response(c, HELLO_HEAD, HELLO);
	free(req);
	client_free(c);

	req = request_of_size(main_limits.max_header_bytes + 1);
	expect_refused(req, strlen(req), TOO_LARGE_HEAD, TOO_LARGE_BODY);
	free(req);
	req = request_of_size(10000);
	expect_refused(req, strlen(req), TOO_LARGE_HEAD, TOO_LARGE_BODY);
	free(req);
	req = request_with_headers((int)main_limits.max_headers + 1);
	expect_refused(req, strlen(req), TOO_LARGE_HEAD, TOO_LARGE_BODY);
	free(req);

	/* A long target counts too. */
	char *path = repeat('a', 2000);

	req = fmt("GET /%s HTTP/1.1\r\n\r\n", path);
	expect_refused(req, strlen(req), TOO_LARGE_HEAD, TOO_LARGE_BODY);
	free(req);
	free(path);
}

static void test_body_limits(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);
	char *body = repeat('b', main_limits.max_body_bytes + 1);
	char *req, *expected;

	/* At the limit. */
	req = fmt("POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%.*s",
		  main_limits.max_body_bytes, (int)main_limits.max_body_bytes, body);
	client_send(c, req);
	expected = fmt("method=POST path=/echo query= gzip=0 body=%.*s",
		       (int)main_limits.max_body_bytes, body);
	expect_plain(c, expected);
	free(req);
	free(expected);

	/* Chunked within the limit. */
	client_send(c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
	expect_plain(c, "method=POST path=/echo query= gzip=0 body=hello world");
	client_free(c);

	/* A declared length beyond the limit is refused before the body is sent. */
	req = fmt("POST /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n",
		  main_limits.max_body_bytes + 1);
	expect_refused(req, strlen(req), PAYLOAD_HEAD, "Payload Too Large\n");
	free(req);
	req = fmt("POST /echo HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n");
	expect_refused(req, strlen(req), PAYLOAD_HEAD, "Payload Too Large\n");
	free(req);

	/* Chunks that add up to more than the limit. */
	req = fmt("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "%zx\r\n%.*s\r\n1\r\nx\r\n0\r\n\r\n",
		  main_limits.max_body_bytes, (int)main_limits.max_body_bytes, body);
	expect_refused(req, strlen(req), PAYLOAD_HEAD, "Payload Too Large\n");
	free(req);
	free(body);
}

static void inflate_all(const char *in, size_t len, char **out, size_t *out_len)
{
	z_stream zs = { 0 };
	size_t cap = 1 << 20;
	int r;

	*out = malloc(cap);
	CHECK(*out);
	CHECK(inflateInit2(&zs, 15 + 16) == Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)*out;
	zs.avail_out = (uInt)cap;
	r = inflate(&zs, Z_FINISH);
	CHECK_INT(r, Z_STREAM_END);
	CHECK_INT(zs.avail_in, 0);
	*out_len = cap - zs.avail_out;
	inflateEnd(&zs);
}

static void expect_big(struct client *c, const char *accept_encoding, int head_only, int gzipped)
{
	struct response r;
	char *req, *head, *gz, *plain;
	size_t gz_len, plain_len;

	req = fmt("%s /big HTTP/1.1\r\nAccept-Encoding: %s\r\n\r\n", head_only ? "HEAD" : "GET",
		  accept_encoding);
	client_send(c, req);
	CHECK_INT(client_read(c, head_only, &r), 0);
	if (!gzipped) {
		head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " EXPOSITION
			   "\r\nContent-Length: %zu\r\n\r\n",
			   big_len);
		CHECK_STR(r.head, head);
		if (!head_only)
			CHECK_MEM(r.body, r.body_len, big_body, big_len);
	} else {
		/* gzip output is deterministic for one input and level. */
		CHECK_INT(elx_gzip(big_body, big_len, &gz, &gz_len), 0);
		head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " EXPOSITION
			   "\r\nContent-Length: %zu\r\nContent-Encoding: gzip\r\n"
			   "Vary: Accept-Encoding\r\n\r\n",
			   gz_len);
		CHECK_STR(r.head, head);
		if (!head_only) {
			inflate_all(r.body, r.body_len, &plain, &plain_len);
			CHECK_MEM(plain, plain_len, big_body, big_len);
			free(plain);
		}
		free(gz);
	}
	free(head);
	free(req);
	response_free(&r);
}

static void test_gzip(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);
	char *head;

	expect_big(c, "gzip", 0, 1);
	expect_big(c, "gzip", 1, 1);
	expect_big(c, "GZIP", 0, 1);
	expect_big(c, "x-gzip", 0, 1);
	expect_big(c, "*", 0, 1);
	expect_big(c, "deflate, gzip;q=0.5", 0, 1);
	expect_big(c, "br ; q=1.0 ,gzip ; q=0.001", 0, 1);
	expect_big(c, "*;q=0, gzip", 0, 1);
	expect_big(c, "gzip;q=0", 0, 0);
	expect_big(c, "gzip;q=0", 1, 0);
	expect_big(c, "gzip; q=0.000", 0, 0);
	expect_big(c, "gzip;Q=0.0, *", 0, 0);
	expect_big(c, "*;q=0", 0, 0);
	expect_big(c, "identity", 0, 0);
	expect_big(c, "gzipx, xgzip", 0, 0);
	expect_big(c, "", 0, 0);

	/* Repeated headers form one list. */
	client_send(c,
		    "GET /echo HTTP/1.1\r\nAccept-Encoding: br\r\nAccept-Encoding: gzip\r\n\r\n");
	expect_plain(c, "method=GET path=/echo query= gzip=1 body=");
	/* Small bodies are not worth compressing. */
	client_send(c, "GET / HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
	expect_response(c, HELLO_HEAD, HELLO);
	/* Without the header, plain. */
	client_send(c, "GET /big HTTP/1.1\r\n\r\n");
	head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " EXPOSITION "\r\nContent-Length: %zu\r\n\r\n",
		   big_len);
	expect_response_len(c, 0, head, big_body, big_len);
	free(head);
	client_free(c);
}

/* The Accept header reaches the handler (content negotiation): repeated
 * ones as one list, whatever the case of the name, not Accept-Encoding's,
 * and not the request before's. */
static void test_accept(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET /accept HTTP/1.1\r\naccept: a/b;q=0.5\r\nAccept-Encoding: x\r\n"
		       "ACCEPT: c/d\r\nAccept-Charset: utf-8\r\n\r\n");
	expect_plain(c, "accept=a/b;q=0.5,c/d");
	client_send(c, "GET /accept HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
	expect_plain(c, "accept=");
	client_free(c);
}

/* Every byte in its own segment: names and values arrive in pieces. */
static void test_trickle(void)
{
	static const char req[] =
	    "GET /echo?a=1 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n";
	struct client *c = client_open(ports[SRV_MAIN]);
	size_t i;

	for (i = 0; i < sizeof(req) - 1; i++) {
		client_send_len(c, req + i, 1);
		usleep(500);
	}
	expect_plain(c, "method=GET path=/echo query=a=1 gzip=1 body=");
	client_free(c);
}

static void test_idle_timeout(void)
{
	struct client *c = client_open(ports[SRV_IDLE]);
	double start, elapsed;

	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	start = now_ms();
	expect_eof(c);
	elapsed = now_ms() - start;
	if (elapsed < IDLE_MS * 0.7 || elapsed > IDLE_MS * 10) {
		fprintf(stderr, "%s:%d: idle close after %.0f ms, expected about %d\n", __FILE__,
			__LINE__, elapsed, IDLE_MS);
		exit(1);
	}
	client_free(c);

	/* A connection that never sends anything is closed as well. */
	c = client_open(ports[SRV_IDLE]);
	expect_eof(c);
	client_free(c);
}

/* A client that never reads: a tiny receive window, so that what it is sent
 * stays queued in the server. */
static struct client *client_open_stalled(int port)
{
	struct client *c = calloc(1, sizeof(*c));

	CHECK(c);
	c->fd = try_connect_buf(AF_INET, port, 4096);
	CHECK(c->fd >= 0);
	return c;
}

/* Reads until the end; returns how many bytes came. */
static size_t drain_all(struct client *c)
{
	size_t total = 0;
	ssize_t n;

	while ((n = client_fill(c)) > 0) {
		total += (size_t)n;
		c->len = 0;
	}
	return total;
}

/* At the limit, a new connection takes the place of a lingering one, else
 * of the oldest idle one, else of the slowest request; with every
 * connection busy writing, it is refused. */
static void test_max_connections(void)
{
	struct client *a = client_open(ports[SRV_CONNS]);
	struct client *b = client_open(ports[SRV_CONNS]);
	struct client *c, *d, *e, *f;
	struct response r;
	int i, ok = 0;

	/* Answers prove that both were accepted. */
	client_send(a, GET_HELLO);
	expect_response(a, HELLO_HEAD, HELLO);
	usleep(20000);
	client_send(b, GET_HELLO);
	expect_response(b, HELLO_HEAD, HELLO);
	/* a is the oldest idle one. */
	c = client_open(ports[SRV_CONNS]);
	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	expect_eof(a);
	client_free(a);

	/* c starts a request and trickles; the idle b goes before it. */
	client_send(c, "GET / HTTP/1.1\r\n");
	usleep(20000);
	d = client_open(ports[SRV_CONNS]);
	client_send(d, "GET / HTTP/1.1\r\n");
	expect_eof(b);
	client_free(b);
	/* Two slow ones: the one whose request began first goes. */
	usleep(20000);
	e = client_open(ports[SRV_CONNS]);
	client_send(e, GET_HELLO);
	expect_response(e, HELLO_HEAD, HELLO);
	expect_eof(c);
	client_free(c);

	/* Both busy writing answers nobody reads: a third is refused. */
	client_send(d, "\r\n");
	expect_response(d, HELLO_HEAD, HELLO);
	for (i = 0; i < 4; i++) {
		client_send(d, "GET /huge HTTP/1.1\r\n\r\n");
		client_send(e, "GET /huge HTTP/1.1\r\n\r\n");
	}
	usleep(100000);
	f = client_open(ports[SRV_CONNS]);
	expect_eof(f);
	client_free(f);
	client_free(d);
	client_free(e);

	/* A slot frees once the server has seen a connection go. */
	for (i = 0; i < 200 && !ok; i++) {
		c = client_open(ports[SRV_CONNS]);
		client_send(c, GET_HELLO);
		if (client_read(c, 0, &r) == 0) {
			CHECK_STR(r.head, HELLO_HEAD);
			response_free(&r);
			ok = 1;
		} else {
			usleep(10000);
		}
		client_free(c);
	}
	CHECK(ok);
}

/* Only HTTP/1.0 and 1.1 are spoken; http_parser takes any digit. */
static void test_http_version(void)
{
	static const char *versions[] = { "9.9", "1.2", "2.0", "0.9" };
	const char *head = "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: " PLAIN
			   "\r\nContent-Length: 27\r\nConnection: close\r\n\r\n";

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		char *req = fmt("GET / HTTP/%s\r\nHost: t\r\n\r\n", versions[i]);

		expect_refused(req, strlen(req), head, "HTTP Version Not Supported\n");
		free(req);
	}
}

/* A request has REQUEST_MS from its first byte to its last, however its
 * bytes trickle in (each header line used to restart the idle timer). */
static void test_request_timeout(void)
{
	struct client *c = client_open(ports[SRV_IDLE]);
	double start = now_ms(), elapsed;
	int i;

	client_send(c, "GET / HTTP/1.1\r\n");
	for (i = 0; i < 6; i++) {
		usleep(IDLE_MS * 1000 / 2);
		if (send(c->fd, "X-A: 1\r\n", 8, MSG_NOSIGNAL) != 8)
			break;
	}
	expect_response(c,
			"HTTP/1.1 408 Request Timeout\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 16\r\nConnection: close\r\n\r\n",
			"Request Timeout\n");
	elapsed = now_ms() - start;
	if (elapsed < REQUEST_MS * 0.7 || elapsed > REQUEST_MS * 10) {
		fprintf(stderr, "%s:%d: 408 after %.0f ms, expected about %d\n", __FILE__, __LINE__,
			elapsed, REQUEST_MS);
		exit(1);
	}
	client_free(c);
}

/* A client that reads nothing of its answers is dropped after WRITE_MS:
 * it gets what the kernel buffers held, then the end, not all 8 MiB. */
static void test_write_timeout(void)
{
	struct client *c = client_open_stalled(ports[SRV_IDLE]);
	size_t got;
	int i;

	for (i = 0; i < 4; i++)
		client_send(c, "GET /huge HTTP/1.1\r\n\r\n");
	usleep(WRITE_MS * 4 * 1000);
	got = drain_all(c);
	CHECK(got > 0 && got < 4 * (size_t)HUGE_BYTES);
	client_free(c);
}

/* Deferred answers come in order with the requests pipelined behind them,
 * and an answer whose client left is dropped. */
static void test_deferred(void)
{
	struct client *c = client_open(ports[SRV_MAIN]);

	client_send(c, "GET /later HTTP/1.1\r\n\r\n" GET_HELLO "HEAD /later HTTP/1.1\r\n\r\n"
		       "GET /later HTTP/1.1\r\nConnection: close\r\n\r\n");
	expect_plain(c, "later\n");
	expect_response(c, HELLO_HEAD, HELLO);
	expect_response_len(
	    c, 1, "HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: 6\r\n\r\n", NULL,
	    0);
	expect_response(c,
			"HTTP/1.1 200 OK\r\nContent-Type: " PLAIN
			"\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
			"later\n");
	expect_eof(c);
	client_free(c);

	c = client_open(ports[SRV_MAIN]);
	client_send(c, "GET /later HTTP/1.1\r\n\r\n");
	client_free(c);
	usleep(100000);
	/* The server lives on. */
	c = client_open(ports[SRV_MAIN]);
	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	client_free(c);
}

/* One body sent by several responses, plain and gzipped. */
static void test_shared_body(void)
{
	struct client *a = client_open(ports[SRV_MAIN]), *b = client_open(ports[SRV_MAIN]);
	char *head =
	    fmt("HTTP/1.1 200 OK\r\nContent-Type: " EXPOSITION "\r\nContent-Length: %zu\r\n\r\n",
		big_len);
	struct response r;
	char *plain;
	size_t plain_len;

	client_send(a, "GET /shared HTTP/1.1\r\n\r\nGET /shared HTTP/1.1\r\n\r\n");
	client_send(b, "GET /shared HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n");
	expect_response_len(a, 0, head, big_body, big_len);
	expect_response_len(a, 0, head, big_body, big_len);
	CHECK_INT(client_read(b, 0, &r), 0);
	CHECK(strstr(r.head, "\r\nContent-Encoding: gzip\r\n"));
	inflate_all(r.body, r.body_len, &plain, &plain_len);
	CHECK_MEM(plain, plain_len, big_body, big_len);
	free(plain);
	response_free(&r);
	free(head);
	client_free(a);
	client_free(b);
}

/* Over max_queued_bytes, a client that has read nothing for a second is
 * dropped to make room for one that reads. */
static void test_queued_bound(void)
{
	struct client *stalled = client_open_stalled(ports[SRV_QUEUE]);
	struct client *reader;
	char *head = fmt("HTTP/1.1 200 OK\r\nContent-Type: " PLAIN "\r\nContent-Length: %d\r\n\r\n",
			 HUGE_BYTES);
	size_t got;
	int i;

	for (i = 0; i < 4; i++)
		client_send(stalled, "GET /huge HTTP/1.1\r\n\r\n");
	usleep(1300 * 1000);
	reader = client_open(ports[SRV_QUEUE]);
	client_send(reader, "GET /huge HTTP/1.1\r\n\r\n");
	expect_response_len(reader, 0, head, huge_body, HUGE_BYTES);
	got = drain_all(stalled);
	CHECK(got > 0 && got < 4 * (size_t)HUGE_BYTES);
	client_free(stalled);
	client_free(reader);
	free(head);
}

/* A socket made elsewhere, as systemd hands one over, serves as well. */
static void test_given_socket(void)
{
	struct client *c = client_open(ports[SRV_FD]);

	client_send(c, GET_HELLO);
	expect_response(c, HELLO_HEAD, HELLO);
	client_free(c);
}

static struct client *left_open;

static void *client_main(void *arg)
{
	struct client *stuck;
	int i;

	test_get();
	test_keep_alive();
	test_http10();
	test_pipelining();
	test_pipelining_backpressure();
	test_connection_close();
	test_upgrade();
	test_abandoned_pipeline();
	test_half_close();
	test_head();
	test_handler_statuses();
	test_garbage();
	test_header_limits();
	test_body_limits();
	test_gzip();
	test_trickle();
	test_accept();
	test_idle_timeout();
	test_max_connections();
	test_http_version();
	test_request_timeout();
	test_write_timeout();
	test_deferred();
	test_shared_body();
	test_queued_bound();
	test_given_socket();

	/* Closing the servers closes the connections they still hold, idle
	 * ones and ones with answers stuck in the queue. */
	left_open = client_open(ports[SRV_MAIN]);
	client_send(left_open, GET_HELLO);
	expect_response(left_open, HELLO_HEAD, HELLO);
	stuck = client_open(ports[SRV_MAIN]);
	for (i = 0; i < 4; i++)
		client_send(stuck, "GET /huge HTTP/1.1\r\n\r\n");
	usleep(50000);
	uv_async_send(&done_async);
	expect_eof(left_open);
	client_free(left_open);
	/* What was already in the socket arrives, then the end. */
	while (client_fill(stuck) > 0)
		stuck->len = 0;
	client_free(stuck);
	return NULL;
}

static void walk_handle(uv_handle_t *handle, void *arg)
{
	fprintf(stderr, "leaked handle: %s%s\n", uv_handle_type_name(handle->type),
		uv_is_closing(handle) ? " (closing)" : "");
}

int main(void)
{
	uv_loop_t loop;
	pthread_t client;
	int r;

	signal(SIGPIPE, SIG_IGN);
	/* A hang is a failure too. */
	alarm(300);
	make_bodies();
	CHECK(uv_loop_init(&loop) == 0);

	test_start_errors(&loop);
	start(&loop, SRV_MAIN, "127.0.0.1:0", &main_limits);
	start(&loop, SRV_IDLE, "127.0.0.1:0", &idle_limits);
	start(&loop, SRV_CONNS, "127.0.0.1:0", &conn_limits);
	start(&loop, SRV_QUEUE, "127.0.0.1:0", &queue_limits);
	start_on(&loop, SRV_FD, make_listening_socket(), NULL);
	CHECK_INT(elx_http_server_port(NULL), -1);

	CHECK(uv_async_init(&loop, &done_async, on_done) == 0);
	CHECK(uv_timer_init(&loop, &later_timer) == 0);
	CHECK(pthread_create(&client, NULL, client_main, NULL) == 0);
	CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
	CHECK(pthread_join(client, NULL) == 0);
	r = uv_loop_close(&loop);
	if (r != 0) {
		uv_walk(&loop, walk_handle, NULL);
		CHECK_INT(r, 0);
	}
	free(big_body);
	free(huge_body);
	printf("test_http: all passed\n");
	return 0;
}
