/* libbpf reports why it failed only through its print callback: an errno
 * such as ENOENT ("No such file or directory") for an extern the kernel
 * lacks, or its own 4001 for a file that is no ELF. The first warning of an
 * operation is its reason; the lines after it are consequences ("failed to
 * load object") or a verifier log. */
#define _GNU_SOURCE
#include "libbpf_log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static char reason[512];

static void keep_reason(const char *fmt, va_list ap)
{
	char line[sizeof(reason)];
	const char *text = line;
	size_t len;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (strncmp(text, "libbpf: ", 8) == 0)
		text += 8;
	len = strcspn(text, "\n");
	snprintf(reason, sizeof(reason), "%.*s", (int)len, text);
}

static int print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list copy;

	if (level == LIBBPF_WARN && !reason[0]) {
		va_copy(copy, ap);
		keep_reason(fmt, copy);
		va_end(copy);
	}
	elx_vlogf(level == LIBBPF_WARN ? ELX_WARN : ELX_DEBUG, fmt, ap);
	return 0;
}

static int keep_only(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN && !reason[0])
		keep_reason(fmt, ap);
	return 0;
}

void elx_libbpf_log_silence(void)
{
	libbpf_set_print(keep_only);
}

void elx_libbpf_log_setup(void)
{
	libbpf_set_print(print);
}

void elx_libbpf_reason_clear(void)
{
	reason[0] = '\0';
}

const char *elx_libbpf_reason(void)
{
	return reason[0] ? reason : NULL;
}

const char *elx_libbpf_why(int ret)
{
	static char text[256];

	if (reason[0])
		return reason;
	if (libbpf_strerror(ret, text, sizeof(text)) != 0)
		snprintf(text, sizeof(text), "%s", strerror(-ret));
	return text;
}
