/* ebpf-lua-exporter: flags, logging, then load, serve, and shut down. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "exporter.h"
#include "flags.h"
#include "log.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static const enum elx_log_level levels[] = {
		[LIBBPF_WARN] = ELX_WARN, [LIBBPF_INFO] = ELX_INFO, [LIBBPF_DEBUG] = ELX_DEBUG
	};

	/* libbpf's info lines are about its own feature probing: debug for us. */
	elx_vlogf(level == LIBBPF_WARN ? levels[level] : ELX_DEBUG, fmt, ap);
	return 0;
}

int main(int argc, char **argv)
{
	struct elx_flags flags;
	struct elx_exporter exporter;
	size_t total = 0;
	int ret;

	switch (elx_flags_parse(&flags, argc, argv)) {
	case ELX_FLAGS_EXIT_OK:
		return 0;
	case ELX_FLAGS_ERROR:
		elx_flags_free(&flags);
		return 1;
	case ELX_FLAGS_OK:
		break;
	}
	/* A client that closes its connection while we write to it must cost
	 * that connection (the write fails with EPIPE), not the process. */
	signal(SIGPIPE, SIG_IGN);
	elx_log_setup(flags.debug, flags.log_timestamps);
	libbpf_set_print(libbpf_print);

	ret = elx_exporter_load(&exporter, &flags, uv_default_loop());
	if (ret == 0 && flags.config_check) {
		size_t attached = elx_generation_attached(exporter.gen, &total);

		log_info("config check passed: %zu configs loaded, %zu of %zu programs attached",
			 exporter.gen->nviews, attached, total);
	} else if (ret == 0)
		ret = elx_exporter_serve(&exporter);
	elx_exporter_free(&exporter);
	uv_loop_close(uv_default_loop());
	elx_flags_free(&flags);
	return ret ? 1 : 0;
}
