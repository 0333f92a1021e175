/* The running exporter: load, serve scrapes, reload on demand, shut down. */
#define _GNU_SOURCE
#include "exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <luajit.h>

#include "attach.h"
#include "bpf_collector.h"
#include "build_config.h"
#include "caps.h"
#include "cgroup_id_map.h"
#include "fd_limit.h"
#include "listen.h"
#include "log.h"
#include "lua_host.h"
#include "process_stats.h"
#include "prog_stats_mode.h"
#include "process_targets.h"
#include "revision.h"
#include "routes.h"
#include "span_export.h"
#include "systemd.h"
#include "tls.h"
#include "web_config.h"
#include "watch_busy.h"

/* --config.watch waits for changes to settle: editors and cp write in steps. */
#define WATCH_DEBOUNCE_MS 300
/* How old a metrics page still being sent may be for a scrape to get it
 * too: concurrent scrapes share one body, and none gets values older than
 * this. */
#define ELX_SHARE_MS 1000

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

static void set_about(struct elx_exporter *e)
{
	snprintf(e->libbpf_version, sizeof(e->libbpf_version), "%s", libbpf_version_string());
	e->about = (struct elx_about){
		.version = ELX_VERSION,
		.revision = ELX_REVISION,
		.libbpf = e->libbpf_version,
		.telemetry_path = e->flags->telemetry_path,
		.debug = e->flags->debug,
	};
}

/* One listening socket: an address bound, or the socket systemd passed
 * as fd://N. `flag` names where it came from, for errors. */
static int open_listener(struct elx_exporter *e, const char *flag, const char *address)
{
	const char *msg = NULL;
	int fd;

	if (e->nlisten == ELX_MAX_LISTEN) {
		log_error("%s: more than %d listening sockets", flag, ELX_MAX_LISTEN);
		return -E2BIG;
	}
	fd = elx_listen_open(address, &msg);
	if (fd < 0) {
		log_error("%s=%s: %s", flag, address, msg ? msg : strerror(-fd));
		return fd;
	}
	e->listen_names[e->nlisten] = strdup(address);
	e->listen_fds[e->nlisten++] = fd;
	return e->listen_names[e->nlisten - 1] ? 0 : -ENOMEM;
}

/* Every --web.listen-address, or with --web.systemd-socket every socket
 * systemd passed (as fd://0, fd://1, ...). */
static int open_listeners(struct elx_exporter *e)
{
	const struct elx_flags *f = e->flags;
	const char *msg = NULL;
	char name[32];
	int n, ret = 0;

	for (size_t i = 0; !ret && i < f->nlisten_addresses; i++)
		ret = open_listener(e, "--web.listen-address", f->listen_addresses[i]);
	if (ret || !f->web_systemd_socket)
		return ret;
	n = elx_systemd_listen_count(&msg);
	if (n < 0) {
		log_error("--web.systemd-socket: %s", msg);
		return n;
	}
	for (int i = 0; !ret && i < n; i++) {
		snprintf(name, sizeof(name), "fd://%d", i);
		ret = open_listener(e, "--web.systemd-socket", name);
	}
	return ret;
}

/* Spans of a generation about to serve: configs with tracing need a valid
 * OTEL_* environment; --config.check reads no ring buffer. */
static int start_spans(struct elx_exporter *e, struct elx_generation *gen)
{
	size_t streams = elx_generation_span_streams(gen);
	const char *err = elx_span_export_error(e->spans);

	if (streams && err) {
		log_error("tracing: %s", err);
		return -EINVAL;
	}
	if (streams)
		log_info("tracing: %zu span streams, %s", streams,
			 elx_span_export_describe(e->spans));
	return e->flags->config_check ? 0 : elx_generation_activate(gen, e->spans);
}

