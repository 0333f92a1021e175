/* Logging to stderr: "<time> <level>: <message>", the time in UTC with
 * milliseconds, left out with --log.no-timestamps (journald adds its own). */
#define _GNU_SOURCE
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abi.h"

static int log_debug_on;
static int log_timestamps = 1;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

/* Error lines kept while a capture is on, for a reply that must say why. */
static char *captured;
static size_t captured_len;
static int capturing;

static void capture(const char *msg, size_t len)
{
	char *grown = realloc(captured, captured_len + len + 2);

	if (!grown)
		return;
	captured = grown;
	memcpy(captured + captured_len, msg, len);
	captured_len += len;
	captured[captured_len++] = '\n';
	captured[captured_len] = '\0';
}

void elx_log_capture_start(void)
{
	free(captured);
	captured = NULL;
	captured_len = 0;
	capturing = 1;
}

char *elx_log_capture_stop(void)
{
	char *text = captured;

	captured = NULL;
	captured_len = 0;
	capturing = 0;
	return text;
}

void elx_log_setup(int debug, int timestamps)
{
	log_debug_on = debug;
	log_timestamps = timestamps;
}

int elx_log_debug_enabled(void)
{
	return log_debug_on;
}

static void log_line(enum elx_log_level level, const char *msg, size_t len)
{
	char stamp[40] = "";

	if (level == ELX_DEBUG && !log_debug_on)
		return;
	/* Messages from libbpf and Lua end with their own newline. */
	while (len > 0 && msg[len - 1] == '\n')
		len--;
	if (log_timestamps) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	if (capturing && level == ELX_ERROR)
		capture(msg, len);
	/* One fprintf per line so that lines from several threads never interleave. */
	fprintf(stderr, "%s%s: %.*s\n", stamp, level_names[level], (int)len, msg);
}

void elx_vlogf(enum elx_log_level level, const char *fmt, va_list ap)
{
	char buf[1024];
	va_list again;

	if (level == ELX_DEBUG && !log_debug_on)
		return;
	va_copy(again, ap);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n >= 0 && (size_t)n < sizeof(buf)) {
		log_line(level, buf, (size_t)n);
	} else if (n >= 0) {
		/* Verifier logs run to many kilobytes: never cut them. */
		char *big = NULL;

		if (vasprintf(&big, fmt, again) >= 0) {
			log_line(level, big, strlen(big));
			free(big);
		}
	}
	va_end(again);
}

void elx_logf(enum elx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	elx_vlogf(level, fmt, ap);
	va_end(ap);
}

ELX_EXPORT void elx_log(int level, const char *msg)
{
	if (level < ELX_DEBUG || level > ELX_ERROR)
		level = ELX_ERROR;
	log_line((enum elx_log_level)level, msg, strlen(msg));
}

void elx_log_lines(enum elx_log_level level, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		elx_logf(level, "%.*s", (int)len, p);
		p += len + (nl ? 1 : 0);
	}
}

int elx_errorf(char **err, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(err, fmt, ap) < 0)
		*err = NULL;
	va_end(ap);
	return ret;
}
