/* ebpf-lua-exporter: flags, logging, then load, serve, and shut down. */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "exporter.h"
#include "flags.h"
#include "libbpf_log.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct elx_flags flags;
	struct elx_exporter exporter;
	size_t total = 0;
	int ret;

	switch (elx_flags_parse(&flags, argc, argv)) {
	case ELX_FLAGS_EXIT_OK: /* --help, --version */
		elx_flags_free(&flags);
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
	/* Blocks past 128 KiB (scrape bodies, series stores' tables) come from
	 * mmap and go back to the system when freed. glibc would otherwise raise
	 * this threshold to the size of each such block freed, and serve the next
	 * ones from its heap, whose freed memory stays in our RSS (+5 MiB with
	 * 100,000 series). */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	elx_log_setup(flags.debug, flags.log_timestamps);
	elx_libbpf_log_setup();

	ret = elx_exporter_load(&exporter, &flags, uv_default_loop());
	if (ret == 0 && flags.config_check) {
		size_t attached = elx_generation_attached(exporter.gen, &total);

		if (attached == total)
			log_info("config check passed: %zu configs loaded, %zu of %zu programs "
				 "attached",
				 exporter.gen->nviews, attached, total);
		else
			log_warn("config check passed: %zu configs loaded, %zu of %zu programs not "
				 "attached (the errors above say why; --config.strict fails then)",
				 exporter.gen->nviews, total - attached, total);
	} else if (ret == 0)
		ret = elx_exporter_serve(&exporter);
	elx_exporter_free(&exporter);
	uv_loop_close(uv_default_loop());
	elx_flags_free(&flags);
	return ret ? 1 : 0;
}
