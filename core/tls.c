/* TLS contexts from the web config, and TLS on the HTTP server's
 * connections with OpenSSL over memory BIOs on the libuv loop (see tls.h).
 * No cryptography of ours: OpenSSL does the protocol, the certificates and
 * their checks; this file moves bytes between it and libuv and turns the
 * web config's policy into OpenSSL settings. */
#define _GNU_SOURCE
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "log.h"

/* Ciphertext queued on the socket beyond which no more plaintext is
 * encrypted: the rest waits as plaintext (shared bodies stay shared), and a
 * client that reads nothing holds this much of it, not a whole body. */
#define CIPHER_HIGH_WATER (64 * 1024)
/* Plaintext per SSL_write: one full TLS record. */
#define RECORD_BYTES 16384
/* The bytes of a file of PEM we read at most (certificate chains, keys). */
#define MAX_PEM_BYTES (1024 * 1024)

struct elx_tls_ctx {
	int refs;
	SSL_CTX *ssl;
	enum elx_tls_client_auth client_auth;
	char **allowed_sans;
	size_t nallowed_sans;
};

/* A unit of plaintext (one HTTP response) on its way out. */
struct tls_unit {
	struct tls_unit *next;
	void *user;
	uv_buf_t bufs[2];
	unsigned nbufs, buf;  /* the buffer being encrypted */
	size_t off;	      /* bytes of bufs[buf] encrypted */
	int encrypted;	      /* all of it is in ciphertext */
	uint64_t written_seq; /* the ciphertext write that carries its last bytes */
};

/* One uv_write of ciphertext. */
struct cipher_write {
	uv_write_t req;
	struct elx_tls_conn *tc;
	uint64_t seq;
	size_t len;
	char data[];
};

struct elx_tls_conn {
	SSL *ssl;
	BIO *in, *out; /* ciphertext from and to the client; the SSL owns them */
	uv_stream_t *stream;
	const struct elx_tls_io *io;
	void *arg;
	struct tls_unit *head, *tail; /* in order; head is the oldest not written */
	struct tls_unit *cursor;      /* the first unit not encrypted whole */
	uint64_t seq_sent;	      /* ciphertext writes made */
	size_t cipher_queued;	      /* their bytes not written yet */
	int pumping;
	int failed;
};

/* ---------------------------------------------------------------- contexts */

