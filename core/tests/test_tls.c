/* Tests of TLS on the HTTP server (core/tls.c through core/http.c): real
 * certificates made by the openssl command, the server on the main thread's
 * libuv loop, OpenSSL clients in a second thread. Also the server's other
 * additions of the web surface: header lines on every response, the
 * request headers it keeps, more than one listening socket, and on_done. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "http.h"
#include "listen.h"
#include "tls.h"
#include "check.h"

#define HUGE_BYTES (2 * 1024 * 1024)
#define REQUEST_MS 400
#define WRITE_MS   400
#define RECV_SECS  10
#define HEADERS	   "X-Frame-Options: deny\r\nX-Content-Type-Options: nosniff\r\n"

static char dir[64];
static char *huge_body;
static int done_calls;

static char *path_of(const char *name)
{
	char *p;

	CHECK(asprintf(&p, "%s/%s", dir, name) >= 0);
	return p;
}

/* ---------------------------------------------------------------- certificates */

/* A CA, a server certificate for localhost and 127.0.0.1 signed by it (and
 * another one, for rotation), a client certificate it signed with three
 * SANs, and a self-signed client certificate. */
static void make_certificates(void)
{
	static const char script[] =
	    "set -e; cd %s\n"
	    "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1 "
	    "2>/dev/null; }\n"
	    "key ca.key; openssl req -x509 -new -key ca.key -subj /CN=elx-test-ca -days 2 -out "
	    "ca.pem\n"
	    "sign() { key $1.key; openssl req -new -key $1.key -subj /CN=$2 -out $1.csr; "
	    "printf 'subjectAltName=%%s\\n' \"$3\" >$1.ext; openssl x509 -req -in $1.csr -CA "
	    "ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $1.ext -out $1.pem "
	    "2>/dev/null; }\n"
	    "sign server server-one DNS:localhost,IP:127.0.0.1\n"
	    "sign server2 server-two DNS:localhost,IP:127.0.0.1\n"
	    "sign client prometheus DNS:client.example,email:ops@example.com,"
	    "URI:spiffe://example/prom\n"
	    "key self.key; openssl req -x509 -new -key self.key -subj /CN=intruder -days 2 "
	    "-addext subjectAltName=DNS:client.example -out self.pem\n"
	    "cat server.pem > chain.pem; cat ca.pem >> chain.pem\n";
	char *cmd;

	snprintf(dir, sizeof(dir), "/tmp/elx-test-tls-XXXXXX");
	CHECK(mkdtemp(dir));
	CHECK(asprintf(&cmd, script, dir) >= 0);
	CHECK_INT(system(cmd), 0);
	free(cmd);
}

static struct elx_tls_ctx *server_ctx(const char *cert, int client_auth, const char *const *sans,
				      size_t nsans, int min_version)
{
	char *cert_file = path_of(cert), *key = NULL, *ca = path_of("ca.pem"), *err = NULL;
	struct elx_tls_settings s = {
		.cert_file = cert_file,
		.client_auth = client_auth,
		.allowed_sans = sans,
		.nallowed_sans = nsans,
		.min_version = min_version,
		.prefer_server_ciphers = 1,
	};
	struct elx_tls_ctx *ctx = NULL;

	CHECK(asprintf(&key, "%s/%.*s.key", dir, (int)(strchr(cert, '.') - cert), cert) >= 0);
	if (!strcmp(cert, "chain.pem")) {
		free(key);
		key = path_of("server.key");
	}
	s.key_file = key;
	if (client_auth)
		s.client_ca_file = ca;
	if (elx_tls_ctx_new(&s, &ctx, &err) != 0) {
		fprintf(stderr, "elx_tls_ctx_new: %s\n", err);
		exit(1);
	}
	free(cert_file);
	free(key);
	free(ca);
	return ctx;
}

/* What elx_tls_ctx_new says of a broken setting. */
static void expect_ctx_error(const struct elx_tls_settings *s, const char *expected)
{
	struct elx_tls_ctx *ctx = (void *)1;
	char *err = NULL;

	CHECK(elx_tls_ctx_new(s, &ctx, &err) < 0);
	CHECK(ctx == NULL);
	CHECK_STR(err, expected);
	free(err);
}

