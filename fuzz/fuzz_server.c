/* The fuzzers' server: see fuzz_server.h. */
#define _GNU_SOURCE
#include "fuzz_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

uv_loop_t fuzz_loop;
struct elx_http_server *fuzz_srv;

static int port;
static struct elx_http_body *shared;
static uv_timer_t later_timer;
static struct elx_http_deferred *later[8];
static int nlater;
static int open_responses;

static void done(void *arg)
{
	open_responses--;
}

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
		resp->headers = "WWW-Authenticate: Basic\r\n";
	} else if (!strcmp(req->path, "/echo")) {
		resp->body_len = (size_t)asprintf(
		    &resp->body, "%s %s %s %d %s %s %.*s", req->method, req->path, req->query,
		    req->accept_gzip, req->authorization ? req->authorization : "-",
		    req->scrape_timeout ? req->scrape_timeout : "-", (int)req->body_len, req->body);
	} else if (strcmp(req->method, "GET")) {
		resp->allow = "GET";
		text(resp, 405, "no\n");
	} else {
		text(resp, 404, "not found\n");
	}
	open_responses++;
	resp->on_done = done;
}

void fuzz_server_start(struct elx_tls_ctx *tls)
{
	static const struct elx_http_limits limits = {
		.max_header_bytes = 2048,
		.max_headers = 16,
		.max_body_bytes = 2048,
		.max_connections = 4,
		.max_queued_bytes = 1 << 20,
		.request_timeout_ms = 2000,
	};
	const char *msg = NULL;
	char *body = malloc(100000);
	int fd;

	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 100000; i++)
		body[i] = i % 50 == 49 ? '\n' : (char)('a' + i % 7);
	shared = elx_http_body_new(body, 100000);
	uv_loop_init(&fuzz_loop);
	uv_timer_init(&fuzz_loop, &later_timer);
	fd = elx_listen_open("127.0.0.1:0", &msg);
	if (fd < 0 ||
	    elx_http_server_start(&fuzz_loop, fd, &limits, handler, NULL, &fuzz_srv, &msg) < 0) {
		fprintf(stderr, "fuzz: cannot serve: %s\n", msg ? msg : "?");
		abort();
	}
	elx_http_server_set_tls(fuzz_srv, tls);
	elx_http_server_set_headers(fuzz_srv, "X-Frame-Options: deny\r\n");
	port = elx_http_server_port(fuzz_srv);
}

int fuzz_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		abort();
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

int fuzz_responses_open(void)
{
	return open_responses;
}
