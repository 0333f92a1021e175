/* The running exporter: load every config, serve scrapes, shut down cleanly. */
#define _GNU_SOURCE
#include "exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "caps.h"
#include "cgroup_map.h"
#include "kaddrs.h"
#include "log.h"
#include "systemd.h"

/* An empty function that programs may probe with
 * SEC("uprobe//proc/self/exe:post_attach_mark") to run once at start: the
 * exporter calls it after every config is attached. */
__attribute__((noinline, used)) ELX_EXPORT void post_attach_mark(void)
{
	__asm__ volatile("" ::: "memory");
}

static void log_lines(enum elx_log_level level, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		elx_logf(level, "%.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
	}
}

/* Where fanotify is unavailable, cgroupfs is walked this often for changes. */
#define CGROUP_RESCAN_MS 5000

static int sync_cgroups(struct elx_exporter *e, int rescan)
{
	struct elx_cgroup_op *ops;
	size_t n;
	char *err = NULL;
	int ret = elx_lua_cgroup_operations(e->lua, rescan, &ops, &n, &err);

	if (ret) {
		log_lines(ELX_ERROR, err);
		free(err);
		return ret;
	}
	elx_cgroup_map_apply(e->objects, e->nobjects, ops, n);
	elx_cgroup_ops_free(ops, n);
	return 0;
}

static void on_cgroup_events(uv_poll_t *handle, int status, int events)
{
	sync_cgroups(handle->data, 0);
}

static void on_cgroup_timer(uv_timer_t *handle)
{
	sync_cgroups(handle->data, 1);
}

/* Fills every cgroup_id_map, then keeps following cgroups on the loop. */
static int start_cgroup_sync(struct elx_exporter *e)
{
	int fd = elx_lua_cgroup_watch_fd(e->lua);
	int ret;

	if (fd < 0)
		return 0; /* no config has a cgroup_id_map */
	ret = sync_cgroups(e, 0);
	if (ret)
		return ret;
	if (fd > 0) {
		uv_poll_init(e->loop, &e->cgroup_poll, fd);
		e->cgroup_poll.data = e;
		uv_poll_start(&e->cgroup_poll, UV_READABLE, on_cgroup_events);
		e->cgroup_watch = 1;
	} else {
		uv_timer_init(e->loop, &e->cgroup_timer);
		e->cgroup_timer.data = e;
		uv_timer_start(&e->cgroup_timer, on_cgroup_timer, CGROUP_RESCAN_MS,
			       CGROUP_RESCAN_MS);
		e->cgroup_watch = 2;
	}
	return 0;
}

int elx_exporter_load(struct elx_exporter *e, const struct elx_flags *flags, uv_loop_t *loop)
{
	char *err = NULL;
	int failed = 0;
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
	ret = elx_lua_new(&e->lua, flags, &err);
	if (ret) {
		log_lines(ELX_ERROR, err);
		free(err);
		return ret;
	}
	e->objects = calloc(flags->nconfig_names, sizeof(*e->objects));
	e->config_scrapes = calloc(flags->nconfig_names, sizeof(*e->config_scrapes));
	if (!e->objects || !e->config_scrapes)
		return -ENOMEM;

	/* Open and validate every config before loading any, so that one run
	 * reports every mistake in every config. */
	struct elx_config_plan *plans = calloc(flags->nconfig_names, sizeof(*plans));
	if (!plans)
		return -ENOMEM;
	for (size_t i = 0; i < flags->nconfig_names; i++) {
		const char *name = flags->config_names[i];
		struct elx_object *o = &e->objects[i];
		int opened =
		    elx_object_open(o, flags->config_dir, name, flags->btf_path, &err) == 0;

		e->nobjects++;
		if (!opened) {
			log_error("%s", err ? err : "out of memory");
			free(err);
			err = NULL;
			failed = 1;
		}
		if (elx_lua_configure(e->lua, name, opened ? o->map_infos : NULL,
				      opened ? o->nmap_infos : 0, &plans[i], &err) != 0) {
			log_lines(ELX_ERROR, err);
			free(err);
			err = NULL;
			failed = 1;
		}
	}
	for (size_t i = 0; !failed && i < e->nobjects; i++) {
		if (elx_kaddrs_set(e->objects[i].obj, plans[i].kaddrs, plans[i].nkaddrs,
				   "/proc/kallsyms", &err) != 0) {
			log_error("%s.yaml: %s", e->objects[i].name, err ? err : "out of memory");
			free(err);
			err = NULL;
			failed = 1;
		}
	}
	if (failed) {
		ret = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < e->nobjects; i++) {
		struct elx_object *o = &e->objects[i];

		ret = elx_object_load(o);
		if (!ret)
			ret = elx_object_bind_maps(o, plans[i].maps, plans[i].nmaps, loop);
		if (!ret)
			ret = elx_object_attach(o, flags->config_strict);
		if (ret)
			goto out;
		log_info("config %s: %zu of %zu programs attached, %zu metric maps", o->name,
			 o->nattached, o->nprograms, o->nreaders);
	}
	post_attach_mark();
	ret = start_cgroup_sync(e);
	if (ret)
		goto out;
	ret = elx_caps_keep(flags->capabilities_keep, &err);
	if (ret) {
		log_error("--capabilities.keep: %s", err ? err : strerror(-ret));
		free(err);
		goto out;
	}
out:
	for (size_t i = 0; i < flags->nconfig_names; i++)
		elx_config_plan_free(&plans[i]);
	free(plans);
	return ret;
}

