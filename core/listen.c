/* --web.listen-address: parsing its forms, binding an address (dual-stack for
 * ":port") and taking a socket systemd passed. Everything is checked and
 * listening before the HTTP server builds a libuv handle on it, so every
 * error comes with a message of its own. */
#define _GNU_SOURCE
#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "systemd.h"

#define SYSTEMD_PREFIX "fd://"

/* ---------------------------------------------------------------- parsing */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtol(s, &end, 10);
	if (*end || errno || n > 65535)
		return -EINVAL;
	*port = (uint16_t)n;
	return 0;
}

static int parse_systemd_index(const char *s, long *index, const char **err_msg)
{
	char *end;

	errno = 0;
	*index = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno) {
		*err_msg =
		    "fd://N needs N, the index of a socket passed by systemd (0 for the first)";
		return -EINVAL;
	}
	return 0;
}

/* "host:port", ":port" or "[v6addr]:port". */
static int parse_host_port(const char *text, struct elx_listen_address *out, const char **err_msg)
{
	const char *host = text, *port;
	size_t host_len;

	if (*text == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':') {
			*err_msg = "an IPv6 listen address needs the form [addr]:port";
			return -EINVAL;
		}
		host = text + 1;
		host_len = (size_t)(close - host);
		port = close + 2;
		out->host_in_brackets = 1;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon) {
			*err_msg = "the listen address needs a port: host:port or :port";
			return -EINVAL;
		}
		host_len = (size_t)(colon - text);
		port = colon + 1;
		if (memchr(text, ':', host_len)) {
			*err_msg = "an IPv6 listen address needs brackets: [addr]:port";
			return -EINVAL;
		}
	}
	if (parse_port(port, &out->port) < 0) {
		*err_msg = "the listen port must be a number from 0 to 65535";
		return -EINVAL;
	}
	if (host_len >= sizeof(out->host) || (out->host_in_brackets && host_len == 0)) {
		*err_msg = "invalid host in the listen address";
		return -EINVAL;
	}
	memcpy(out->host, host, host_len);
	out->host[host_len] = '\0';
	return 0;
}

int elx_listen_is_systemd(const char *text)
{
	return strncmp(text, SYSTEMD_PREFIX, strlen(SYSTEMD_PREFIX)) == 0;
}

int elx_listen_parse(const char *text, struct elx_listen_address *out, const char **err_msg)
{
	memset(out, 0, sizeof(*out));
	if (elx_listen_is_systemd(text)) {
		out->kind = ELX_LISTEN_SYSTEMD;
		return parse_systemd_index(text + strlen(SYSTEMD_PREFIX), &out->systemd_index,
					   err_msg);
	}
	out->kind = ELX_LISTEN_BIND;
	return parse_host_port(text, out, err_msg);
}

/* ---------------------------------------------------------------- binding */

/* "cannot bind the listen address: <errno text>", in a static buffer as the
 * other messages are static strings (the exporter has one thread). */
static const char *bind_error(int ret)
{
	static char text[128];

	snprintf(text, sizeof(text), "cannot bind the listen address: %s", strerror(-ret));
	return text;
}

/* A new socket bound to one address; returns it or -errno. */
static int bind_socket(const struct sockaddr *sa, socklen_t sa_len, int dual_stack)
{
	int fd, one = 1, zero = 0, r;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A restart must not wait for the old connections' TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (dual_stack && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0) ||
	    bind(fd, sa, sa_len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* ":port": "::" serves IPv4 too; without IPv6 in the kernel, 0.0.0.0. */
static int bind_any(uint16_t port, const char **err_msg)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
	int fd;

	sin6.sin6_port = htons(port);
	sin.sin_port = htons(port);
	fd = bind_socket((struct sockaddr *)&sin6, sizeof(sin6), 1);
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL)
		fd = bind_socket((struct sockaddr *)&sin, sizeof(sin), 0);
	if (fd < 0)
		*err_msg = bind_error(fd);
	return fd;
}

static int resolve_error(int gai_error, int numeric, const char **err_msg)
{
	if (gai_error == EAI_MEMORY) {
		*err_msg = "out of memory resolving the listen host";
		return -ENOMEM;
	}
	if (gai_error == EAI_AGAIN) {
		*err_msg = "temporary failure resolving the listen host";
		return -EAGAIN;
	}
	*err_msg = numeric ? "invalid IPv6 address in the listen address"
			   : "cannot resolve the listen host";
	return -EINVAL;
}

static int bind_host(const struct elx_listen_address *addr, const char **err_msg)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags =
		    AI_PASSIVE | AI_NUMERICSERV | (addr->host_in_brackets ? AI_NUMERICHOST : 0),
	};
	struct addrinfo *res = NULL, *ai;
	char port[8];
	int fd;

	snprintf(port, sizeof(port), "%u", addr->port);
	fd = getaddrinfo(addr->host, port, &hints, &res);
	if (fd)
		return resolve_error(fd, addr->host_in_brackets, err_msg);
	/* The first address that binds wins, as getaddrinfo ordered them. */
	fd = -EADDRNOTAVAIL;
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = bind_socket(ai->ai_addr, ai->ai_addrlen, 0);
	freeaddrinfo(res);
	if (fd < 0)
		*err_msg = bind_error(fd);
	return fd;
}

static char listen_error[128];

/* Binds and listens; listening here rather than in uv_listen reports every
 * error before a libuv handle exists. */
static int open_bound(const struct elx_listen_address *addr, const char **err_msg)
{
	int fd = addr->host[0] ? bind_host(addr, err_msg) : bind_any(addr->port, err_msg);
	int r;

	if (fd < 0)
		return fd;
	if (listen(fd, SOMAXCONN) < 0) {
		r = -errno;
		snprintf(listen_error, sizeof(listen_error), "cannot listen on the address: %s",
			 strerror(-r));
		*err_msg = listen_error;
		close(fd);
		return r;
	}
	return fd;
}

/* systemd checked that it is a listening stream socket; the HTTP server
 * also needs it to be TCP. */
static int take_systemd_socket(long index, const char **err_msg)
{
	int fd = elx_systemd_listen_fd(index, err_msg), domain = 0;
	socklen_t len = sizeof(domain);

	if (fd < 0)
		return fd;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (domain != AF_INET && domain != AF_INET6)) {
		*err_msg = "the socket systemd passed is not a TCP socket (IPv4 or IPv6)";
		return -EAFNOSUPPORT;
	}
	return fd;
}

int elx_listen_open(const char *text, const char **err_msg)
{
	struct elx_listen_address addr;
	int r = elx_listen_parse(text, &addr, err_msg);

	if (r < 0)
		return r;
	if (addr.kind == ELX_LISTEN_SYSTEMD)
		return take_systemd_socket(addr.systemd_index, err_msg);
	return open_bound(&addr, err_msg);
}

int elx_listen_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}
