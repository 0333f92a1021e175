/* Sockets from systemd socket activation and sd_notify messages, through
 * libsystemd. ebpf_exporter reads fd://N as the N-th passed socket, not as
 * file descriptor N: so do we, for the same unit files to work. */
#include "systemd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

int elx_systemd_listen_fd(const char *address, const char **err)
{
	const char *num = address + strlen("fd://");
	char *end;
	long index;
	int n;

	errno = 0;
	index = strtol(num, &end, 10);
	if (*num == '\0' || *end != '\0' || errno || index < 0) {
		*err = "fd://N needs N, the index of a socket passed by systemd (0 for the first)";
		return -EINVAL;
	}
	n = sd_listen_fds(0);
	if (n < 0) {
		*err = "LISTEN_FDS and LISTEN_PID from systemd are malformed";
		return n;
	}
	if (n == 0) {
		*err =
		    "no sockets were passed (no LISTEN_FDS for this process): use a .socket unit";
		return -ENOENT;
	}
	if (index >= n) {
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
