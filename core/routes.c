/* Paths: the metrics path, / (the landing page), /maps with --debug,
 * /-/healthy and /-/ready for probes, and /-/reload with
 * --web.enable-lifecycle. Pages come from Lua (RENDER); the
 * answers to mistakes are written here. When the web config has
 * basic_auth_users, every path but the probes answers to them only (probes
 * tell no more than that the exporter serves, and kubelets and health
 * checks carry no credentials). */
#define _GNU_SOURCE
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exporter.h"
#include "log.h"
#include "scrape_params.h"
#include "web_auth.h"
#include "web_config.h"

/* A request kept while basic auth hashes its password on the thread pool:
 * the connection's strings may be gone by then. */
struct kept_request {
	struct elx_exporter *e;
	struct elx_http_deferred *later;
	char *method, *path, *query, *scrape_timeout;
	int accept_gzip;
	double arrived;
};

static double monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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
	if (elx_exporter_render(e, page, NULL, resp) != 0)
		set_text(resp, 500, "500 rendering the page failed: see the exporter's log\n");
}

static void scrape_done(void *arg)
{
	struct elx_exporter *e = arg;

	e->scrapes_answering--;
}

static void set_textf(struct elx_http_response *resp, int status, const char *fmt, const char *arg)
{
	resp->status = status;
	if (asprintf(&resp->body, fmt, arg) < 0)
		resp->body = NULL;
	resp->body_len = resp->body ? strlen(resp->body) : 0;
}

/* The metrics page: within the scrape's time budget, of the configs
 * collect[] or exclude[] pick, and no more than --web.max-requests of them
 * being answered at once. */
static void metrics_page(struct elx_exporter *e, const struct elx_http_request *req, double arrived,
			 struct elx_http_response *resp)
{
	struct elx_render_options opts = { 0 };
	struct elx_scrape_params p;
	const char *err = NULL;
	long max = e->flags->web_max_requests;
	double budget;
	int r = elx_scrape_params_parse(req->query, req->scrape_timeout, &p, &err);

	if (r) {
		set_textf(resp, r == -ENOMEM ? 500 : 400, "400 %s\n", err ? err : "out of memory");
		return;
	}
	if (max && e->scrapes_answering >= (unsigned long)max) {
		set_textf(resp, 503, "503 %s scrapes are being answered (--web.max-requests)\n",
			  "too many");
		elx_scrape_params_free(&p);
		return;
	}
	budget = elx_scrape_params_budget(&p, (double)e->flags->web_timeout_offset_ns * 1e-9);
	opts.deadline = budget > 0 ? arrived + budget : 0;
	opts.collect = p.collect;
	opts.ncollect = p.ncollect;
	opts.exclude = p.exclude;
	opts.nexclude = p.nexclude;
	r = elx_exporter_render(e, ELX_PAGE_METRICS, &opts, resp);
	if (r == -ENOENT) {
		set_textf(resp, 400, "400 no config is named \"%s\" (collect[], exclude[])\n",
			  opts.unknown);
	} else if (r) {
		set_text(resp, 500, "500 rendering the page failed: see the exporter's log\n");
	} else {
		e->scrapes_answering++;
		resp->on_done = scrape_done;
		resp->on_done_arg = e;
	}
	elx_scrape_params_free(&p);
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
 * answer waits for the reload that starts after this request came. `held`
 * is the request's answer when it was deferred already (basic auth).
 * Returns 1 when the answer is the reload's to give. */
static int reload(struct elx_exporter *e, const struct elx_http_request *req,
		  struct elx_http_response *resp, struct elx_http_deferred *held)
{
	struct elx_http_deferred *later = held ? held : elx_http_defer(req);

	if (later && elx_exporter_request_reload(e, "POST /-/reload", answer_reload, later) == 0)
		return 1;
	if (!held)
		elx_http_undefer(later);
	set_text(resp, 503, "503 out of memory: no reload\n");
	return 0;
}

/* As Prometheus's lifecycle API: POST or PUT, and only when enabled. */
static int lifecycle_reload(struct elx_exporter *e, const struct elx_http_request *req,
			    struct elx_http_response *resp, struct elx_http_deferred *held)
{
	if (!method_is(req, "POST", "PUT")) {
		resp->allow = "POST, PUT";
		set_text(resp, 405, "405 method not allowed: POST or PUT to reload\n");
	} else if (!e->flags->web_enable_lifecycle) {
		set_text(resp, 403,
			 "403 the lifecycle API is not enabled (--web.enable-lifecycle)\n");
	} else {
		return reload(e, req, resp, held);
	}
	return 0;
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

/* A request that may pass. Returns 1 when `held` (see reload) was taken. */
static int route(struct elx_exporter *e, const struct elx_http_request *req, double arrived,
		 struct elx_http_response *resp, struct elx_http_deferred *held)
{
	int page = page_of(e, req->path);

