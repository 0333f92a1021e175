/* libFuzzer target: bytes a client sends, into the exporter's HTTP server.
 * A real server (core/http.c) listens on a loopback port, on a libuv loop
 * in this thread; each input goes through a real client socket, then the
 * client half-closes and the loop runs until the server has answered and
 * freed the connection. The first byte of an input says how the rest is
 * cut into writes: 0 mod 16 sends it whole, n sends n bytes at a time with
 * the loop run in between, so requests also arrive in pieces. The handler
 * is fuzz_server.c's; every response it gives must be done with once the
 * connection is. ASan and UBSan watch all of it. */
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

#include "fuzz_server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_server_start(NULL);
	return 0;
}

/* Runs the loop once and reads what the server sent; 1 at the end of it. */
static int step(int fd)
{
	char buf[65536];
	ssize_t n;

	uv_run(&fuzz_loop, UV_RUN_NOWAIT);
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
	fd = fuzz_connect();
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
	while ((!ended || elx_http_server_connections(fuzz_srv)) && ++rounds < MAX_ROUNDS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ended |= step(fd);
		/* Once the server closed, the socket is always readable: just wait. */
		if (!ended)
			poll(&p, 1, 1);
		else if (elx_http_server_connections(fuzz_srv))
			poll(NULL, 0, 1);
	}
	close(fd);
	if (rounds == MAX_ROUNDS) {
		fprintf(stderr, "http_fuzz: the server did not finish with the connection\n");
		abort();
	}
	/* Answers given later whose connection went are dropped now. */
	uv_run(&fuzz_loop, UV_RUN_NOWAIT);
	if (fuzz_responses_open()) {
		fprintf(stderr, "http_fuzz: a response was never done with\n");
		abort();
	}
	return 0;
}