int elx_exporter_load(struct elx_exporter *e, const struct elx_flags *flags, uv_loop_t *loop)
{
	char *err = NULL;
	int ret;

	memset(e, 0, sizeof(*e));
	e->flags = flags;
	e->loop = loop;
	e->stats_fd = -1;
	/* The addresses are bound (or systemd's sockets taken), and the web
	 * config read, before the slow part, loading: a port in use or a
	 * broken web config fails the start at once. */
	if (!flags->config_check) {
		ret = open_listeners(e);
		if (ret)
			return ret;
	}
	set_about(e);
	log_info("ebpf-lua-exporter %s (revision %s), libbpf %s, %s", e->about.version,
		 e->about.revision, e->about.libbpf, LUAJIT_VERSION);
	if (flags->web_config_file) {
		ret = elx_web_config_load(flags->web_config_file, loop, &e->web);
		if (ret)
			return ret;
	}
	e->stats_fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);
	ret = elx_attach_register_handlers();
	if (ret) {
		log_error("cannot register our SEC() forms with libbpf: %s", strerror(-ret));
		return ret;
	}
	ret = elx_span_export_new(loop, &e->spans);
	if (!ret)
		ret = elx_generation_build(NULL, flags, loop, &e->gen);
	if (!ret)
		ret = start_spans(e, e->gen);
	if (ret)
		return ret;
	ret = elx_cgroup_id_map_start(e->gen, loop, &e->cgroup_watch);
	if (ret)
		return ret;
	/* Both may need capabilities that are dropped next. */
	ret = elx_bpf_collector_new(flags, &e->bpf_collector);
	if (!ret)
		ret = elx_prog_stats_mode_start(loop, flags, &e->prog_stats);
	if (!ret)
		ret = elx_process_targets_update(&e->targets, e->gen, loop);
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

