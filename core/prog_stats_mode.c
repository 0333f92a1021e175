/* Program run stats on, off, or in windows, through BPF_ENABLE_STATS fds:
 * the kernel counts while any such fd is open, so closing ours ends our
 * part in it (another holder, or the sysctl, may keep it counting). */
#define _GNU_SOURCE
#include "prog_stats_mode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"

struct elx_prog_stats_control {
	struct elx_prog_stats stats;
	struct elx_prog_stats now; /* what the last read handed out */
	uv_loop_t *loop;
	uv_timer_t *every; /* sample: opens a window each interval */
	uv_timer_t *close; /* sample: closes it after the duration */
	int fd;		   /* the BPF_ENABLE_STATS fd while stats are on, or -1 */
	uint64_t on_since; /* uv_hrtime() when the fd was opened */
	int said_failure;
};

static void turn_on(struct elx_prog_stats_control *m)
{
	int fd;

	if (m->fd >= 0)
		return;
	fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0) {
		m->stats.errors++;
		if (!m->said_failure++)
			log_error("--prog-stats-mode: the kernel refused to count program runs "
				  "(BPF_ENABLE_STATS: %s); it needs CAP_SYS_ADMIN, which "
				  "--capabilities.keep must keep",
				  strerror(-fd));
		return;
	}
	m->fd = fd;
	m->on_since = uv_hrtime();
	m->stats.on = 1;
	m->stats.windows++;
}

static void turn_off(struct elx_prog_stats_control *m)
{
	if (m->fd < 0)
		return;
	close(m->fd);
	m->fd = -1;
	m->stats.on = 0;
	m->stats.on_ns += uv_hrtime() - m->on_since;
}

static void on_close(uv_timer_t *t)
{
	turn_off(t->data);
}

static void on_window(uv_timer_t *t)
{
	struct elx_prog_stats_control *m = t->data;

	turn_on(m);
	if (m->fd >= 0)
		uv_timer_start(m->close, on_close, m->stats.duration_ns / 1000000, 0);
}

static uv_timer_t *new_timer(struct elx_prog_stats_control *m)
{
	uv_timer_t *t = calloc(1, sizeof(*t));

	if (t) {
		uv_timer_init(m->loop, t);
		t->data = m;
	}
	return t;
}

int elx_prog_stats_mode_start(uv_loop_t *loop, const struct elx_flags *flags,
			      struct elx_prog_stats_control **out)
{
	struct elx_prog_stats_control *m;

	*out = NULL;
	if (flags->prog_stats_mode == ELX_PROG_STATS_DISABLED)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->loop = loop;
	m->fd = -1;
	m->stats.mode = (uint32_t)flags->prog_stats_mode;
	if (flags->prog_stats_mode == ELX_PROG_STATS_ENABLED) {
		turn_on(m);
		*out = m;
		return 0;
	}
	m->stats.interval_ns = flags->prog_stats_sample_interval_ns;
	m->stats.duration_ns = flags->prog_stats_sample_duration_ns;
	m->every = new_timer(m);
	m->close = new_timer(m);
	if (!m->every || !m->close) {
		elx_prog_stats_mode_stop(m);
		return -ENOMEM;
	}
	/* The first window opens now, not an interval from now. */
	uv_timer_start(m->every, on_window, 0, m->stats.interval_ns / 1000000);
	log_info("--prog-stats-mode=sample: program run stats on for %.3f s every %.3f s",
		 m->stats.duration_ns / 1e9, m->stats.interval_ns / 1e9);
	*out = m;
	return 0;
}

const struct elx_prog_stats *elx_prog_stats_mode_read(struct elx_prog_stats_control *m)
{
	if (!m)
		return NULL;
	/* The open window counts up to now. */
	m->now = m->stats;
	if (m->fd >= 0)
		m->now.on_ns += uv_hrtime() - m->on_since;
	return &m->now;
}

static void free_timer(uv_handle_t *h)
{
	free(h);
}

void elx_prog_stats_mode_stop(struct elx_prog_stats_control *m)
{
	if (!m)
		return;
	turn_off(m);
	if (m->every)
		uv_close((uv_handle_t *)m->every, free_timer);
	if (m->close)
		uv_close((uv_handle_t *)m->close, free_timer);
	free(m);
}
