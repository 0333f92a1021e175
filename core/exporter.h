/* The running exporter: its configs' objects, the Lua state, the HTTP server
 * and the signal handlers, all on one libuv loop. */
#ifndef ELX_EXPORTER_H
#define ELX_EXPORTER_H

#include <stddef.h>
#include <uv.h>

#include "abi.h"
#include "flags.h"
#include "http.h"
#include "lua_host.h"
#include "object.h"

struct elx_exporter {
	const struct elx_flags *flags;
	uv_loop_t *loop;
	struct elx_lua *lua;
	struct elx_object *objects;
	size_t nobjects;
	struct elx_config_scrape *config_scrapes;
	struct elx_http_server *http;
	uv_signal_t sigint, sigterm;
	int stats_fd;		 /* /proc/sys/kernel/bpf_stats_enabled, kept open */
	char listen_address[32]; /* fd://<descriptor> for a socket systemd passed, or "" */
	/* cgroup_id_map: fanotify's fd watched, or a timer for rescans. */
	uv_poll_t cgroup_poll;
	uv_timer_t cgroup_timer;
	int cgroup_watch; /* 1 polling the fd, 2 on the timer, 0 none */
};

/* Opens, validates, loads and attaches every config. Every config error is
 * logged before it returns; returns 0 or -errno. */
int elx_exporter_load(struct elx_exporter *e, const struct elx_flags *flags, uv_loop_t *loop);

/* Serves HTTP and handles SIGINT/SIGTERM until one arrives. */
int elx_exporter_serve(struct elx_exporter *e);

/* Detaches and closes everything. */
void elx_exporter_free(struct elx_exporter *e);

/* Programs attached, with their total in *total. */
size_t elx_exporter_attached(const struct elx_exporter *e, size_t *total);

/* Reads every map and renders `page` ("scrape" for /metrics, "maps" for the
 * --debug /maps page) into a malloc'd body. */
int elx_exporter_render(struct elx_exporter *e, const char *page, char **body, size_t *len);

#endif
