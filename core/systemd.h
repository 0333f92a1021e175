/* Service-manager integration: sockets passed by systemd (socket activation)
 * and readiness/stopping notifications (NOTIFY_SOCKET). */
#ifndef ELX_SYSTEMD_H
#define ELX_SYSTEMD_H

#include <stddef.h>

/* The file descriptor of the socket systemd passed at `index` (0 for the
 * first: 3+index), checked against LISTEN_FDS and LISTEN_PID and to be a
 * listening stream socket. Returns the fd, or -errno with a static message
 * in *err. */
int elx_systemd_listen_fd(long index, const char **err);

/* How many sockets systemd passed (1 or more), or -errno with a static
 * message in *err (none passed, or LISTEN_FDS malformed). */
int elx_systemd_listen_count(const char **err);

/* Tells the service manager, when NOTIFY_SOCKET is set; a no-op otherwise. */
void elx_systemd_ready(const char *status);
void elx_systemd_stopping(void);

#endif