static void test_ctx_errors(void)
{
	char *server = path_of("server.pem"), *key = path_of("server.key"),
	     *other = path_of("client.key");
	char *missing = path_of("missing.pem"), *expected;
	struct elx_tls_settings s = { .cert_file = missing, .key_file = key };

	CHECK(asprintf(&expected, "cert_file: %s: No such file or directory", missing) >= 0);
	expect_ctx_error(&s, expected);
	free(expected);
	s.cert_file = server;
	s.key_file = other;
	CHECK(asprintf(&expected, "key_file: %s: the key does not match the certificate", other) >=
	      0);
	expect_ctx_error(&s, expected);
	free(expected);
	s = (struct elx_tls_settings){ .cert = "not a certificate", .key_file = key };
	expect_ctx_error(&s, "cert: no PEM certificate in it");
	s = (struct elx_tls_settings){ .cert_file = server, .key = "nor a key" };
	expect_ctx_error(&s, "key: no PEM private key in it");
	s = (struct elx_tls_settings){ .cert_file = server,
				       .key_file = key,
				       .client_ca = "x",
				       .client_auth = ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT };
	expect_ctx_error(&s, "client_ca: no PEM certificate in it");
	s = (struct elx_tls_settings){ .cert_file = server, .key_file = key, .ciphers = "NOPE" };
	expect_ctx_error(&s, "cipher_suites: no cipher match");
	free(server);
	free(key);
	free(other);
	free(missing);
}

/* ---------------------------------------------------------------- the server */

static void on_response_done(void *arg)
{
	__atomic_fetch_add((int *)arg, 1, __ATOMIC_SEQ_CST);
}

static void handler(void *ctx, const struct elx_http_request *req, struct elx_http_response *resp)
{
	if (!strcmp(req->path, "/huge")) {
		resp->body = malloc(HUGE_BYTES);
		CHECK(resp->body);
		memcpy(resp->body, huge_body, HUGE_BYTES);
		resp->body_len = HUGE_BYTES;
	} else if (!strcmp(req->path, "/echo")) {
		resp->body_len =
		    (size_t)asprintf(&resp->body, "authorization=%s timeout=%s",
				     req->authorization ? req->authorization : "(none)",
				     req->scrape_timeout ? req->scrape_timeout : "(none)");
	} else {
		resp->body = strdup("hello\n");
		resp->body_len = 6;
		resp->headers = "WWW-Authenticate: Basic\r\n";
	}
	resp->on_done = on_response_done;
	resp->on_done_arg = &done_calls;
}

enum { SRV_PLAIN_TLS, SRV_MTLS, SRV_SANS, SRV_ANY, SRV_OLD, SRV_COUNT };

static struct elx_http_server *servers[SRV_COUNT];
static int ports[SRV_COUNT];
static int second_port; /* SRV_PLAIN_TLS's second listener */
static uv_async_t done_async, swap_async;
static struct elx_tls_ctx *rotated;

static void on_done(uv_async_t *async)
{
	for (int i = 0; i < SRV_COUNT; i++)
		elx_http_server_close(servers[i]);
	uv_close((uv_handle_t *)&done_async, NULL);
	uv_close((uv_handle_t *)&swap_async, NULL);
}

/* Rotation: the server takes another certificate for new connections. */
static void on_swap(uv_async_t *async)
{
	elx_http_server_set_tls(servers[SRV_PLAIN_TLS], rotated);
}

static int listen_any(void)
{
	const char *msg = NULL;
	int fd = elx_listen_open("127.0.0.1:0", &msg);

	CHECK(fd >= 0);
	return fd;
}

static void start(uv_loop_t *loop, int which, struct elx_tls_ctx *ctx)
{
	static const struct elx_http_limits limits = {
		.max_header_bytes = 8192,
		.max_headers = 64,
		.max_body_bytes = 65536,
		.max_connections = 64,
		.idle_timeout_ms = 30000,
		.request_timeout_ms = REQUEST_MS,
		.write_timeout_ms = WRITE_MS,
	};
	const char *msg = NULL;

	CHECK_INT(elx_http_server_start(loop, listen_any(), &limits, handler, NULL, &servers[which],
					&msg),
		  0);
	ports[which] = elx_http_server_port(servers[which]);
	elx_http_server_set_tls(servers[which], ctx);
	elx_tls_ctx_unref(ctx);
	CHECK_INT(elx_http_server_set_headers(servers[which], HEADERS), 0);
}

