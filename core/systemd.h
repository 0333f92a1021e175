/* Service-manager integration: sockets passed by systemd (--web.listen-address
 * fd://N) and readiness/stopping notifications (NOTIFY_SOCKET). */
#ifndef ELX_SYSTEMD_H
#define ELX_SYSTEMD_H

#include <stddef.h>

/* For "fd://N", the file descriptor of the N-th socket systemd passed (3+N),
 * checked against LISTEN_FDS and LISTEN_PID. Returns the fd, or -errno with a
 * static message in *err. */
int elx_systemd_listen_fd(const char *address, const char **err);

/* Tells the service manager, when NOTIFY_SOCKET is set; a no-op otherwise. */
void elx_systemd_ready(const char *status);
void elx_systemd_stopping(void);

#endif