	if (strcmp(req->path, "/-/reload") == 0)
		return lifecycle_reload(e, req, resp, held);
	if (page < 0) {
		set_text(resp, 404, "404 page not found\n");
	} else if (!method_is(req, "GET", "HEAD")) {
		resp->allow = "GET, HEAD";
		set_text(resp, 405, "405 method not allowed\n");
	} else if (page == ELX_PAGE_METRICS) {
		metrics_page(e, req, arrived, resp);
	} else {
		render_page(e, (enum elx_page)page, resp);
	}
	return 0;
}

/* No credentials, or wrong ones: as exporter-toolkit answers. */
static void unauthorized(struct elx_http_response *resp)
{
	set_text(resp, 401, "401 Unauthorized\n");
	resp->headers = "WWW-Authenticate: Basic\r\n";
}

static void kept_free(struct kept_request *k)
{
	free(k->method);
	free(k->path);
	free(k->query);
	free(k->scrape_timeout);
	free(k);
}

/* Basic auth is done with a request it could not answer from its cache. */
static void verified(void *arg, int ok)
{
	struct kept_request *k = arg;
	struct elx_http_response resp = { .status = 200 };
	struct elx_http_request req = {
		.method = k->method,
		.path = k->path,
		.query = k->query,
		.accept_gzip = k->accept_gzip,
		.body = "",
		.scrape_timeout = k->scrape_timeout,
	};

	if (ok < 0)
		set_text(&resp, 503, "503 the exporter is shutting down\n");
	else if (!ok)
		unauthorized(&resp);
	else if (route(k->e, &req, k->arrived, &resp, k->later)) {
		kept_free(k);
		return;
	}
	elx_http_answer(k->later, &resp);
	kept_free(k);
}

static char *dup_or_null(const char *s, int *failed)
{
	char *d = s ? strdup(s) : NULL;

	*failed |= s && !d;
	return d;
}

/* Defers the request until bcrypt has run for its credentials. */
static void verify_later(struct elx_exporter *e, const struct elx_http_request *req, double arrived,
			 struct elx_http_response *resp)
{
	struct kept_request *k = calloc(1, sizeof(*k));
	int failed = !k, r = -ENOMEM;

	if (k) {
		*k = (struct kept_request){ .e = e,
					    .accept_gzip = req->accept_gzip,
					    .arrived = arrived };
		k->method = dup_or_null(req->method, &failed);
		k->path = dup_or_null(req->path, &failed);
		k->query = dup_or_null(req->query, &failed);
		k->scrape_timeout = dup_or_null(req->scrape_timeout, &failed);
	}
	if (!failed && (k->later = elx_http_defer(req)))
		r = elx_web_auth_verify(elx_web_config_auth(e->web), req->authorization, verified,
					k);
	if (!r)
		return;
	if (k)
		elx_http_undefer(k->later);
	if (r == -EINVAL)
		unauthorized(resp);
	else
		set_text(resp, 503,
			 r == -EBUSY ? "503 too many logins are being checked\n"
				     : "503 out of memory\n");
	if (k)
		kept_free(k);
}

void elx_routes_handle(void *ctx, const struct elx_http_request *req,
		       struct elx_http_response *resp)
{
	struct elx_exporter *e = ctx;
	double arrived = monotonic();

	elx_exporter_web_refresh(e);
	if (handle_probe(e, req, resp))
		return;
	switch (elx_web_auth_check(elx_web_config_auth(e->web), req->authorization)) {
	case ELX_AUTH_OK:
		route(e, req, arrived, resp, NULL);
		break;
	case ELX_AUTH_DENIED:
		log_debug("basic auth: %s %s without valid credentials", req->method, req->path);
		unauthorized(resp);
		break;
	case ELX_AUTH_VERIFY:
		verify_later(e, req, arrived, resp);
		break;
	}
}
