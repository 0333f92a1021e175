/* The running exporter: load, serve scrapes, reload on demand, shut down. */
#define _GNU_SOURCE
#include "exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "caps.h"
#include "cgroup_id_map.h"
#include "log.h"
#include "lua_host.h"
#include "systemd.h"

/* --config.watch waits for changes to settle: editors and cp write in steps. */
#define WATCH_DEBOUNCE_MS 300

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void free_handle_owner(uv_handle_t *handle)
{
	free(handle->data);
}

/* ---------------------------------------------------------- load, reload */

int elx_exporter_load(struct elx_exporter *e, const struct elx_flags *flags, uv_loop_t *loop)
{
	char *err = NULL;
	int ret;

	memset(e, 0, sizeof(*e));
	e->flags = flags;
	e->loop = loop;
	e->stats_fd = -1;
	/* A socket from systemd is checked before the slow part, loading. */
	if (!flags->config_check && strncmp(flags->listen_address, "fd://", 5) == 0) {
		const char *msg = NULL;
		int fd = elx_systemd_listen_fd(flags->listen_address, &msg);

		if (fd < 0) {
			log_error("--web.listen-address=%s: %s", flags->listen_address, msg);
			return fd;
		}
		/* The HTTP server takes fd://<descriptor>. */
		snprintf(e->listen_address, sizeof(e->listen_address), "fd://%d", fd);
	}
	e->stats_fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);
	ret = elx_attach_register_handlers();
	if (ret) {
		log_error(
		    "cannot register the perf_event/ and xdp/ section handlers with libbpf: %s",
		    strerror(-ret));
		return ret;
	}
	ret = elx_generation_build(NULL, flags, loop, &e->gen);
	if (ret)
		return ret;
	ret = elx_cgroup_id_map_start(e->gen, loop, &e->cgroup_watch);
	if (ret)
		return ret;
	ret = elx_caps_keep(flags->capabilities_keep, &err);
	if (ret) {
		log_error("--capabilities.keep: %s", err ? err : strerror(-ret));
		free(err);
		return ret;
	}
	e->last_reload_ok = 1;
	e->last_success_ms = unix_ms();
	malloc_trim(0); /* what loading needed, BTF and ELF buffers, is not kept */
	return 0;
}

