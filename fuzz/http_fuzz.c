/* libFuzzer target: bytes a client sends, into the exporter's HTTP server.
 * A real server (core/http.c) listens on a loopback port, on a libuv loop
 * in this thread; each input goes through a real client socket, then the
 * client half-closes and the loop runs until the server has answered and
 * freed the connection. The first byte of an input says how the rest is
 * cut into writes: 0 mod 16 sends it whole, n sends n bytes at a time with
 * the loop run in between, so requests also arrive in pieces. The handler
 * answers the way the exporter's routes do: small and large bodies,
 * bodies shared between responses, answers given later, statuses with
 * Allow. ASan and UBSan watch all of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "http.h"
#include "listen.h"

/* A hang is a finding: the loop must finish an input in this many rounds. */
#define MAX_ROUNDS 200000

static uv_loop_t loop;
static struct elx_http_server *srv;
static int port;
static struct elx_http_body *shared;
static uv_timer_t later_timer;
static struct elx_http_deferred *later[8];
static int nlater;

static void text(struct elx_http_response *resp, int status, const char *body)
{
	resp->status = status;
	resp->body = strdup(body);
	resp->body_len = resp->body ? strlen(body) : 0;
}

static void on_later(uv_timer_t *timer)
{
	for (int i = 0; i < nlater; i++) {
		struct elx_http_response resp = { 0 };

		text(&resp, 200, "later\n");
		elx_http_answer(later[i], &resp);
	}
	nlater = 0;
}

static void handler(void *ctx, const struct elx_http_request *req, struct elx_http_response *resp)
{
	if (!strcmp(req->path, "/later") && nlater < 8 && (later[nlater] = elx_http_defer(req))) {
		nlater++;
		uv_timer_start(&later_timer, on_later, 0, 0);
	} else if (!strcmp(req->path, "/shared")) {
		resp->shared = elx_http_body_ref(shared);
	} else if (!strcmp(req->path, "/")) {
		text(resp, 200, "hello\n");
	} else if (!strcmp(req->path, "/echo")) {
		resp->body_len =
		    (size_t)asprintf(&resp->body, "%s %s %s %d %.*s", req->method, req->path,
				     req->query, req->accept_gzip, (int)req->body_len, req->body);
	} else if (strcmp(req->method, "GET")) {
		resp->allow = "GET";
		text(resp, 405, "no\n");
	} else {
		text(resp, 404, "not found\n");
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const struct elx_http_limits limits = {
		.max_header_bytes = 2048,
		.max_headers = 16,
		.max_body_bytes = 2048,
		.max_connections = 4,
		.max_queued_bytes = 1 << 20,
	};
	const char *msg = NULL;
	char *body = malloc(100000);
	int fd;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 100000; i++)
		body[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 7);
	shared = elx_http_body_new(body, 100000);
	uv_loop_init(&loop);
	uv_timer_init(&loop, &later_timer);
	fd = elx_listen_open("127.0.0.1:0", &msg);
	if (fd < 0 || elx_http_server_start(&loop, fd, &limits, handler, NULL, &srv, &msg) < 0) {
		fprintf(stderr, "http_fuzz: cannot serve: %s\n", msg ? msg : "?");
		abort();
	}
	port = elx_http_server_port(srv);
	return 0;
}

static int client_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/* Runs the loop once and reads what the server sent; 1 at the end of it. */
static int step(int fd)
{
	char buf[65536];
	ssize_t n;

	uv_run(&loop, UV_RUN_NOWAIT);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t chunk, off = 0;
	int fd, ended = 0, rounds = 0;

	if (size < 1)
		return 0;
	chunk = data[0] % 16 ? data[0] % 16 : size;
	data++;
	size--;
	fd = client_connect();
	while (off < size && !ended) {
		size_t n = size - off < chunk ? size - off : chunk;
		ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else if (errno != EAGAIN)
			break;
		ended = step(fd);
	}
	shutdown(fd, SHUT_WR);
	/* Until the server has answered, closed and freed the connection. */
	while ((!ended || elx_http_server_connections(srv)) && ++rounds < MAX_ROUNDS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ended |= step(fd);
		if (!ended || elx_http_server_connections(srv))
			poll(&p, 1, 1);
	}
	close(fd);
	if (rounds == MAX_ROUNDS) {
		fprintf(stderr, "http_fuzz: the server did not finish with the connection\n");
		abort();
	}
	return 0;
}
