/* libFuzzer target: the TLS path of the exporter's HTTP server (core/tls.c
 * and its place in core/http.c). The server of fuzz_server.c serves TLS
 * with a certificate made by the openssl command at start. The first byte
 * of an input says what the rest is:
 * - high bit clear: raw bytes from the client, the handshake's and
 *   whatever follows (OpenSSL's record and handshake parsing, failed
 *   handshakes, plain HTTP to a TLS port), cut into writes as http_fuzz
 *   cuts them (low four bits);
 * - high bit set: an OpenSSL client completes a real handshake first, then
 *   sends the rest as HTTP inside TLS, in writes of that size, and reads
 *   every answer: pipelining, pauses, shared and large bodies encrypted as
 *   the client reads, answers given later, close_notify.
 * Each input ends when the server has freed the connection; every response
 * must be done with by then. ASan and UBSan watch all of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fuzz_server.h"
#include "tls.h"

static SSL_CTX *client_ctx;

static void make_certificate(char *dir, size_t size)
{
	char cmd[512];

	snprintf(dir, size, "/tmp/elx-tls-fuzz-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-days 2 -subj /CN=localhost -keyout key.pem -out cert.pem 2>/dev/null",
		 dir);
	if (system(cmd) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[64], cert[96], key[96], cmd[128], *err = NULL;
	struct elx_tls_settings s = { .cert_file = cert, .key_file = key };
	struct elx_tls_ctx *ctx;

	make_certificate(dir, sizeof(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (elx_tls_ctx_new(&s, &ctx, &err) != 0) {
		fprintf(stderr, "tls_fuzz: %s\n", err);
		abort();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
	fuzz_server_start(ctx);
	elx_tls_ctx_unref(ctx);
	client_ctx = SSL_CTX_new(TLS_client_method());
	if (!client_ctx)
		abort();
	return 0;
}

/* Runs the loop once and takes what the server sent (decrypted when `ssl`);
 * 1 once the server closed. */
static int step(int fd, SSL *ssl)
{
	char buf[65536];
	int n;

	uv_run(&fuzz_loop, UV_RUN_NOWAIT);
	if (!ssl) {
		ssize_t r;

		while ((r = recv(fd, buf, sizeof(buf), 0)) > 0)
			;
		return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
	}
	while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0)
		;
	n = SSL_get_error(ssl, n);
	ERR_clear_error();
	return n != SSL_ERROR_WANT_READ && n != SSL_ERROR_WANT_WRITE;
}

static void wait_until_freed(int fd, SSL *ssl, int ended)
{
	int rounds = 0;

	while ((!ended || elx_http_server_connections(fuzz_srv)) && ++rounds < MAX_ROUNDS) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ended |= step(fd, ssl);
		/* Once the server closed, the socket is always readable: just wait. */
		if (!ended)
			poll(&p, 1, 1);
		else if (elx_http_server_connections(fuzz_srv))
			poll(NULL, 0, 1);
	}
	uv_run(&fuzz_loop, UV_RUN_NOWAIT);
	if (rounds == MAX_ROUNDS || fuzz_responses_open()) {
		fprintf(stderr, "tls_fuzz: the server %s\n",
			rounds == MAX_ROUNDS ? "did not finish with the connection"
					     : "never finished a response");
		abort();
	}
}

/* Sends `size` bytes `chunk` at a time (through TLS when `ssl`). */
static int send_all(int fd, SSL *ssl, const uint8_t *data, size_t size, size_t chunk)
{
	size_t off = 0;
	int ended = 0;

	while (off < size && !ended) {
		size_t n = size - off < chunk ? size - off : chunk;
		int w = ssl ? SSL_write(ssl, data + off, (int)n)
			    : (int)send(fd, data + off, n, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else if (ssl ? SSL_get_error(ssl, w) != SSL_ERROR_WANT_WRITE : errno != EAGAIN)
			break;
		ERR_clear_error();
		ended = step(fd, ssl);
	}
	return ended;
}

/* A real handshake with the server; 0 when it is done. */
static int handshake(SSL *ssl, int fd)
{
	for (int rounds = 0; rounds < MAX_ROUNDS; rounds++) {
		int r = SSL_connect(ssl), e;

		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		uv_run(&fuzz_loop, UV_RUN_NOWAIT);
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SSL *ssl = NULL;
	size_t chunk;
	int fd, ended;

	if (size < 1)
		return 0;
	chunk = data[0] % 16 ? data[0] % 16 : size - 1 + !(size - 1);
	fd = fuzz_connect();
	if (data[0] & 0x80) {
		ssl = SSL_new(client_ctx);
		if (!ssl)
			abort();
		SSL_set_fd(ssl, fd);
		if (handshake(ssl, fd) < 0) {
			fprintf(stderr, "tls_fuzz: the handshake failed\n");
			abort();
		}
	}
	ended = send_all(fd, ssl, data + 1, size - 1, chunk);
	if (ssl && !ended)
		SSL_shutdown(ssl);
	ERR_clear_error();
	shutdown(fd, SHUT_WR);
	wait_until_freed(fd, ssl, ended);
	SSL_free(ssl);
	close(fd);
	return 0;
}
