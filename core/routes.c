/* Paths: the metrics path, / (the landing page), /maps with --debug,
 * /-/healthy and /-/ready for probes, and /-/reload with
 * --web.enable-lifecycle. Pages come from Lua (RENDER); the
 * answers to mistakes are written here. */
#define _GNU_SOURCE
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accept.h"
#include "exporter.h"

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

static void render_page(struct elx_exporter *e, enum elx_page page, const char *accept,
			struct elx_http_response *resp)
{
	if (elx_exporter_render(
		e, page, elx_accept_format(accept, e->flags->web_enable_openmetrics), resp) != 0)
		set_text(resp, 500, "500 rendering the page failed: see the exporter's log\n");
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

/* /-/healthy and /-/ready, as Prometheus names them: GET or HEAD. Returns
 * whether the path was one of them. */
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

/* The answer to POST /-/reload, once the reload that covers it ran. A
 * failed reload says why in its answer too: the operator who asked for it
 * may not read the log. */
static void answer_reload(void *arg, int ret, const char *reasons)
{
	struct elx_http_response resp = { 0 };

	if (ret == 0) {
		set_text(&resp, 200, "reloaded\n");
	} else if (ret == -ECANCELED) {
		set_text(&resp, 503, "503 the exporter is shutting down\n");
	} else {
		resp.status = 500;
		if (asprintf(&resp.body,
			     "500 the reload failed and the previous configuration keeps "
			     "running:\n%s",
			     reasons ? reasons : "see the exporter's log\n") < 0)
			resp.body = NULL;
		resp.body_len = resp.body ? strlen(resp.body) : 0;
	}
	elx_http_answer(arg, &resp);
}

/* Reloads run between requests, several requests to one reload: the
 * answer waits for the reload that starts after this request came. */
static void reload(struct elx_exporter *e, const struct elx_http_request *req,
		   struct elx_http_response *resp)
{
	struct elx_http_deferred *later = elx_http_defer(req);

	if (later && elx_exporter_request_reload(e, "POST /-/reload", answer_reload, later) == 0)
		return;
	elx_http_undefer(later);
	set_text(resp, 503, "503 out of memory: no reload\n");
}

/* As Prometheus's lifecycle API: POST or PUT, and only when enabled. */
static void lifecycle_reload(struct elx_exporter *e, const struct elx_http_request *req,
			     struct elx_http_response *resp)
{
	if (!method_is(req, "POST", "PUT")) {
		resp->allow = "POST, PUT";
		set_text(resp, 405, "405 method not allowed: POST or PUT to reload\n");
	} else if (!e->flags->web_enable_lifecycle) {
		set_text(resp, 403,
			 "403 the lifecycle API is not enabled (--web.enable-lifecycle)\n");
	} else {
		reload(e, req, resp);
	}
}

/* The page a GET of `path` renders, or -1. */
static int page_of(const struct elx_exporter *e, const char *path)
{
	if (strcmp(path, e->flags->telemetry_path) == 0)
		return ELX_PAGE_METRICS;
	if (strcmp(path, "/") == 0)
		return ELX_PAGE_LANDING;
	if (e->flags->debug && strcmp(path, "/maps") == 0)
		return ELX_PAGE_MAPS;
	return -1;
}

void elx_routes_handle(void *ctx, const struct elx_http_request *req,
		       struct elx_http_response *resp)
{
	struct elx_exporter *e = ctx;
	int page = page_of(e, req->path);

	if (handle_probe(e, req, resp)) {
		return;
	} else if (strcmp(req->path, "/-/reload") == 0) {
		lifecycle_reload(e, req, resp);
	} else if (page < 0) {
		set_text(resp, 404, "404 page not found\n");
	} else if (!method_is(req, "GET", "HEAD")) {
		resp->allow = "GET, HEAD";
		set_text(resp, 405, "405 method not allowed\n");
	} else {
		render_page(e, (enum elx_page)page, req->accept, resp);
	}
}
