/* Sockets from systemd socket activation and sd_notify messages, through
 * libsystemd. Sockets are asked for by index, the N of fd://N: ebpf_exporter
 * reads that as the N-th passed socket, not as file descriptor N, and so do
 * we (listen.c), for the same unit files to work. */
#include "systemd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

int elx_systemd_listen_count(const char **err)
{
	int n = sd_listen_fds(0);

	if (n < 0) {
		*err = "LISTEN_FDS and LISTEN_PID from systemd are malformed";
		return n;
	}
	if (n == 0) {
		*err =
		    "no sockets were passed (no LISTEN_FDS for this process): use a .socket unit";
		return -ENOENT;
	}
	return n;
}

int elx_systemd_listen_fd(long index, const char **err)
{
	int n = elx_systemd_listen_count(err);

	if (n < 0)
		return n;
	if (index < 0 || index >= n) {
		*err = "fd://N is beyond the sockets systemd passed (LISTEN_FDS)";
		return -ENOENT;
	}
	if (sd_is_socket(SD_LISTEN_FDS_START + (int)index, 0, SOCK_STREAM, 1) <= 0) {
		*err = "the passed file descriptor is not a listening stream socket";
		return -ENOTSOCK;
	}
	return SD_LISTEN_FDS_START + (int)index;
}

void elx_systemd_ready(const char *status)
{
	int ret = sd_notifyf(0, "READY=1\nSTATUS=%s", status);

	if (ret < 0)
		log_warn("sd_notify READY: %s", strerror(-ret));
}

void elx_systemd_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=detaching programs");
}
