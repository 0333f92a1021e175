/* libcurl's multi interface on the libuv loop: curl says which sockets to
 * watch for what (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); uv_poll and uv_timer do it, and every event goes
 * back to curl_multi_socket_action. Name resolution uses curl's resolver
 * thread, not the loop.
 *
 * libcurl is loaded with dlopen at the first export, not linked: with its
 * TLS, SSH, LDAP and Kerberos libraries it would add ~5 MiB to the RSS of
 * every exporter, most of which never sends a span. */
#define _GNU_SOURCE
#include "otlp_client.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "build_config.h"
#include "log.h"

#define LIBCURL "libcurl.so.4"

/* The libcurl functions we call, from dlsym. */
static struct {
	CURLcode (*global_init)(long flags);
	CURLM *(*multi_init)(void);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *e, CURLoption option, ...);
	CURLcode (*easy_getinfo)(CURL *e, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *e);
	CURLMcode (*multi_setopt)(CURLM *m, CURLMoption option, ...);
	CURLMcode (*multi_add_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_remove_handle)(CURLM *m, CURL *e);
	CURLMcode (*multi_socket_action)(CURLM *m, curl_socket_t fd, int ev, int *running);
	CURLMsg *(*multi_info_read)(CURLM *m, int *left);
	CURLMcode (*multi_assign)(CURLM *m, curl_socket_t fd, void *p);
	CURLMcode (*multi_cleanup)(CURLM *m);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} curl;

/* Loads libcurl and initialises it, once. Returns 0 or -ENOENT (logged). */
static int load_curl(void)
{
	static int state; /* 0: not tried, 1: loaded, -1: failed */
	static const char *const names[] = {
		"curl_global_init",	    "curl_multi_init",		"curl_easy_init",
		"curl_easy_setopt",	    "curl_easy_getinfo",	"curl_easy_strerror",
		"curl_easy_cleanup",	    "curl_multi_setopt",	"curl_multi_add_handle",
		"curl_multi_remove_handle", "curl_multi_socket_action", "curl_multi_info_read",
		"curl_multi_assign",	    "curl_multi_cleanup",	"curl_slist_append",
		"curl_slist_free_all",
	};
	void **slots = (void **)&curl;
	void *lib;

	if (state)
		return state > 0 ? 0 : -ENOENT;
	state = -1;
	lib = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		log_error("span export: cannot load %s (Debian: libcurl4): %s", LIBCURL, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(slots[i] = dlsym(lib, names[i]))) {
			log_error("span export: %s has no %s", LIBCURL, names[i]);
			return -ENOENT;
		}
	}
	if (curl.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -ENOENT;
	state = 1;
	return 0;
}

#define MAX_ANSWER (64 * 1024)

struct watch {
	uv_poll_t poll;
	curl_socket_t fd;
	struct elx_otlp_client *client;
	struct watch *next;
};

struct elx_otlp_client {
	uv_loop_t *loop;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	uv_timer_t timer;
	struct watch *watches;
	int busy;
	uint8_t answer[MAX_ANSWER];
	size_t answer_len;
	char error[CURL_ERROR_SIZE];
	elx_otlp_done_fn done;
	void *ctx;
};

static void check_done(struct elx_otlp_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl.multi_info_read(c->multi, &left))) {
		struct elx_otlp_result r = { 0 };

		if (msg->msg != CURLMSG_DONE)
			continue;
		if (msg->data.result == CURLE_OK) {
			curl.easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
		} else {
			r.error = c->error[0] ? c->error : curl.easy_strerror(msg->data.result);
		}
		r.body = c->answer;
		r.len = c->answer_len;
		curl.multi_remove_handle(c->multi, c->easy);
		c->busy = 0;
		/* Last: done may post the next request. */
		c->done(c->ctx, &r);
	}
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct watch *w = handle->data;
	struct elx_otlp_client *c = w->client;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl.multi_socket_action(c->multi, w->fd, flags, &running);
	check_done(c);
}

static void free_watch(uv_handle_t *handle)
{
	free(handle->data);
}

static void unwatch(struct elx_otlp_client *c, struct watch *w)
{
	for (struct watch **p = &c->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	uv_poll_stop(&w->poll);
	uv_close((uv_handle_t *)&w->poll, free_watch);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct elx_otlp_client *c = userp;
	struct watch *w = socketp;
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (w)
			unwatch(c, w);
		curl.multi_assign(c->multi, fd, NULL);
		return 0;
	}
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w || uv_poll_init_socket(c->loop, &w->poll, fd) != 0) {
			free(w);
			return -1;
		}
		w->fd = fd;
		w->client = c;
		w->poll.data = w;
		w->next = c->watches;
		c->watches = w;
		curl.multi_assign(c->multi, fd, w);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&w->poll, events, on_poll);
	return 0;
}