int elx_exporter_reload(struct elx_exporter *e, const char *why)
{
	struct elx_generation *next, *old = e->gen;
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_info("reloading the configuration (%s)", why);
	ret = elx_generation_build(old, e->flags, e->loop, &next);
	if (ret) {
		e->last_reload_ok = 0;
		e->reloads_failed++;
		log_error("reload failed: the previous configuration keeps running");
		return ret;
	}
	/* The swap happens here, between two loop callbacks: scrapes see the
	 * old generation or the new one, never a mix. */
	elx_cgroup_id_map_stop(e->cgroup_watch);
	e->cgroup_watch = NULL;
	e->gen = next;
	elx_generation_retire(old, next);
	/* The old Lua state's memory goes back to the system, not only to
	 * malloc's free lists: RSS stays flat over any number of reloads. */
	malloc_trim(0);
	ret = elx_cgroup_id_map_start(e->gen, e->loop, &e->cgroup_watch);
	if (ret)
		log_error("reload: cgroup_id_map sync did not start: %s", strerror(-ret));
	e->last_reload_ok = 1;
	e->last_success_ms = unix_ms();
	e->reloads_ok++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_info("reloaded %zu configs in %.1f ms (%zu objects loaded anew)", next->nviews,
		 (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, next->nloaded);
	return 0;
}

/* ---------------------------------------------------------- scrapes */

static int stats_enabled(struct elx_exporter *e)
{
	char c = '0';

	if (e->stats_fd < 0 || pread(e->stats_fd, &c, 1, 0) != 1)
		return 0;
	return c == '1';
}

int elx_exporter_render(struct elx_exporter *e, enum elx_page page, struct elx_http_response *resp)
{
	struct elx_scrape scrape = { .abi_version = ELX_ABI_VERSION, .page = page };
	char *err = NULL;
	int ret;

	scrape.stats_enabled = stats_enabled(e);
	scrape.reload_successful = (uint32_t)e->last_reload_ok;
	scrape.reload_success_time_ms = e->last_success_ms;
	scrape.reloads_success = e->reloads_ok;
	scrape.reloads_failure = e->reloads_failed;
	elx_generation_read(e->gen, &scrape);
	ret = elx_lua_call(e->gen->lua, ELX_ENTRY_RENDER, &scrape, &err);
	if (ret || !scrape.content_type) {
		elx_log_lines(ELX_ERROR, err ? err : "the page has no content type");
		free(err);
		free(scrape.body);
		return ret ? ret : -EINVAL;
	}
	/* The HTTP server frees the body after the write completes; the
	 * content type is a constant of the Lua modules, copied now because
	 * their state may be gone by then (a reload). */
	resp->status = 200;
	resp->body = scrape.body;
	resp->body_len = scrape.body_len;
	snprintf(resp->content_type_buf, sizeof(resp->content_type_buf), "%s", scrape.content_type);
	resp->content_type = resp->content_type_buf;
	return 0;
}

/* ---------------------------------------------------------- HTTP */

static const char landing_page[] =
    "<!DOCTYPE html>\n<html>\n<head><title>ebpf-lua-exporter</title></head>\n<body>\n"
    "<h1>ebpf-lua-exporter</h1>\n<p>Prometheus exporter for custom eBPF metrics.</p>\n"
    "<p><a href=\"%s\">Metrics</a></p>\n</body>\n</html>\n";

static void set_text(struct elx_http_response *resp, int status, const char *text)
{
	resp->status = status;
	resp->body = strdup(text);
	resp->body_len = resp->body ? strlen(text) : 0;
}

static int method_is(const struct elx_http_request *req, const char *a, const char *b)
{
	return strcmp(req->method, a) == 0 || strcmp(req->method, b) == 0;
}

static void render_page(struct elx_exporter *e, enum elx_page page, struct elx_http_response *resp)
{
	if (elx_exporter_render(e, page, resp) != 0)
		set_text(resp, 500, "500 reading the maps failed: see the exporter's log\n");
}

/* Readiness for probes and load balancers: every program of every config
 * attached (a program that failed without --config.strict keeps it at 503,
 * so a rollout stops at the first node where it fails), and not shutting
 * down. Before loading ends nothing is served at all. */
static void set_ready(const struct elx_exporter *e, struct elx_http_response *resp)
{
	size_t total, attached = elx_generation_attached(e->gen, &total);
	char text[160];

	if (e->stopping) {
		set_text(resp, 503, "503 not ready: shutting down\n");
		return;
	}
	snprintf(text, sizeof(text), "%s%zu of %zu programs attached%s\n",
		 attached == total ? "ready: " : "503 not ready: ", attached, total,
		 attached == total ? "" : " (see ebpf_exporter_ebpf_program_attached)");
	set_text(resp, attached == total ? 200 : 503, text);
}

/* /-/healthy and /-/ready, as Prometheus names them: GET or HEAD. */
static int handle_probe(struct elx_exporter *e, const struct elx_http_request *req,
			struct elx_http_response *resp)
{
	int healthy = strcmp(req->path, "/-/healthy") == 0;

	if (!healthy && strcmp(req->path, "/-/ready") != 0)
		return 0;
	if (!method_is(req, "GET", "HEAD")) {
		resp->allow = "GET, HEAD";
		set_text(resp, 405, "405 method not allowed\n");
	} else if (healthy) {
		/* Answered by the loop itself: a loop stuck in a scrape or a
		 * reload does not answer, and the liveness probe times out. */
		set_text(resp, 200, "healthy\n");
	} else {
		set_ready(e, resp);
	}
	return 1;
}

static void handle_request(void *ctx, const struct elx_http_request *req,
			   struct elx_http_response *resp)
{
	struct elx_exporter *e = ctx;
	int is_get = method_is(req, "GET", "HEAD");

	if (handle_probe(e, req, resp))
		return;
	if (strcmp(req->path, "/-/reload") == 0) {
		/* As Prometheus's lifecycle API: POST or PUT, and only when enabled. */
		if (!method_is(req, "POST", "PUT")) {
			resp->allow = "POST, PUT";
			set_text(resp, 405, "405 method not allowed: POST or PUT to reload\n");
		} else if (!e->flags->web_enable_lifecycle) {
			set_text(resp, 403,
				 "403 the lifecycle API is not enabled "
				 "(--web.enable-lifecycle)\n");
		} else if (elx_exporter_reload(e, "POST /-/reload") != 0) {
			set_text(resp, 500,
				 "500 the reload failed and the previous configuration "
				 "keeps running: see the exporter's log\n");
		} else {
			set_text(resp, 200, "reloaded\n");
		}
		return;
	}
	if (strcmp(req->path, e->flags->telemetry_path) == 0 || strcmp(req->path, "/") == 0 ||
	    (e->flags->debug && strcmp(req->path, "/maps") == 0)) {
		if (!is_get) {
			resp->allow = "GET, HEAD";
			set_text(resp, 405, "405 method not allowed\n");
		} else if (strcmp(req->path, e->flags->telemetry_path) == 0) {
			render_page(e, ELX_PAGE_METRICS, resp);
		} else if (strcmp(req->path, "/maps") == 0) {
			render_page(e, ELX_PAGE_MAPS, resp);
		} else {
			resp->status = 200;
			resp->content_type = "text/html; charset=utf-8";
			if (asprintf(&resp->body, landing_page, e->flags->telemetry_path) < 0)
				resp->body = NULL;
			resp->body_len = resp->body ? strlen(resp->body) : 0;
		}
		return;
	}
	set_text(resp, 404, "404 page not found\n");
}

/* ---------------------------------------------------------- signals, watch */

static void on_signal(uv_signal_t *handle, int signum)
{
	struct elx_exporter *e = handle->data;

	if (signum == SIGHUP) {
		elx_exporter_reload(e, "SIGHUP");
		return;
	}
	log_info("received %s, shutting down", strsignal(signum));
	e->stopping = 1;
	elx_systemd_stopping();
	uv_stop(e->loop);
}

static void on_settled(uv_timer_t *handle)
{
	elx_exporter_reload(handle->data, "a change in a watched directory");
}

static void on_dir_event(uv_fs_event_t *handle, const char *filename, int events, int status)
{
	struct elx_exporter *e = handle->data;
	size_t len = filename ? strlen(filename) : 0;

	/* What a config is made of: YAML, objects, decoder scripts. */
	if (!filename || filename[0] == '.' ||
	    !((len > 5 && strcmp(filename + len - 5, ".yaml") == 0) ||
	      (len > 6 && strcmp(filename + len - 6, ".bpf.o") == 0) ||
	      (len > 4 && strcmp(filename + len - 4, ".lua") == 0)))
		return;
	log_debug("--config.watch: %s changed", filename);
	uv_timer_start(e->debounce, on_settled, WATCH_DEBOUNCE_MS, 0);
}

static void watch_dir(struct elx_exporter *e, const char *dir)
{
	struct stat st;
	uv_fs_event_t *w;

	if (e->nwatches == ELX_MAX_WATCHES || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return;
	w = calloc(1, sizeof(*w));
	if (!w)
		return;
	uv_fs_event_init(e->loop, w);
	w->data = e;
	if (uv_fs_event_start(w, on_dir_event, dir, 0) != 0) {
		log_warn("--config.watch: cannot watch %s", dir);
		w->data = w;
		uv_close((uv_handle_t *)w, free_handle_owner);
		return;
	}
	e->watches[e->nwatches++] = w;
	log_info("--config.watch: reloading on changes in %s", dir);
}

static void start_watching(struct elx_exporter *e)
{
	char *decoders;

	e->debounce = calloc(1, sizeof(*e->debounce));
	if (!e->debounce)
		return;
	uv_timer_init(e->loop, e->debounce);
	e->debounce->data = e;
	watch_dir(e, e->flags->config_dir);
	if (asprintf(&decoders, "%s/decoders", e->flags->config_dir) >= 0) {
		watch_dir(e, decoders);
		free(decoders);
	}
	for (size_t i = 0; i < e->flags->ndecoder_dirs; i++)
		watch_dir(e, e->flags->decoder_dirs[i]);
}

int elx_exporter_serve(struct elx_exporter *e)
{
	struct elx_http_limits limits = ELX_HTTP_LIMITS_DEFAULT;
	const char *address = e->listen_address[0] ? e->listen_address : e->flags->listen_address;
	const char *msg = NULL;
	char status[128];
	int ret;

	ret = elx_http_server_start(e->loop, address, &limits, handle_request, e, &e->http, &msg);
	if (ret) {
		log_error("--web.listen-address=%s: %s", e->flags->listen_address,
			  msg ? msg : strerror(-ret));
		return ret;
	}
	uv_signal_init(e->loop, &e->sigint);
	uv_signal_init(e->loop, &e->sigterm);
	uv_signal_init(e->loop, &e->sighup);
	e->sigint.data = e->sigterm.data = e->sighup.data = e;
	uv_signal_start(&e->sigint, on_signal, SIGINT);
	uv_signal_start(&e->sigterm, on_signal, SIGTERM);
	uv_signal_start(&e->sighup, on_signal, SIGHUP);
	e->signals_started = 1;
	if (e->flags->config_watch)
		start_watching(e);
	log_info("listening on %s (port %d), metrics at %s", e->flags->listen_address,
		 elx_http_server_port(e->http), e->flags->telemetry_path);
	snprintf(status, sizeof(status), "serving %zu configs on %s", e->gen->nviews,
		 e->flags->listen_address);
	elx_systemd_ready(status);
	uv_run(e->loop, UV_RUN_DEFAULT);
	return 0;
}

/* ---------------------------------------------------------- shutdown */

static void close_walk(uv_handle_t *handle, void *arg)
{
	if (!uv_is_closing(handle))
		uv_close(handle, NULL);
}

void elx_exporter_free(struct elx_exporter *e)
{
	if (e->http) {
		elx_http_server_close(e->http);
		e->http = NULL;
	}
	elx_cgroup_id_map_stop(e->cgroup_watch);
	e->cgroup_watch = NULL;
	for (size_t i = 0; i < e->nwatches; i++) {
		e->watches[i]->data = e->watches[i];
		uv_close((uv_handle_t *)e->watches[i], free_handle_owner);
	}
	if (e->debounce) {
		e->debounce->data = e->debounce;
		uv_close((uv_handle_t *)e->debounce, free_handle_owner);
	}
	/* Event counters close their own handles when their objects close. */
	elx_generation_retire(e->gen, NULL);
	e->gen = NULL;
	if (e->loop) {
		uv_walk(e->loop, close_walk, NULL);
		uv_run(e->loop, UV_RUN_DEFAULT);
	}
	if (e->stats_fd >= 0)
		close(e->stats_fd);
	memset(e, 0, sizeof(*e));
}
