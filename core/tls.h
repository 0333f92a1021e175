/* TLS for the HTTP server's connections: OpenSSL over memory BIOs, so that
 * the socket stays libuv's and the loop never blocks. Ciphertext from the
 * socket goes in with elx_tls_conn_feed and comes out as plaintext through
 * io->input; plaintext responses go in with elx_tls_conn_write and leave as
 * ciphertext through uv_write, a little at a time as the client reads, so
 * a body shared between many clients is never copied whole per client. */
#ifndef ELX_TLS_H
#define ELX_TLS_H

#include <stddef.h>
#include <uv.h>

#include "abi.h" /* enum elx_tls_client_auth */

/* What a TLS context is made of: the web config's tls_server_config. PEM
 * comes from a file (the *_file fields) or inline; versions are OpenSSL's
 * (TLS1_2_VERSION...), 0 for the default; cipher and group lists are
 * OpenSSL's syntax, NULL for the defaults. */
struct elx_tls_settings {
	const char *cert_file, *cert;
	const char *key_file, *key;
	const char *client_ca_file, *client_ca;
	enum elx_tls_client_auth client_auth;
	const char *const *allowed_sans; /* a client certificate must have one of them */
	size_t nallowed_sans;
	int min_version, max_version;
	const char *ciphers; /* TLS 1.2 and below; TLS 1.3 suites are OpenSSL's */
	const char *groups;
	int prefer_server_ciphers;
};

struct elx_tls_ctx;

/* A context (an SSL_CTX and what its callbacks need), with one reference.
 * On failure *err is a malloc'd "<key>: <what is wrong>" with the key of
 * tls_server_config at fault (cert_file, key, client_ca_file...). Returns 0
 * or -errno. */
int elx_tls_ctx_new(const struct elx_tls_settings *s, struct elx_tls_ctx **out, char **err);
struct elx_tls_ctx *elx_tls_ctx_ref(struct elx_tls_ctx *ctx);
void elx_tls_ctx_unref(struct elx_tls_ctx *ctx);

/* What a connection's TLS calls back into: its HTTP connection. */
struct elx_tls_io {
	/* Plaintext from the client. Returns nonzero when the connection takes
	 * no more input for now (elx_tls_conn_pull resumes). */
	int (*input)(void *arg, const char *data, size_t len);
	/* A unit given to elx_tls_conn_write went out whole (status 0), or
	 * never will (< 0: the connection failed or closed). */
	void (*written)(void *arg, void *unit, int status);
};

struct elx_tls_conn;

/* TLS on an accepted connection, as its server. NULL when out of memory. */
struct elx_tls_conn *elx_tls_conn_new(struct elx_tls_ctx *ctx, uv_stream_t *stream,
				      const struct elx_tls_io *io, void *arg);

/* Frees it; units not yet written are given back through io->written with
 * -ECANCELED. The stream's writes must be over (closed, their callbacks run). */
void elx_tls_conn_free(struct elx_tls_conn *tc);

enum elx_tls_feed {
	ELX_TLS_OK = 0,
	ELX_TLS_CLOSED = 1, /* the client sent close_notify */
	ELX_TLS_FAILED = -1 /* the handshake or a record failed: end the connection */
};

/* Ciphertext read from the socket: the handshake goes on, plaintext goes to
 * io->input until it says stop. On ELX_TLS_FAILED the alert (or, to a client
 * that spoke plain HTTP, a 400 saying to use https) has been written, and
 * *why (static) says what failed. */
enum elx_tls_feed elx_tls_conn_feed(struct elx_tls_conn *tc, const char *data, size_t len,
				    const char **why);

/* Hands on plaintext already received, after io->input said stop. */
enum elx_tls_feed elx_tls_conn_pull(struct elx_tls_conn *tc, const char **why);

/* Whether the handshake is done. */
int elx_tls_conn_ready(const struct elx_tls_conn *tc);

/* Queues `n` buffers of plaintext as one unit: they are encrypted as the
 * client takes what went before. They must stay valid until io->written.
 * Returns 0 or -errno (then the unit is not queued). */
int elx_tls_conn_write(struct elx_tls_conn *tc, const uv_buf_t *bufs, unsigned n, void *unit);

/* Every unit is written: sends close_notify (before the socket's shutdown). */
void elx_tls_conn_close_notify(struct elx_tls_conn *tc);

#endif