static void on_timeout(uv_timer_t *handle)
{
	struct elx_otlp_client *c = handle->data;
	int running;

	curl.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct elx_otlp_client *c = userp;

	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else
		uv_timer_start(&c->timer, on_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

/* The answer is kept only as far as MAX_ANSWER: a partial success fits. */
static size_t on_answer(char *data, size_t size, size_t n, void *userp)
{
	struct elx_otlp_client *c = userp;
	size_t len = size * n, room = MAX_ANSWER - c->answer_len;

	memcpy(c->answer + c->answer_len, data, len < room ? len : room);
	c->answer_len += len < room ? len : room;
	return len;
}

static int set_headers(struct elx_otlp_client *c, const struct elx_otel_config *cfg)
{
	static const char *const fixed[] = {
		"Content-Type: application/x-protobuf",
		/* curl would wait for a "100 Continue" before a large body. */
		"Expect:",
	};

	for (size_t i = 0; i < 2; i++)
		c->headers = curl.slist_append(c->headers, fixed[i]);
	if (cfg->gzip)
		c->headers = curl.slist_append(c->headers, "Content-Encoding: gzip");
	for (size_t i = 0; i < cfg->nheaders; i++)
		c->headers = curl.slist_append(c->headers, cfg->headers[i]);
	return c->headers ? 0 : -ENOMEM;
}

static void set_options(struct elx_otlp_client *c, const struct elx_otel_config *cfg)
{
	CURL *e = c->easy;

	curl.easy_setopt(e, CURLOPT_URL, cfg->url);
	curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(e, CURLOPT_POST, 1L);
	curl.easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
	curl.easy_setopt(e, CURLOPT_USERAGENT, "ebpf-lua-exporter/" ELX_VERSION);
	curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
	curl.easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl.easy_setopt(e, CURLOPT_ERRORBUFFER, c->error);
	if (cfg->ca_file)
		curl.easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->client_cert)
		curl.easy_setopt(e, CURLOPT_SSLCERT, cfg->client_cert);
	if (cfg->client_key)
		curl.easy_setopt(e, CURLOPT_SSLKEY, cfg->client_key);
}

int elx_otlp_client_new(uv_loop_t *loop, const struct elx_otel_config *cfg, elx_otlp_done_fn done,
			void *ctx, struct elx_otlp_client **out)
{
	struct elx_otlp_client *c;

	if (load_curl() != 0)
		return -ENOENT;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->done = done;
	c->ctx = ctx;
	c->multi = curl.multi_init();
	c->easy = curl.easy_init();
	if (!c->multi || !c->easy || set_headers(c, cfg) != 0) {
		curl.easy_cleanup(c->easy);
		curl.multi_cleanup(c->multi);
		curl.slist_free_all(c->headers);
		free(c);
		return -ENOMEM;
	}
	set_options(c, cfg);
	curl.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	*out = c;
	return 0;
}

int elx_otlp_client_post(struct elx_otlp_client *c, const uint8_t *body, size_t len,
			 uint64_t timeout_ms)
{
	if (c->busy)
		return -EBUSY;
	c->answer_len = 0;
	c->error[0] = '\0';
	curl.easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	curl.easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl.easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (curl.multi_add_handle(c->multi, c->easy) != CURLM_OK)
		return -EIO;
	c->busy = 1;
	return 0;
}

int elx_otlp_client_busy(const struct elx_otlp_client *c)
{
	return c->busy;
}

void elx_otlp_client_abort(struct elx_otlp_client *c)
{
	if (!c->busy)
		return;
	curl.multi_remove_handle(c->multi, c->easy);
	c->busy = 0;
}

static void free_client(uv_handle_t *handle)
{
	free(handle->data);
}

void elx_otlp_client_free(struct elx_otlp_client *c)
{
	if (!c)
		return;
	elx_otlp_client_abort(c);
	curl.multi_cleanup(c->multi);
	curl.easy_cleanup(c->easy);
	curl.slist_free_all(c->headers);
	/* Sockets curl did not say it was done with. */
	while (c->watches)
		unwatch(c, c->watches);
	uv_close((uv_handle_t *)&c->timer, free_client);
}