/* ---------------------------------------------------------------- the clients */

/* A small receive buffer (set before connecting, which fixes the window's
 * scale) for the clients that read nothing: 0 for the default. */
static int rcvbuf;

static int tcp_connect(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = RECV_SECS };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0);
	if (rcvbuf)
		CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	CHECK(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	return fd;
}

struct tls_client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
};

/* A client with the client certificate `cert` (NULL: none), speaking only
 * `version` (0: any), trusting the test CA. Returns 0, or -1 when the
 * handshake fails. */
static int tls_open(struct tls_client *c, int port, const char *cert, int version)
{
	char *ca = path_of("ca.pem");

	memset(c, 0, sizeof(*c));
	c->ctx = SSL_CTX_new(TLS_client_method());
	CHECK(c->ctx);
	CHECK(SSL_CTX_load_verify_locations(c->ctx, ca, NULL) == 1);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (version) {
		SSL_CTX_set_min_proto_version(c->ctx, version);
		SSL_CTX_set_max_proto_version(c->ctx, version);
		SSL_CTX_set_security_level(c->ctx, 0);
	}
	if (cert) {
		char *pem = path_of(cert), *key;

		CHECK(asprintf(&key, "%s/%.*s.key", dir, (int)(strchr(cert, '.') - cert), cert) >=
		      0);
		CHECK(SSL_CTX_use_certificate_file(c->ctx, pem, SSL_FILETYPE_PEM) == 1);
		CHECK(SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) == 1);
		free(pem);
		free(key);
	}
	free(ca);
	c->fd = tcp_connect(port);
	c->ssl = SSL_new(c->ctx);
	CHECK(c->ssl);
	SSL_set_fd(c->ssl, c->fd);
	SSL_set_tlsext_host_name(c->ssl, "localhost");
	CHECK(SSL_set1_host(c->ssl, "localhost") == 1);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

static void tls_close(struct tls_client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
}

static void tls_send(struct tls_client *c, const char *s)
{
	CHECK(SSL_write(c->ssl, s, (int)strlen(s)) == (int)strlen(s));
}

/* One response: its head into *head and its body (malloc'd); -1 when the
 * connection fails or ends first. */
static int tls_read(struct tls_client *c, char **head, char **body, size_t *body_len)
{
	size_t cap = 65536, len = 0, need = 0, head_len = 0;
	char *buf = malloc(cap + 1), *end, *cl;

	CHECK(buf);
	for (;;) {
		int n;

		buf[len] = '\0';
		if (!head_len && (end = strstr(buf, "\r\n\r\n"))) {
			head_len = (size_t)(end - buf) + 4;
			cl = strstr(buf, "\r\nContent-Length: ");
			need = head_len + (cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0);
		}
		if (head_len && len >= need)
			break;
		if (cap - len < 16384) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			CHECK(buf);
		}
		n = SSL_read(c->ssl, buf + len, (int)(cap - len));
		if (n <= 0) {
			ERR_clear_error();
			free(buf);
			return -1;
		}
		len += (size_t)n;
	}
	*head = strndup(buf, head_len);
	*body_len = need - head_len;
	*body = malloc(*body_len + 1);
	CHECK(*head && *body);
	memcpy(*body, buf + head_len, *body_len);
	(*body)[*body_len] = '\0';
	CHECK_INT(len, need); /* nothing was sent that was not asked for */
	free(buf);
	return 0;
}

/* GET `path` on a new connection; the body, or NULL when it fails. */
static char *tls_get(int port, const char *cert, const char *path)
{
	struct tls_client c;
	char *req, *head = NULL, *body = NULL;
	size_t len;

	if (tls_open(&c, port, cert, 0) < 0) {
		tls_close(&c);
		return NULL;
	}
	CHECK(asprintf(&req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path) >= 0);
	tls_send(&c, req);
	if (tls_read(&c, &head, &body, &len) < 0)
		body = NULL;
	free(req);
	free(head);
	tls_close(&c);
	return body;
}

/* ---------------------------------------------------------------- the tests */