/* "<what>: <OpenSSL's reason>", malloc'd, and the error queue emptied. */
static char *ssl_error(const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char reason[256] = "unknown error";
	char *msg;

	if (e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	/* "error:0A00018E:SSL routines::ca md too weak": the words after the
	 * last colon are the reason. */
	const char *words = strrchr(reason, ':');
	if (asprintf(&msg, "%s: %s", what, words && words[1] ? words + 1 : reason) < 0)
		msg = NULL;
	return msg;
}

static char *fmt_error(const char *fmt, const char *a, const char *b)
{
	char *msg;

	if (asprintf(&msg, fmt, a, b) < 0)
		msg = NULL;
	return msg;
}

/* The PEM text of a file, or of the inline value. *owned is what to free. */
static int read_pem(const char *file, const char *inline_pem, const char *key, const char **pem,
		    char **owned, char **err)
{
	FILE *f;
	size_t n;
	char *buf;

	*owned = NULL;
	if (!file) {
		*pem = inline_pem;
		return 0;
	}
	f = fopen(file, "re");
	if (!f) {
		int r = -errno;

		if (asprintf(err, "%s: %s: %s", key, file, strerror(-r)) < 0)
			*err = NULL;
		return r;
	}
	buf = malloc(MAX_PEM_BYTES + 1);
	n = buf ? fread(buf, 1, MAX_PEM_BYTES + 1, f) : 0;
	fclose(f);
	if (!buf)
		return -ENOMEM;
	if (n > MAX_PEM_BYTES) {
		free(buf);
		if (asprintf(err, "%s: %s: larger than 1 MiB, not a PEM file", key, file) < 0)
			*err = NULL;
		return -EFBIG;
	}
	buf[n] = '\0';
	*pem = *owned = buf;
	return 0;
}

/* "cert_file /etc/x.pem" or "cert", for messages. */
static char *source_name(const char *key, const char *file)
{
	char *name;

	if (asprintf(&name, file ? "%s: %s" : "%s", key, file) < 0)
		name = NULL;
	return name;
}

/* The certificate chain (leaf first) and the key. */
static int use_certificate(SSL_CTX *ssl, const struct elx_tls_settings *s, char **err)
{
	const char *pem = NULL, *key_pem = NULL;
	char *owned = NULL, *key_owned = NULL, *where = NULL;
	BIO *bio = NULL;
	X509 *x = NULL;
	EVP_PKEY *pkey = NULL;
	int r =
	    read_pem(s->cert_file, s->cert, s->cert_file ? "cert_file" : "cert", &pem, &owned, err);

	if (!r)
		r = read_pem(s->key_file, s->key, s->key_file ? "key_file" : "key", &key_pem,
			     &key_owned, err);
	if (r)
		goto out;
	r = -EINVAL;
	where = source_name(s->cert_file ? "cert_file" : "cert", s->cert_file);
	bio = BIO_new_mem_buf(pem, -1);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!x || SSL_CTX_use_certificate(ssl, x) != 1) {
		*err =
		    x ? ssl_error(where) : fmt_error("%s: %s", where, "no PEM certificate in it");
		goto out;
	}
	/* The rest of the file is the chain up to the CA. */
	for (X509 *ca; (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL));) {
		if (SSL_CTX_add0_chain_cert(ssl, ca) != 1) {
			X509_free(ca);
			*err = ssl_error(where);
			goto out;
		}
	}
	ERR_clear_error(); /* the end of the chain reads as an error */
	BIO_free(bio);
	free(where);
	where = source_name(s->key_file ? "key_file" : "key", s->key_file);
	bio = BIO_new_mem_buf(key_pem, -1);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!pkey) {
		ERR_clear_error();
		*err = fmt_error("%s: %s", where, "no PEM private key in it");
	} else if (SSL_CTX_use_PrivateKey(ssl, pkey) != 1 || SSL_CTX_check_private_key(ssl) != 1) {
		ERR_clear_error();
		*err = fmt_error("%s: %s", where, "the key does not match the certificate");
	} else {
		r = 0;
	}
out:
	EVP_PKEY_free(pkey);
	X509_free(x);
	BIO_free(bio);
	free(where);
	free(owned);
	free(key_owned);
	return r;
}

/* The CAs that client certificates are checked against, also named to
 * clients in the certificate request. */
static int use_client_ca(SSL_CTX *ssl, const struct elx_tls_settings *s, char **err)
{
	const char *key = s->client_ca_file ? "client_ca_file" : "client_ca";
	const char *pem;
	char *owned, *where;
	X509_STORE *store = SSL_CTX_get_cert_store(ssl);
	BIO *bio;
	int r = read_pem(s->client_ca_file, s->client_ca, key, &pem, &owned, err), n = 0;

	if (r)
		return r;
	bio = BIO_new_mem_buf(pem, -1);
	for (X509 *ca; bio && (ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)); n++) {
		if (X509_STORE_add_cert(store, ca) != 1 || SSL_CTX_add_client_CA(ssl, ca) != 1)
			n = -1000;
		X509_free(ca);
	}
	ERR_clear_error();
	BIO_free(bio);
	free(owned);
	if (n > 0)
		return 0;
	where = source_name(key, s->client_ca_file);
	*err = fmt_error("%s: %s", where,
			 n < 0 ? "a certificate could not be used" : "no PEM certificate in it");
	free(where);
	return -EINVAL;
}

