/* The web config in force and its re-reads: see web_config.h. Changes are
 * seen by stat() of the file and of the certificate, key and CA files it
 * names (device, inode, size, times: a Kubernetes secret's symlink swap
 * changes the inode), looked at when a connection or a request comes, at
 * most once a second, so an idle exporter does nothing. */
#define _GNU_SOURCE
#include "web_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "abi.h"
#include "log.h"
#include "lua_host.h"
#include "tls.h"
#include "web_auth.h"

#define CHECK_INTERVAL_MS 1000
/* The config itself, cert, key and client CA files. */
#define MAX_FILES 4

struct file_sig {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct elx_web_config_state {
	char *path;
	int tls; /* TLS or not is fixed at start */
	struct elx_tls_ctx *tls_ctx;
	char *headers;
	struct elx_web_auth *auth;
	char *files[MAX_FILES];
	size_t nfiles;
	struct file_sig sigs[MAX_FILES]; /* when the files were last read */
	uint64_t checked_ms;
	int checked;
};

/* What one read of the file makes, before it is put in force. */
struct web_read {
	int tls;
	int client_auth;
	struct elx_tls_ctx *tls_ctx;
	char *headers;
	struct elx_web_user *users;
	size_t nusers;
	char *files[MAX_FILES];
	size_t nfiles;
};

static const char *const auth_names[] = {
	"NoClientCert",
	"RequestClientCert",
	"RequireAnyClientCert",
	"VerifyClientCertIfGiven",
	"RequireAndVerifyClientCert",
};

static void read_free(struct web_read *r)
{
	elx_tls_ctx_unref(r->tls_ctx);
	free(r->headers);
	for (size_t i = 0; i < r->nusers; i++) {
		free((char *)r->users[i].name);
		free((char *)r->users[i].hash);
	}
	free(r->users);
	for (size_t i = 0; i < r->nfiles; i++)
		free(r->files[i]);
	memset(r, 0, sizeof(*r));
}

static int add_file(struct web_read *r, const char *file)
{
	if (!file)
		return 0;
	if (!(r->files[r->nfiles] = strdup(file)))
		return -ENOMEM;
	r->nfiles++;
	return 0;
}

/* Copies what Lua answered out of its state. */
static int copy_answer(struct web_read *r, const struct elx_web_config *call, const char *path)
{
	r->tls = (int)call->tls;
	r->client_auth = call->client_auth <= ELX_TLS_REQUIRE_AND_VERIFY_CLIENT_CERT
			     ? (int)call->client_auth
			     : 0;
	if (add_file(r, path) || add_file(r, call->cert_file) || add_file(r, call->key_file) ||
	    add_file(r, call->client_ca_file))
		return -ENOMEM;
	if (call->headers && !(r->headers = strdup(call->headers)))
		return -ENOMEM;
	r->users = calloc(call->nusers + 1, sizeof(*r->users));
	if (!r->users)
		return -ENOMEM;
	for (; r->nusers < call->nusers; r->nusers++) {
		const struct elx_web_user *u = &call->users[r->nusers];

		r->users[r->nusers].name = strdup(u->name);
		r->users[r->nusers].hash = strdup(u->hash);
		if (!r->users[r->nusers].name || !r->users[r->nusers].hash) {
			r->nusers++;
			return -ENOMEM;
		}
	}
	return 0;
}

static int make_tls(struct web_read *r, const struct elx_web_config *call, const char *path,
		    char **err)
{
	struct elx_tls_settings s = {
		.cert_file = call->cert_file,
		.cert = call->cert,
		.key_file = call->key_file,
		.key = call->key,
		.client_ca_file = call->client_ca_file,
		.client_ca = call->client_ca,
		.client_auth = (enum elx_tls_client_auth)call->client_auth,
		.allowed_sans = call->client_allowed_sans,
		.nallowed_sans = call->nclient_allowed_sans,
		.min_version = (int)call->min_version,
		.max_version = (int)call->max_version,
		.ciphers = call->cipher_suites,
		.groups = call->curve_preferences,
		.prefer_server_ciphers = (int)call->prefer_server_cipher_suites,
	};
	char *why = NULL;
	int ret = elx_tls_ctx_new(&s, &r->tls_ctx, &why);

	if (ret)
		elx_errorf(err, ret, "%s: tls_server_config.%s", path, why ? why : "out of memory");
	free(why);
	return ret;
}

/* Reads and checks the file, and makes its TLS context: all of it, or
 * nothing and *err (one line per mistake). The files it names go into
 * r->files even when the TLS context cannot be made from them, so that
 * fixing them is seen. */
static int read_config(const char *path, struct web_read *r, char **err)
{
	struct elx_web_config call = { .path = path };
	struct elx_lua *lua = NULL;
	int ret = elx_lua_new(&lua, err);

	if (!ret)
		ret = elx_lua_call(lua, ELX_ENTRY_WEB_CONFIG, &call, err);
	if (!ret && copy_answer(r, &call, path) < 0)
		ret = elx_errorf(err, -ENOMEM, "%s: out of memory", path);
	if (!ret && call.tls)
		ret = make_tls(r, &call, path, err);
	elx_lua_free(lua);
	return ret;
}

static void stat_files(char *const *files, size_t n, struct file_sig *sigs)
{
	for (size_t i = 0; i < n; i++) {
		struct stat st;

		memset(&sigs[i], 0, sizeof(sigs[i]));
		if (stat(files[i], &st) != 0)
			continue;
		sigs[i] = (struct file_sig){ .exists = 1,
					     .dev = st.st_dev,
					     .ino = st.st_ino,
					     .size = st.st_size,
					     .mtime = st.st_mtim,
					     .ctime = st.st_ctim };
	}
}

/* After apply: the headers are w's now, the rest still r's. */
static void describe(const struct elx_web_config_state *w, const struct web_read *r,
		     const char *what)
{
	char tls[96] = "no TLS", auth[48] = "no basic auth";

	if (r->tls)
		snprintf(tls, sizeof(tls), "TLS (client certificates: %s)",
			 auth_names[r->client_auth]);
	if (r->nusers)
		snprintf(auth, sizeof(auth), "basic auth (%zu user%s)", r->nusers,
			 r->nusers == 1 ? "" : "s");
	log_info("web config %s%s: %s, %s, %s", w->path, what, tls, auth,
		 w->headers ? "response headers" : "no response headers");
}

/* Puts a read in force; it is taken. */
static int apply(struct elx_web_config_state *w, struct web_read *r)
{
	int ret = elx_web_auth_set_users(w->auth, r->users, r->nusers);

	if (ret)
		return ret;
	elx_tls_ctx_unref(w->tls_ctx);
	w->tls_ctx = r->tls_ctx;
	r->tls_ctx = NULL;
	free(w->headers);
	w->headers = r->headers;
	r->headers = NULL;
	for (size_t i = 0; i < w->nfiles; i++)
		free(w->files[i]);
	memcpy(w->files, r->files, sizeof(w->files));
	w->nfiles = r->nfiles;
	r->nfiles = 0;
	return 0;
}

int elx_web_config_load(const char *path, uv_loop_t *loop, struct elx_web_config_state **out)
{
	struct elx_web_config_state *w = calloc(1, sizeof(*w));
	struct web_read r = { 0 };
	char *err = NULL;
	int ret = w ? elx_web_auth_new(loop, &w->auth) : -ENOMEM;

	if (!ret && !(w->path = strdup(path)))
		ret = -ENOMEM;
	if (!ret)
		ret = read_config(path, &r, &err);
	if (!ret)
		ret = apply(w, &r);
	if (ret) {
		elx_log_lines(ELX_ERROR, err ? err : "--web.config.file: out of memory");
		free(err);
		read_free(&r);
		elx_web_config_free(w);
		return ret;
	}
	w->tls = r.tls;
	stat_files(w->files, w->nfiles, w->sigs);
	describe(w, &r, "");
	read_free(&r);
	*out = w;
	return 0;
}

static int changed(const struct elx_web_config_state *w)
{
	struct file_sig now[MAX_FILES];

	stat_files(w->files, w->nfiles, now);
	for (size_t i = 0; i < w->nfiles; i++) {
		const struct file_sig *a = &w->sigs[i], *b = &now[i];

		if (a->exists != b->exists || a->dev != b->dev || a->ino != b->ino ||
		    a->size != b->size || a->mtime.tv_sec != b->mtime.tv_sec ||
		    a->mtime.tv_nsec != b->mtime.tv_nsec || a->ctime.tv_sec != b->ctime.tv_sec ||
		    a->ctime.tv_nsec != b->ctime.tv_nsec)
			return 1;
	}
	return 0;
}

/* A read that failed: the files it named are watched from now on (with
 * the config in force's), so that the next change is read again, and this
 * one is not read over and over. */
static void keep_failed(struct elx_web_config_state *w, struct web_read *r, const char *err)
{
	elx_log_lines(ELX_ERROR, err);
	log_error("web config %s: the previous one stays in force", w->path);
	for (size_t i = 1; i < r->nfiles; i++) {
		size_t j = 0;

		while (j < w->nfiles && strcmp(w->files[j], r->files[i]) != 0)
			j++;
		if (j == w->nfiles && w->nfiles < MAX_FILES) {
			w->files[w->nfiles++] = r->files[i];
			r->files[i] = NULL;
		}
	}
	stat_files(w->files, w->nfiles, w->sigs);
}

int elx_web_config_refresh(struct elx_web_config_state *w, uint64_t now_ms)
{
	struct web_read r = { 0 };
	char *err = NULL;
	int ret;

	if (!w || (w->checked && now_ms - w->checked_ms < CHECK_INTERVAL_MS))
		return 0;
	w->checked = 1;
	w->checked_ms = now_ms;
	if (!changed(w))
		return 0;
	ret = read_config(w->path, &r, &err);
	if (!ret && r.tls != w->tls)
		ret =
		    elx_errorf(&err, -EINVAL,
			       "%s: tls_server_config: TLS cannot be turned %s while the exporter "
			       "runs: restart it",
			       w->path, r.tls ? "on" : "off");
	if (!ret)
		ret = apply(w, &r);
	if (ret) {
		keep_failed(w, &r, err ? err : "out of memory");
		free(err);
		read_free(&r);
		return 0;
	}
	stat_files(w->files, w->nfiles, w->sigs);
	describe(w, &r, " read again");
	read_free(&r);
	return 1;
}

struct elx_tls_ctx *elx_web_config_tls(const struct elx_web_config_state *w)
{
	return w ? w->tls_ctx : NULL;
}

const char *elx_web_config_headers(const struct elx_web_config_state *w)
{
	return w ? w->headers : NULL;
}

struct elx_web_auth *elx_web_config_auth(const struct elx_web_config_state *w)
{
	return w ? w->auth : NULL;
}

void elx_web_config_free(struct elx_web_config_state *w)
{
	if (!w)
		return;
	elx_tls_ctx_unref(w->tls_ctx);
	free(w->headers);
	elx_web_auth_free(w->auth);
	for (size_t i = 0; i < w->nfiles; i++)
		free(w->files[i]);
	free(w->path);
	free(w);
}