static void test_get(void)
{
	struct tls_client c;
	char *head, *body;
	size_t len;

	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, 0), 0);
	/* Pipelined: three requests at once, three answers in order. */
	tls_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n"
		     "Authorization: Basic dTpw\r\nX-Prometheus-Scrape-Timeout-Seconds: 2.5\r\n"
		     "Authorization: Basic c2Vjb25k\r\n\r\nGET /echo HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK_INT(tls_read(&c, &head, &body, &len), 0);
	CHECK_STR(head, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
			"Content-Length: 6\r\nWWW-Authenticate: Basic\r\n" HEADERS "\r\n");
	CHECK_STR(body, "hello\n");
	free(head);
	free(body);
	CHECK_INT(tls_read(&c, &head, &body, &len), 0);
	CHECK_STR(body, "authorization=Basic dTpw timeout=2.5");
	free(head);
	free(body);
	CHECK_INT(tls_read(&c, &head, &body, &len), 0);
	CHECK_STR(body, "authorization=(none) timeout=(none)");
	free(head);
	free(body);
	/* A body bigger than what the server encrypts ahead of the client. */
	tls_send(&c, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
	CHECK_INT(tls_read(&c, &head, &body, &len), 0);
	CHECK_MEM(body, len, huge_body, HUGE_BYTES);
	free(head);
	free(body);
	tls_close(&c);
	printf("  TLS: pipelined requests, kept headers, a 2 MiB body\n");
}

static void test_second_listener(void)
{
	char *body = tls_get(second_port, NULL, "/");

	CHECK_STR(body, "hello\n");
	free(body);
}

/* A client that speaks plain HTTP to a TLS port is told so, in plain text. */
static void test_plain_http(void)
{
	int fd = tcp_connect(ports[SRV_PLAIN_TLS]);
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n";
	char buf[512];
	size_t len = 0;
	ssize_t n;

	CHECK(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1);
	while ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
		len += (size_t)n;
	CHECK_INT(n, 0); /* a FIN after the answer */
	buf[len] = '\0';
	CHECK_STR(buf, "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
		       "Content-Length: 38\r\nConnection: close\r\n\r\n"
		       "400 this server speaks TLS: use https\n");
	close(fd);
}

/* A client that connects and says nothing is dropped at the request
 * timeout, without an answer (there is no TLS to answer in). */
static void test_silent_client(void)
{
	int fd = tcp_connect(ports[SRV_PLAIN_TLS]);
	struct timespec t0, t1;
	char c;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(recv(fd, &c, 1, 0), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK(ms >= REQUEST_MS - 20 && ms < REQUEST_MS + 2000);
	close(fd);
}

/* A client that reads nothing of four 2 MiB answers (more than the kernel's
 * socket buffers hold) is dropped at the write timeout. */
static void test_stalled_reader(void)
{
	struct tls_client c;
	char buf[4096];
	int n, total = 0;

	rcvbuf = 16384;
	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, 0), 0);
	rcvbuf = 0;
	for (int i = 0; i < 4; i++)
		tls_send(&c, "GET /huge HTTP/1.1\r\nHost: t\r\n\r\n");
	usleep(WRITE_MS * 4 * 1000);
	/* What the kernel buffered arrives, then the end. */
	while ((n = SSL_read(c.ssl, buf, sizeof(buf))) > 0)
		total += n;
	ERR_clear_error();
	CHECK(total > 0 && total < 4 * HUGE_BYTES);
	tls_close(&c);
	printf("  TLS: a stalled reader got %d of %d bytes before it was dropped\n", total,
	       4 * HUGE_BYTES);
}

static void test_versions(void)
{
	struct tls_client c;

	/* TLS 1.2 at least, unless the config says otherwise. */
	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, TLS1_1_VERSION), -1);
	tls_close(&c);
	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, TLS1_2_VERSION), 0);
	tls_close(&c);
	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, TLS1_3_VERSION), 0);
	tls_close(&c);
	CHECK_INT(tls_open(&c, ports[SRV_OLD], NULL, TLS1_1_VERSION), 0);
	CHECK_STR(SSL_get_version(c.ssl), "TLSv1.1");
	tls_close(&c);
}