/* A SAN of a certificate as Go prints it, for client_allowed_sans. */
static int san_text(const GENERAL_NAME *gn, char *out, size_t size)
{
	const unsigned char *data;
	int len;

	switch (gn->type) {
	case GEN_DNS:
	case GEN_EMAIL:
	case GEN_URI:
		data = ASN1_STRING_get0_data(gn->d.ia5);
		len = ASN1_STRING_length(gn->d.ia5);
		if (len < 0 || (size_t)len >= size || memchr(data, '\0', (size_t)len))
			return -1;
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
		return 0;
	case GEN_IPADD:
		data = ASN1_STRING_get0_data(gn->d.ip);
		len = ASN1_STRING_length(gn->d.ip);
		if (len == 4)
			return inet_ntop(AF_INET, data, out, (socklen_t)size) ? 0 : -1;
		if (len == 16)
			return inet_ntop(AF_INET6, data, out, (socklen_t)size) ? 0 : -1;
		return -1;
	default:
		return -1;
	}
}

/* Whether the client's certificate has a SAN that the config allows (a DNS
 * name, e-mail address, IP address or URI, compared exactly). */
static int san_allowed(const struct elx_tls_ctx *ctx, X509 *cert)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	int found = 0;

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
		char text[1024];

		if (san_text(sk_GENERAL_NAME_value(names, i), text, sizeof(text)) < 0)
			continue;
		for (size_t j = 0; j < ctx->nallowed_sans && !found; j++)
			found = strcmp(text, ctx->allowed_sans[j]) == 0;
	}
	GENERAL_NAMES_free(names);
	return found;
}

/* The policy of client_auth_type: the chain counts only for the verifying
 * ones, as in Go; client_allowed_sans applies to the client's own
 * certificate (depth 0) whatever the chain. */
static int verify_client(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct elx_tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	int verify = ctx->client_auth == ELX_TLS_VERIFY_CLIENT_CERT_IF_GIVEN ||
		     ctx->client_auth == ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT;
	int ok = verify ? preverify_ok : 1;

	if (ok && ctx->nallowed_sans && X509_STORE_CTX_get_error_depth(store) == 0 &&
	    !san_allowed(ctx, X509_STORE_CTX_get_current_cert(store))) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
		ok = 0;
	}
	return ok;
}

