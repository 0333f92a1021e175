/* Where the HTTP server listens: --web.listen-address, parsed and turned
 * into a listening TCP socket. "[host]:port" is bound here; "fd://N" is the
 * N-th socket systemd passed, as ebpf_exporter reads it (never a raw file
 * descriptor number). */
#ifndef ELX_LISTEN_H
#define ELX_LISTEN_H

#include <stdint.h>

enum elx_listen_kind {
	ELX_LISTEN_BIND,    /* ":port", "host:port", "[v6addr]:port" */
	ELX_LISTEN_SYSTEMD, /* "fd://N" */
};

struct elx_listen_address {
	enum elx_listen_kind kind;
	char host[256];	      /* BIND: "" for every address, IPv6 and IPv4 */
	int host_in_brackets; /* BIND: "[...]", a numeric IPv6 address */
	uint16_t port;	      /* BIND: 0 takes a free port */
	long systemd_index;   /* SYSTEMD: the N of fd://N, 0 for the first socket */
};

/* Parses an address without touching the system. Returns 0, or -EINVAL with
 * a static message in *err_msg. */
int elx_listen_parse(const char *text, struct elx_listen_address *out, const char **err_msg);

/* Whether `text` names a socket systemd passed rather than one to bind. */
int elx_listen_is_systemd(const char *text);

/* A listening TCP socket for `text`: bound and listening for an address
 * (":port" listens on IPv6 and IPv4 at once, or IPv4 alone where the kernel
 * has no IPv6), or the socket systemd passed, checked. The caller owns it.
 * Returns the descriptor, or -errno with a static message in *err_msg. */
int elx_listen_open(const char *text, const char **err_msg);

/* The local port of socket `fd`, or -1. */
int elx_listen_port(int fd);

#endif