static void test_client_certificates(void)
{
	char *body;

	/* RequireAndVerifyClientCert: the CA's client certificate only. */
	CHECK(tls_get(ports[SRV_MTLS], NULL, "/") == NULL);
	CHECK(tls_get(ports[SRV_MTLS], "self.pem", "/") == NULL);
	body = tls_get(ports[SRV_MTLS], "client.pem", "/");
	CHECK_STR(body, "hello\n");
	free(body);
	/* client_allowed_sans: one of the certificate's SANs must be listed. */
	body = tls_get(ports[SRV_SANS], "client.pem", "/");
	CHECK_STR(body, "hello\n");
	free(body);
	CHECK(tls_get(ports[SRV_ANY], "client.pem", "/") == NULL);
	/* RequireAnyClientCert: any certificate, but one. */
	CHECK(tls_get(ports[SRV_ANY], NULL, "/") == NULL);
}

static void test_rotation(void)
{
	struct tls_client c;
	char cn[64];

	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, 0), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get0_peer_certificate(c.ssl)),
				  NID_commonName, cn, sizeof(cn));
	CHECK_STR(cn, "server-one");
	uv_async_send(&swap_async);
	usleep(100000);
	/* The connection made before keeps its certificate and works on. */
	tls_send(&c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
	{
		char *head, *body;
		size_t len;

		CHECK_INT(tls_read(&c, &head, &body, &len), 0);
		CHECK_STR(body, "hello\n");
		free(head);
		free(body);
	}
	tls_close(&c);
	CHECK_INT(tls_open(&c, ports[SRV_PLAIN_TLS], NULL, 0), 0);
	X509_NAME_get_text_by_NID(X509_get_subject_name(SSL_get0_peer_certificate(c.ssl)),
				  NID_commonName, cn, sizeof(cn));
	CHECK_STR(cn, "server-two");
	tls_close(&c);
}

static void *client_thread(void *arg)
{
	int before;

	test_get();
	test_second_listener();
	test_plain_http();
	test_silent_client();
	test_stalled_reader();
	test_versions();
	test_client_certificates();
	test_rotation();
	/* Every response was done with once: written, or dropped with its
	 * connection. */
	before = __atomic_load_n(&done_calls, __ATOMIC_SEQ_CST);
	free(tls_get(ports[SRV_PLAIN_TLS], NULL, "/"));
	usleep(50000);
	CHECK_INT(__atomic_load_n(&done_calls, __ATOMIC_SEQ_CST), before + 1);
	uv_async_send(&done_async);
	return NULL;
}

int main(void)
{
	static const char *const sans[] = { "nobody.example", "spiffe://example/prom" };
	static const char *const other_sans[] = { "nobody.example" };
	uv_loop_t *loop = uv_default_loop();
	const char *msg = NULL;
	pthread_t thread;
	char *cmd;

	signal(SIGPIPE, SIG_IGN);
	make_certificates();
	test_ctx_errors();
	huge_body = malloc(HUGE_BYTES);
	CHECK(huge_body);
	for (int i = 0; i < HUGE_BYTES; i++)
		huge_body[i] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
	start(loop, SRV_PLAIN_TLS, server_ctx("chain.pem", 0, NULL, 0, 0));
	{
		/* The second socket's port: the one that is not the first's. */
		int fd = listen_any();

		second_port = elx_listen_port(fd);
		CHECK_INT(elx_http_server_listen(servers[SRV_PLAIN_TLS], fd, &msg), 0);
	}
	start(loop, SRV_MTLS,
	      server_ctx("server.pem", ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT, NULL, 0, 0));
	start(loop, SRV_SANS,
	      server_ctx("server.pem", ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT, sans, 2, 0));
	start(loop, SRV_ANY,
	      server_ctx("server.pem", ELX_TLS_REQUIRE_ANY_CLIENT_CERT, other_sans, 1, 0));
	start(loop, SRV_OLD, server_ctx("server.pem", 0, NULL, 0, TLS1_1_VERSION));
	rotated = server_ctx("server2.pem", 0, NULL, 0, 0);
	uv_async_init(loop, &done_async, on_done);
	uv_async_init(loop, &swap_async, on_swap);
	CHECK(pthread_create(&thread, NULL, client_thread, NULL) == 0);
	uv_run(loop, UV_RUN_DEFAULT);
	pthread_join(thread, NULL);
	elx_tls_ctx_unref(rotated);
	CHECK_INT(uv_loop_close(loop), 0);
	free(huge_body);
	CHECK(asprintf(&cmd, "rm -rf %s", dir) >= 0);
	CHECK_INT(system(cmd), 0);
	free(cmd);
	printf("test_tls: all passed\n");
	return 0;
}