/* HTTP/1.1 is what we speak: say so to clients that offer h2 too. */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x08http/1.1";
	unsigned char *selected;

	if (SSL_select_next_proto(&selected, outlen, ours, sizeof(ours) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = selected;
	return SSL_TLSEXT_ERR_OK;
}

static int set_policy(struct elx_tls_ctx *ctx, const struct elx_tls_settings *s, char **err)
{
	static const int modes[] = {
		[ELX_TLS_NO_CLIENT_CERT] = SSL_VERIFY_NONE,
		[ELX_TLS_REQUEST_CLIENT_CERT] = SSL_VERIFY_PEER,
		[ELX_TLS_REQUIRE_ANY_CLIENT_CERT] =
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
		[ELX_TLS_VERIFY_CLIENT_CERT_IF_GIVEN] = SSL_VERIFY_PEER,
		[ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT] =
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	};
	SSL_CTX *ssl = ctx->ssl;
	int min = s->min_version ? s->min_version : TLS1_2_VERSION;

	SSL_CTX_set_verify(ssl, modes[s->client_auth], s->client_auth ? verify_client : NULL);
	if (SSL_CTX_set_min_proto_version(ssl, min) != 1 ||
	    SSL_CTX_set_max_proto_version(ssl, s->max_version) != 1) {
		*err = ssl_error("min_version");
		return -EINVAL;
	}
	/* OpenSSL 3 allows TLS 1.0 and 1.1 (their SHA-1 signatures) only at
	 * security level 0: a config that asks for them gets it. */
	if (min < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ssl, 0);
	if (s->ciphers && SSL_CTX_set_cipher_list(ssl, s->ciphers) != 1) {
		*err = ssl_error("cipher_suites");
		return -EINVAL;
	}
	if (s->groups && SSL_CTX_set1_groups_list(ssl, s->groups) != 1) {
		*err = ssl_error("curve_preferences");
		return -EINVAL;
	}
	SSL_CTX_set_options(ssl,
			    SSL_OP_NO_RENEGOTIATION |
				(s->prefer_server_ciphers ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
	/* An idle connection keeps no read and write buffers (~34 KiB). */
	SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_alpn_select_cb(ssl, select_alpn, NULL);
	return 0;
}

static int copy_sans(struct elx_tls_ctx *ctx, const struct elx_tls_settings *s)
{
	if (!s->nallowed_sans)
		return 0;
	ctx->allowed_sans = calloc(s->nallowed_sans, sizeof(char *));
	if (!ctx->allowed_sans)
		return -ENOMEM;
	for (size_t i = 0; i < s->nallowed_sans; i++) {
		ctx->allowed_sans[i] = strdup(s->allowed_sans[i]);
		if (!ctx->allowed_sans[i])
			return -ENOMEM;
		ctx->nallowed_sans++;
	}
	return 0;
}

int elx_tls_ctx_new(const struct elx_tls_settings *s, struct elx_tls_ctx **out, char **err)
{
	struct elx_tls_ctx *ctx = calloc(1, sizeof(*ctx));
	int r = -ENOMEM;

	*out = NULL;
	*err = NULL;
	ERR_clear_error();
	if (!ctx || !(ctx->ssl = SSL_CTX_new(TLS_server_method())))
		goto fail;
	ctx->refs = 1;
	ctx->client_auth = s->client_auth;
	SSL_CTX_set_app_data(ctx->ssl, ctx);
	r = copy_sans(ctx, s);
	if (!r)
		r = set_policy(ctx, s, err);
	if (!r)
		r = use_certificate(ctx->ssl, s, err);
	if (!r && (s->client_ca_file || s->client_ca))
		r = use_client_ca(ctx->ssl, s, err);
	if (r)
		goto fail;
	*out = ctx;
	return 0;
fail:
	if (!*err && r == -ENOMEM)
		*err = strdup("out of memory");
	elx_tls_ctx_unref(ctx);
	return r;
}

struct elx_tls_ctx *elx_tls_ctx_ref(struct elx_tls_ctx *ctx)
{
	if (ctx)
		ctx->refs++;
	return ctx;
}

void elx_tls_ctx_unref(struct elx_tls_ctx *ctx)
{
	if (!ctx || --ctx->refs > 0)
		return;
	SSL_CTX_free(ctx->ssl);
	for (size_t i = 0; i < ctx->nallowed_sans; i++)
		free(ctx->allowed_sans[i]);
	free(ctx->allowed_sans);
	free(ctx);
}

/* ---------------------------------------------------------------- connections */

struct elx_tls_conn *elx_tls_conn_new(struct elx_tls_ctx *ctx, uv_stream_t *stream,
				      const struct elx_tls_io *io, void *arg)
{
	struct elx_tls_conn *tc = calloc(1, sizeof(*tc));

	if (!tc)
		return NULL;
	tc->ssl = SSL_new(ctx->ssl);
	tc->in = BIO_new(BIO_s_mem());
	tc->out = BIO_new(BIO_s_mem());
	if (!tc->ssl || !tc->in || !tc->out) {
		SSL_free(tc->ssl);
		BIO_free(tc->in);
		BIO_free(tc->out);
		free(tc);
		ERR_clear_error();
		return NULL;
	}
	/* An empty input BIO means "wait for more", not end of file. */
	BIO_set_mem_eof_return(tc->in, -1);
	SSL_set_bio(tc->ssl, tc->in, tc->out);
	SSL_set_accept_state(tc->ssl);
	/* The verify callback reads the context through the SSL_CTX: hold it
	 * as long as the connection. */
	SSL_set_app_data(tc->ssl, elx_tls_ctx_ref(ctx));
	tc->stream = stream;
	tc->io = io;
	tc->arg = arg;
	return tc;
}

/* Units whose ciphertext up to write `seq` is on the wire, or all of them
 * (seq UINT64_MAX) with a failure. */
static void complete_units(struct elx_tls_conn *tc, uint64_t seq, int status)
{
	while (tc->head && (status < 0 || (tc->head->encrypted && tc->head->written_seq <= seq))) {
		struct tls_unit *u = tc->head;

		tc->head = u->next;
		if (!tc->head)
			tc->tail = NULL;
		if (tc->cursor == u)
			tc->cursor = u->next;
		tc->io->written(tc->arg, u->user, status);
		free(u);
	}
}

void elx_tls_conn_free(struct elx_tls_conn *tc)
{
	if (!tc)
		return;
	complete_units(tc, UINT64_MAX, -ECANCELED);
	elx_tls_ctx_unref(SSL_get_app_data(tc->ssl));
	SSL_free(tc->ssl); /* and its BIOs */
	free(tc);
}

int elx_tls_conn_ready(const struct elx_tls_conn *tc)
{
	return SSL_is_init_finished(tc->ssl);
}

static void pump(struct elx_tls_conn *tc);

static void on_cipher_written(uv_write_t *req, int status)
{
	struct cipher_write *w = (struct cipher_write *)req;
	struct elx_tls_conn *tc = w->tc;

	tc->cipher_queued -= w->len;
	if (status < 0)
		tc->failed = 1;
	complete_units(tc, w->seq, status < 0 ? status : 0);
	free(w);
	if (!tc->failed)
		pump(tc);
}

/* What OpenSSL wrote for the client goes out: one uv_write. */
static int flush(struct elx_tls_conn *tc)
{
	size_t n = BIO_ctrl_pending(tc->out);
	struct cipher_write *w;
	uv_buf_t buf;

	if (!n || tc->failed)
		return 0;
	w = malloc(sizeof(*w) + n);
	if (!w) {
		tc->failed = 1;
		return -ENOMEM;
	}
	w->tc = tc;
	w->len = (size_t)BIO_read(tc->out, w->data, (int)n);
	w->seq = ++tc->seq_sent;
	buf = uv_buf_init(w->data, (unsigned)w->len);
	if (uv_is_closing((uv_handle_t *)tc->stream) ||
	    uv_write(&w->req, tc->stream, &buf, 1, on_cipher_written) < 0) {
		free(w);
		tc->failed = 1;
		return -EPIPE;
	}
	tc->cipher_queued += w->len;
	return 0;
}

/* Encrypts the next record of the unit at the cursor. */
static int encrypt_some(struct elx_tls_conn *tc)
{
	struct tls_unit *u = tc->cursor;
	const uv_buf_t *b = &u->bufs[u->buf];
	size_t n = b->len - u->off;
	int r;

	if (n > RECORD_BYTES)
		n = RECORD_BYTES;
	if (n) {
		ERR_clear_error();
		/* With a memory BIO to write to, SSL_write takes it all. */
		r = SSL_write(tc->ssl, b->base + u->off, (int)n);
		if (r <= 0) {
			ERR_clear_error();
			return -EIO;
		}
		u->off += (size_t)r;
	}
	if (u->off == b->len) {
		u->off = 0;
		if (++u->buf == u->nbufs) {
			/* Its last bytes leave with the next flush. */
			u->encrypted = 1;
			u->written_seq = tc->seq_sent + 1;
			tc->cursor = u->next;
			return flush(tc);
		}
	}
	return BIO_ctrl_pending(tc->out) >= CIPHER_HIGH_WATER / 4 ? flush(tc) : 0;
}

/* Encrypts plaintext while the client takes the ciphertext. */
static void pump(struct elx_tls_conn *tc)
{
	if (tc->pumping || tc->failed || !SSL_is_init_finished(tc->ssl))
		return;
	tc->pumping = 1;
	while (tc->cursor && !tc->failed && tc->cipher_queued < CIPHER_HIGH_WATER) {
		if (encrypt_some(tc) < 0)
			tc->failed = 1;
	}
	flush(tc);
	tc->pumping = 0;
	if (tc->failed)
		complete_units(tc, UINT64_MAX, -EIO);
}

int elx_tls_conn_write(struct elx_tls_conn *tc, const uv_buf_t *bufs, unsigned n, void *unit)
{
	struct tls_unit *u;

	if (tc->failed || n == 0 || n > 2)
		return -EPIPE;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->user = unit;
	u->nbufs = n;
	memcpy(u->bufs, bufs, n * sizeof(*bufs));
	if (tc->tail)
		tc->tail->next = u;
	else
		tc->head = u;
	tc->tail = u;
	if (!tc->cursor)
		tc->cursor = u;
	pump(tc);
	return 0;
}

void elx_tls_conn_close_notify(struct elx_tls_conn *tc)
{
	if (tc->failed || !SSL_is_init_finished(tc->ssl))
		return;
	ERR_clear_error();
	SSL_shutdown(tc->ssl);
	ERR_clear_error();
	flush(tc);
}

/* A handshake that failed: the alert OpenSSL wrote goes out as it is (the
 * socket has room for a few bytes on a new connection), or to a client that
 * spoke plain HTTP, a plain answer it can read. */
static enum elx_tls_feed fail(struct elx_tls_conn *tc, const char **why)
{
	static const char plain_answer[] =
	    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 38\r\nConnection: close\r\n\r\n"
	    "400 this server speaks TLS: use https\n";
	static char reason[160];
	unsigned long e = ERR_peek_last_error();
	int http = ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST;
	uv_buf_t buf;
	char alert[64];

	snprintf(reason, sizeof(reason), "%s",
		 e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown"
		   : "the connection failed");
	ERR_clear_error();
	*why = reason;
	if (http) {
		buf = uv_buf_init((char *)plain_answer, sizeof(plain_answer) - 1);
	} else {
		int n = BIO_read(tc->out, alert, sizeof(alert));

		buf = uv_buf_init(alert, n > 0 ? (unsigned)n : 0);
	}
	if (buf.len && !uv_is_closing((uv_handle_t *)tc->stream))
		uv_try_write(tc->stream, &buf, 1);
	tc->failed = 1;
	complete_units(tc, UINT64_MAX, -EPROTO);
	return ELX_TLS_FAILED;
}

/* Plaintext that OpenSSL has, to the connection while it takes it. */
enum elx_tls_feed elx_tls_conn_pull(struct elx_tls_conn *tc, const char **why)
{
	static char plain[RECORD_BYTES];
	int was_ready = SSL_is_init_finished(tc->ssl);

	for (;;) {
		int n, e;

		if (tc->failed)
			return fail(tc, why);
		ERR_clear_error();
		n = SSL_read(tc->ssl, plain, sizeof(plain));
		if (n > 0) {
			if (tc->io->input(tc->arg, plain, (size_t)n))
				break;
			continue;
		}
		e = SSL_get_error(tc->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			break;
		if (e == SSL_ERROR_ZERO_RETURN) {
			flush(tc);
			return ELX_TLS_CLOSED;
		}
		return fail(tc, why);
	}
	/* Handshake messages, session tickets. */
	if (flush(tc) < 0) {
		*why = "cannot write to the socket";
		return ELX_TLS_FAILED;
	}
	if (!was_ready && SSL_is_init_finished(tc->ssl))
		pump(tc);
	return ELX_TLS_OK;
}

enum elx_tls_feed elx_tls_conn_feed(struct elx_tls_conn *tc, const char *data, size_t len,
				    const char **why)
{
	if (BIO_write(tc->in, data, (int)len) != (int)len) {
		ERR_clear_error();
		*why = "out of memory";
		return ELX_TLS_FAILED;
	}
	return elx_tls_conn_pull(tc, why);
}
