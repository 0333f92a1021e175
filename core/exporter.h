/* The running exporter: the current generation of configs, the HTTP server,
 * signals, reload triggers and cgroup_id_map syncing, all on one libuv loop. */
#ifndef ELX_EXPORTER_H
#define ELX_EXPORTER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "flags.h"
#include "generation.h"
#include "http.h"
#include "reloads.h"

struct elx_cgroup_watch;
struct elx_span_export;
struct elx_web_config_state;
struct elx_bpf_collector;
struct elx_prog_stats_control;
struct elx_process_targets;

/* Directories --config.watch follows: the config dir, its decoders/, and
 * every --decoders.path. */
#define ELX_MAX_WATCHES 16
/* Listening sockets: --web.listen-address given this often, or systemd's. */
#define ELX_MAX_LISTEN 64

struct elx_exporter {
	const struct elx_flags *flags;
	uv_loop_t *loop;
	struct elx_generation *gen;
	struct elx_http_server *http;
	uv_signal_t sigint, sigterm, sighup;
	int signals_started;
	int stopping; /* SIGINT or SIGTERM came: /-/ready answers 503 */
	int stats_fd; /* /proc/sys/kernel/bpf_stats_enabled, kept open */
	/* The listening sockets until the HTTP server takes them, and what
	 * each is (an address, or fd://N). */
	int listen_fds[ELX_MAX_LISTEN];
	char *listen_names[ELX_MAX_LISTEN];
	size_t nlisten;
	struct elx_web_config_state *web; /* --web.config.file, or NULL */
	unsigned scrapes_answering;	  /* metrics pages not sent yet: --web.max-requests */
	struct elx_cgroup_watch *cgroup_watch;
	struct elx_span_export *spans;	     /* OpenTelemetry spans of every config */
	struct elx_process_targets *targets; /* configs' `targets:`, or NULL */
	struct elx_about about;		     /* what the landing page and build_info say */
	char libbpf_version[16];
	/* Reloads, for the built-in metrics. */
	int last_reload_ok;
	uint64_t last_success_ms;
	uint64_t reloads_ok, reloads_failed;
	/* --config.watch: a debounce timer behind the directory watches. */
	uv_fs_event_t *watches[ELX_MAX_WATCHES];
	size_t nwatches;
	uv_timer_t *debounce;

	/* --collector.bpf and --prog-stats-mode, or NULL. */
	struct elx_bpf_collector *bpf_collector;
	struct elx_prog_stats_control *prog_stats;
	struct elx_reloads reloads; /* SIGHUP, POST /-/reload and the watch, coalesced */
	/* The last metrics page while responses still send it: scrapes that
	 * come meanwhile (up to ELX_SHARE_MS after it was rendered) send it
	 * too, rather than render and hold one body each. */
	struct elx_http_body *shared_body;
	uint64_t shared_at;
	char shared_type[96];
};

/* Loads every config (the first generation) and drops capabilities. Every
 * problem is logged before it returns; returns 0 or -errno. */
int elx_exporter_load(struct elx_exporter *e, const struct elx_flags *flags, uv_loop_t *loop);

/* Builds a new generation and, when all of it worked, puts it in place of
 * the running one; otherwise the running one stays, and *reasons (when
 * reasons is not NULL) gets the error lines, malloc'd. Returns 0 or -errno. */
int elx_exporter_reload(struct elx_exporter *e, const char *why, char **reasons);

/* Asks for a reload, coalesced with others (reloads.h); with `done`, it is
 * told the outcome of the reload that covers this request. 0 or -ENOMEM. */
int elx_exporter_request_reload(struct elx_exporter *e, const char *why, elx_reload_done_fn done,
				void *arg);

/* Serves HTTP and handles signals until SIGINT or SIGTERM. */
int elx_exporter_serve(struct elx_exporter *e);

/* Detaches and closes everything, at process exit: the last Lua state is
 * left to the exit (elx_generation_free_at_exit). */
void elx_exporter_free(struct elx_exporter *e);

/* What a scrape asks for beyond its page (routes.c reads it off the request). */
struct elx_render_options {
	double deadline; /* CLOCK_MONOTONIC seconds by which to be done, or 0 */
	/* collect[] and exclude[] (never both): config names */
	char *const *collect;
	size_t ncollect;
	char *const *exclude;
	size_t nexclude;
	const char *unknown; /* out: a name of theirs that no config has */
};

/* Reads every map (of the configs `opts` picks; NULL: all) and renders
 * `page` into resp (status, body, content type); the metrics page may be
 * one rendered for a scrape that is still being answered (resp->shared).
 * Returns 0, -ENOENT for a name no config has (opts->unknown), or -errno
 * (logged). */
int elx_exporter_render(struct elx_exporter *e, enum elx_page page, struct elx_render_options *opts,
			struct elx_http_response *resp);

/* Reads --web.config.file again if it changed (at most once a second) and
 * hands the server what changed. */
void elx_exporter_web_refresh(struct elx_exporter *e);

#endif