size_t elx_exporter_attached(const struct elx_exporter *e, size_t *total)
{
	size_t attached = 0;

	*total = 0;
	for (size_t i = 0; i < e->nobjects; i++) {
		attached += e->objects[i].nattached;
		*total += e->objects[i].nprograms;
	}
	return attached;
}

static int stats_enabled(struct elx_exporter *e)
{
	char c = '0';

	if (e->stats_fd < 0 || pread(e->stats_fd, &c, 1, 0) != 1)
		return 0;
	return c == '1';
}

int elx_exporter_render(struct elx_exporter *e, const char *page, char **body, size_t *len)
{
	struct elx_scrape scrape = { .abi_version = ELX_ABI_VERSION };
	char *err = NULL;
	int ret;

	scrape.stats_enabled = stats_enabled(e);
	for (size_t i = 0; i < e->nobjects; i++)
		elx_object_read(&e->objects[i], &e->config_scrapes[i], scrape.stats_enabled);
	scrape.nconfigs = (uint32_t)e->nobjects;
	scrape.configs = e->config_scrapes;
	ret = elx_lua_render(e->lua, page, &scrape, body, len, &err);
	if (ret) {
		log_lines(ELX_ERROR, err);
		free(err);
	}
	return ret;
}

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

static void handle_request(void *ctx, const struct elx_http_request *req,
			   struct elx_http_response *resp)
{
	struct elx_exporter *e = ctx;
	int is_get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (strcmp(req->path, e->flags->telemetry_path) == 0) {
		if (!is_get) {
			resp->allow = "GET, HEAD";
			set_text(resp, 405, "405 method not allowed\n");
			return;
		}
		if (elx_exporter_render(e, "scrape", &resp->body, &resp->body_len) != 0) {
			set_text(resp, 500, "500 the scrape failed: see the exporter's log\n");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		return;
	}
	if (e->flags->debug && strcmp(req->path, "/maps") == 0) {
		if (!is_get) {
			resp->allow = "GET, HEAD";
			set_text(resp, 405, "405 method not allowed\n");
			return;
		}
		if (elx_exporter_render(e, "maps", &resp->body, &resp->body_len) != 0) {
			set_text(resp, 500,
				 "500 reading the maps failed: see the exporter's log\n");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/plain; charset=utf-8";
		return;
	}
	if (strcmp(req->path, "/") == 0) {
		if (!is_get) {
			resp->allow = "GET, HEAD";
			set_text(resp, 405, "405 method not allowed\n");
			return;
		}
		resp->status = 200;
		resp->content_type = "text/html; charset=utf-8";
		if (asprintf(&resp->body, landing_page, e->flags->telemetry_path) < 0)
			resp->body = NULL;
		resp->body_len = resp->body ? strlen(resp->body) : 0;
		return;
	}
	set_text(resp, 404, "404 page not found\n");
}

static void on_signal(uv_signal_t *handle, int signum)
{
	struct elx_exporter *e = handle->data;

	log_info("received %s, shutting down", strsignal(signum));
	elx_systemd_stopping();
	uv_stop(e->loop);
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
	e->sigint.data = e->sigterm.data = e;
	uv_signal_start(&e->sigint, on_signal, SIGINT);
	uv_signal_start(&e->sigterm, on_signal, SIGTERM);
	/* The bound port, for --web.listen-address with port 0 (tests). */
	log_info("listening on %s (port %d), metrics at %s", e->flags->listen_address,
		 elx_http_server_port(e->http), e->flags->telemetry_path);
	snprintf(status, sizeof(status), "serving %zu configs on %s", e->nobjects,
		 e->flags->listen_address);
	elx_systemd_ready(status);
	uv_run(e->loop, UV_RUN_DEFAULT);
	return 0;
}

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
	if (e->loop) {
		uv_walk(e->loop, close_walk, NULL);
		uv_run(e->loop, UV_RUN_DEFAULT);
	}
	for (size_t i = 0; i < e->nobjects; i++)
		elx_object_close(&e->objects[i]);
	free(e->objects);
	free(e->config_scrapes);
	elx_lua_free(e->lua);
	if (e->stats_fd >= 0)
		close(e->stats_fd);
	memset(e, 0, sizeof(*e));
}