int elx_exporter_reload(struct elx_exporter *e, const char *why, char **reasons)
{
	struct elx_generation *next, *old = e->gen;
	struct timespec t0, t1;
	char *errors;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	log_info("reloading the configuration (%s)", why);
	elx_log_capture_start();
	ret = elx_generation_build(old, e->flags, e->loop, &next);
	if (!ret && elx_generation_span_streams(next) && elx_span_export_error(e->spans)) {
		log_error("tracing: %s", elx_span_export_error(e->spans));
		elx_generation_retire(next, old);
		ret = -EINVAL;
	}
	errors = elx_log_capture_stop();
	if (ret) {
		e->last_reload_ok = 0;
		e->reloads_failed++;
		log_error("reload failed: the previous configuration keeps running");
		if (reasons)
			*reasons = errors;
		else
			free(errors);
		return ret;
	}
	free(errors);
	/* A page rendered by the old generation is not the new one's. */
	elx_http_body_forget(&e->shared_body);
	/* The swap happens here, between two loop callbacks: scrapes see the
	 * old generation or the new one, never a mix. */
	elx_cgroup_id_map_stop(e->cgroup_watch);
	e->cgroup_watch = NULL;
	e->gen = next;
	/* Span streams go to the new Lua state before the old one goes: the
	 * records of objects that close are read out by the old one. */
	if (elx_generation_activate(next, e->spans) != 0)
		log_error("reload: span streams could not start");
	elx_generation_retire(old, next);
	/* The old Lua state's memory goes back to the system, not only to
	 * malloc's free lists: RSS stays flat over any number of reloads. */
	malloc_trim(0);
	ret = elx_cgroup_id_map_start(e->gen, e->loop, &e->cgroup_watch);
	if (ret)
		log_error("reload: cgroup_id_map sync did not start: %s", strerror(-ret));
	if (elx_process_targets_update(&e->targets, e->gen, e->loop))
		log_error("reload: targets are not followed");
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

static int render(struct elx_exporter *e, enum elx_page page, const unsigned char *selected,
		  double deadline, struct elx_http_response *resp)
{
	struct elx_scrape scrape = { .abi_version = ELX_ABI_VERSION, .page = page };
	char *err = NULL;
	int ret;

	scrape.prog_stats = elx_prog_stats_mode_read(e->prog_stats);
	scrape.stats_enabled = stats_enabled(e) || scrape.prog_stats;
	if (page == ELX_PAGE_METRICS && e->bpf_collector)
		scrape.bpf = elx_bpf_collector_collect(e->bpf_collector);
	scrape.reload_successful = (uint32_t)e->last_reload_ok;
	scrape.reload_success_time_ms = e->last_success_ms;
	scrape.reloads_success = e->reloads_ok;
	scrape.reloads_failure = e->reloads_failed;
	scrape.about = &e->about;
	elx_process_stats_read(&scrape.process);
	elx_span_export_stats(e->spans, &scrape.spans);
	scrape.deadline = deadline;
	/* The landing page shows programs and maps, not what the maps hold. */
	elx_generation_read_some(e->gen, &scrape, page != ELX_PAGE_LANDING, selected);
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

static int named(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

/* The configs collect[] or exclude[] pick, one flag per view (NULL when
 * neither is given); -ENOENT for a name no config has. */
static int select_configs(const struct elx_generation *gen, struct elx_render_options *opts,
			  unsigned char **out)
{
	char *const *names = opts->ncollect ? opts->collect : opts->exclude;
	size_t n = opts->ncollect ? opts->ncollect : opts->nexclude;
	unsigned char *selected;

	*out = NULL;
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		size_t v = 0;

		while (v < gen->nviews && strcmp(gen->views[v].obj->name, names[i]) != 0)
			v++;
		if (v == gen->nviews) {
			opts->unknown = names[i];
			return -ENOENT;
		}
	}
	selected = calloc(gen->nviews + 1, 1);
	if (!selected)
		return -ENOMEM;
	for (size_t v = 0; v < gen->nviews; v++)
		selected[v] = named(names, n, gen->views[v].obj->name) == (opts->ncollect > 0);
	*out = selected;
	return 0;
}

/* A metrics page rendered at most ELX_SHARE_MS ago and still being sent is
 * sent again: 250 clients that ask at once and never read hold one body,
 * not 250. A new page is kept for others while responses send it; pages of
 * some configs only (collect[], exclude[]) are neither shared nor kept. */
int elx_exporter_render(struct elx_exporter *e, enum elx_page page, struct elx_render_options *opts,
			struct elx_http_response *resp)
{
	uint64_t now = uv_now(e->loop);
	unsigned char *selected = NULL;
	int ret;

	if (opts) {
		ret = select_configs(e->gen, opts, &selected);
		if (ret)
			return ret;
	}
	if (selected) {
		ret = render(e, page, selected, opts->deadline, resp);
		free(selected);
		return ret;
	}
	if (page == ELX_PAGE_METRICS && e->shared_body && now - e->shared_at <= ELX_SHARE_MS) {
		resp->status = 200;
		resp->shared = elx_http_body_ref(e->shared_body);
		snprintf(resp->content_type_buf, sizeof(resp->content_type_buf), "%s",
			 e->shared_type);
		resp->content_type = resp->content_type_buf;
		return 0;
	}
	ret = render(e, page, NULL, opts ? opts->deadline : 0, resp);
	if (ret || page != ELX_PAGE_METRICS)
		return ret;
	resp->shared = elx_http_body_new(resp->body, resp->body_len);
	resp->body = NULL;
	if (!resp->shared)
		return -ENOMEM;
	elx_http_body_watch(resp->shared, &e->shared_body);
	e->shared_at = now;
	snprintf(e->shared_type, sizeof(e->shared_type), "%s", resp->content_type_buf);
	return 0;
}

/* ---------------------------------------------------------- signals, watch */

static void on_signal(uv_signal_t *handle, int signum)
{
	struct elx_exporter *e = handle->data;

	if (signum == SIGHUP) {
		if (elx_exporter_request_reload(e, "SIGHUP", NULL, NULL) < 0)
			log_error("SIGHUP: out of memory asking for a reload");
		return;
	}
	log_info("received %s, shutting down", strsignal(signum));
	e->stopping = 1;
	elx_systemd_stopping();
	uv_stop(e->loop);
}

static void on_settled(uv_timer_t *handle)
{
	struct elx_exporter *e = handle->data;
	const char *dirs[ELX_WATCH_BUSY_MAX_DIRS];
	char decoders[PATH_MAX], busy[PATH_MAX + 32];
	size_t n = 0;

	/* A file still open for writing is not whole yet: wait until it closes. */
	dirs[n++] = e->flags->config_dir;
	snprintf(decoders, sizeof(decoders), "%s/decoders", e->flags->config_dir);
	dirs[n++] = decoders;
	for (size_t i = 0; i < e->flags->ndecoder_dirs && n < ELX_WATCH_BUSY_MAX_DIRS; i++)
		dirs[n++] = e->flags->decoder_dirs[i];
	if (elx_watch_busy(dirs, n, busy, sizeof(busy))) {
		log_debug("--config.watch: waiting for %s to be written", busy);
		uv_timer_start(handle, on_settled, WATCH_DEBOUNCE_MS, 0);
		return;
	}
	if (elx_exporter_request_reload(e, "a change in a watched directory", NULL, NULL) < 0)
		log_error("--config.watch: out of memory asking for a reload");
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

static int run_reload(void *ctx, const char *why, char **reasons)
{
	return elx_exporter_reload(ctx, why, reasons);
}

int elx_exporter_request_reload(struct elx_exporter *e, const char *why, elx_reload_done_fn done,
				void *arg)
{
	return elx_reloads_request(&e->reloads, why, done, arg);
}

/* Hands the server the TLS context and header lines of the web config. */
static void web_apply(struct elx_exporter *e)
{
	elx_http_server_set_tls(e->http, elx_web_config_tls(e->web));
	if (elx_http_server_set_headers(e->http, elx_web_config_headers(e->web)) < 0)
		log_error("web config: out of memory for the response headers");
}

void elx_exporter_web_refresh(struct elx_exporter *e)
{
	if (e->web && e->http && elx_web_config_refresh(e->web, uv_now(e->loop)))
		web_apply(e);
}

static void on_accept(void *arg)
{
	elx_exporter_web_refresh(arg);
}

/* The HTTP server on every listening socket, which it owns from now on,
 * with the web config's TLS, headers and re-reads. */
static int start_http(struct elx_exporter *e, const struct elx_http_limits *limits)
{
	int ports[ELX_MAX_LISTEN];
	const char *msg = NULL;
	int ret = e->nlisten ? 0 : open_listeners(e);

	for (size_t i = 0; i < e->nlisten; i++)
		ports[i] = elx_listen_port(e->listen_fds[i]);
	for (size_t i = 0; !ret && i < e->nlisten; i++) {
		int fd = e->listen_fds[i];

		e->listen_fds[i] = -1; /* the server's now, even when it fails */
		ret = i ? elx_http_server_listen(e->http, fd, &msg)
			: elx_http_server_start(e->loop, fd, limits, elx_routes_handle, e, &e->http,
						&msg);
		if (ret)
			log_error("%s: %s", e->listen_names[i], msg ? msg : strerror(-ret));
	}
	if (ret)
		return ret;
	if (e->web) {
		web_apply(e);
		elx_http_server_on_accept(e->http, on_accept, e);
	}
	for (size_t i = 0; i < e->nlisten; i++)
		log_info("listening on %s (port %d), metrics at %s%s", e->listen_names[i], ports[i],
			 e->flags->telemetry_path, elx_web_config_tls(e->web) ? ", TLS" : "");
	return 0;
}

int elx_exporter_serve(struct elx_exporter *e)
{
	struct elx_http_limits limits = ELX_HTTP_LIMITS_DEFAULT;
	char status[128];
	int ret;

	limits.max_connections = elx_fd_limit_fit((unsigned)e->flags->web_max_connections);
	if (limits.max_connections < e->flags->web_max_connections)
		log_warn("--web.max-connections=%ld: the limit on open files (ulimit -n) leaves "
			 "room for %u connections only",
			 e->flags->web_max_connections, limits.max_connections);
	ret = elx_reloads_init(&e->reloads, e->loop, run_reload, e);
	if (!ret)
		ret = start_http(e, &limits);
	if (ret)
		return ret;
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
	snprintf(status, sizeof(status), "serving %zu configs on %s%s", e->gen->nviews,
		 e->listen_names[0], e->nlisten > 1 ? " and more" : "");
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
	/* Basic auth still hashing on the pool answers its requests with
	 * -ECANCELED when the loop runs them out below. */
	elx_web_config_free(e->web);
	e->web = NULL;
	/* POST /-/reload requests still waiting are answered; their
	 * connections are closing, so the answers are dropped. */
	elx_reloads_close(&e->reloads);
	elx_http_body_forget(&e->shared_body);
	elx_cgroup_id_map_stop(e->cgroup_watch);
	e->cgroup_watch = NULL;
	elx_prog_stats_mode_stop(e->prog_stats);
	elx_bpf_collector_free(e->bpf_collector);
	elx_process_targets_stop(e->targets);
	e->targets = NULL;
	for (size_t i = 0; i < e->nwatches; i++) {
		e->watches[i]->data = e->watches[i];
		uv_close((uv_handle_t *)e->watches[i], free_handle_owner);
	}
	if (e->debounce) {
		e->debounce->data = e->debounce;
		uv_close((uv_handle_t *)e->debounce, free_handle_owner);
	}
	/* Event counters close their own handles when their objects close. */
	elx_generation_free_at_exit(e->gen);
	e->gen = NULL;
	/* The spans of the ring buffers just read out, and any queued. */
	if (e->spans) {
		elx_span_export_shutdown(e->spans, elx_span_export_shutdown_bound(e->spans));
		elx_span_export_free(e->spans);
		e->spans = NULL;
	}
	if (e->loop) {
		uv_walk(e->loop, close_walk, NULL);
		uv_run(e->loop, UV_RUN_DEFAULT);
	}
	if (e->stats_fd >= 0)
		close(e->stats_fd);
	for (size_t i = 0; i < e->nlisten; i++) {
		if (e->listen_fds[i] >= 0)
			close(e->listen_fds[i]);
		free(e->listen_names[i]);
	}
	memset(e, 0, sizeof(*e));
}
