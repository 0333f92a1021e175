/* Tests of --web.listen-address: every form parsed to exact fields, every
 * mistake to its exact message, real sockets bound (dual-stack for ":port")
 * and accepting, and fd://N taken from a socket-activation environment set
 * up as systemd would (LISTEN_PID, LISTEN_FDS, sockets from fd 3 on). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "listen.h"

/* ---------------------------------------------------------------- parsing */

static void expect_bind(const char *text, const char *host, int brackets, int port)
{
	struct elx_listen_address a;
	const char *msg = NULL;

	CHECK_INT(elx_listen_parse(text, &a, &msg), 0);
	CHECK(msg == NULL);
	CHECK_INT(a.kind, ELX_LISTEN_BIND);
	CHECK_STR(a.host, host);
	CHECK_INT(a.host_in_brackets, brackets);
	CHECK_INT(a.port, port);
	CHECK_INT(elx_listen_is_systemd(text), 0);
}

static void expect_systemd(const char *text, long index)
{
	struct elx_listen_address a;
	const char *msg = NULL;

	CHECK_INT(elx_listen_parse(text, &a, &msg), 0);
	CHECK(msg == NULL);
	CHECK_INT(a.kind, ELX_LISTEN_SYSTEMD);
	CHECK_INT(a.systemd_index, index);
	CHECK_INT(elx_listen_is_systemd(text), 1);
}

/* A mistake the parser sees, and elx_listen_open reports as it is. */
static void expect_parse_error(const char *text, const char *message)
{
	struct elx_listen_address a;
	const char *msg = NULL;

	CHECK_INT(elx_listen_parse(text, &a, &msg), -EINVAL);
	CHECK_STR(msg, message);
	msg = NULL;
	CHECK_INT(elx_listen_open(text, &msg), -EINVAL);
	CHECK_STR(msg, message);
}

#define NEEDS_INDEX "fd://N needs N, the index of a socket passed by systemd (0 for the first)"

static void test_parse(void)
{
	expect_bind(":9435", "", 0, 9435);
	expect_bind(":0", "", 0, 0);
	expect_bind("127.0.0.1:80", "127.0.0.1", 0, 80);
	expect_bind("localhost:065535", "localhost", 0, 65535);
	expect_bind("[::1]:8080", "::1", 1, 8080);
	expect_bind("[fe80::1%lo]:1", "fe80::1%lo", 1, 1);
	expect_systemd("fd://0", 0);
	expect_systemd("fd://12", 12);

	expect_parse_error("", "the listen address needs a port: host:port or :port");
	expect_parse_error("9435", "the listen address needs a port: host:port or :port");
	expect_parse_error("127.0.0.1:", "the listen port must be a number from 0 to 65535");
	expect_parse_error(":65536", "the listen port must be a number from 0 to 65535");
	expect_parse_error(":94x", "the listen port must be a number from 0 to 65535");
	expect_parse_error(":-1", "the listen port must be a number from 0 to 65535");
	expect_parse_error("::1:9435", "an IPv6 listen address needs brackets: [addr]:port");
	expect_parse_error("[::1]9435", "an IPv6 listen address needs the form [addr]:port");
	expect_parse_error("[::1", "an IPv6 listen address needs the form [addr]:port");
	expect_parse_error("[]:9435", "invalid host in the listen address");
	expect_parse_error("fd://", NEEDS_INDEX);
	expect_parse_error("fd://x", NEEDS_INDEX);
	expect_parse_error("fd://3x", NEEDS_INDEX);
	expect_parse_error("fd://-1", NEEDS_INDEX);
	expect_parse_error("fd://+1", NEEDS_INDEX);
	expect_parse_error("fd:// 1", NEEDS_INDEX);
	expect_parse_error("fd://99999999999999999999", NEEDS_INDEX);
}

/* ---------------------------------------------------------------- binding */

static void expect_open_error(const char *text, int err, const char *message)
{
	const char *msg = NULL;

	CHECK_INT(elx_listen_open(text, &msg), err);
	CHECK_STR(msg, message);
}

/* Connects to the loopback of `family` on `port`; -1 when refused. */
static int try_connect(int family, int port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr *sa =
	    family == AF_INET6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin;
	socklen_t len = family == AF_INET6 ? sizeof(sin6) : sizeof(sin);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = sin6.sin6_port = htons((uint16_t)port);
	if (connect(fd, sa, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The listener accepts what connected, and the peer came over `family`. */
static void expect_accept(int listener, int family)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd = accept(listener, (struct sockaddr *)&peer, &len);
	int is_v4_mapped;

	CHECK(fd >= 0);
	close(fd);
	is_v4_mapped = peer.ss_family == AF_INET6 &&
		       IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&peer)->sin6_addr);
	CHECK_INT(peer.ss_family == AF_INET || is_v4_mapped ? AF_INET : AF_INET6, family);
}

/* A socket from elx_listen_open: listening, with a port. */
static int open_ok(const char *text)
{
	const char *msg = "unset";
	int fd = elx_listen_open(text, &msg), accepting = 0;
	socklen_t len = sizeof(accepting);

	if (fd < 0) {
		fprintf(stderr, "listening on %s: %s (%s)\n", text, msg, strerror(-fd));
		exit(1);
	}
	CHECK(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) == 0);
	CHECK_INT(accepting, 1);
	CHECK(elx_listen_port(fd) > 0);
	return fd;
}

static void test_bind_loopback(void)
{
	int fd = open_ok("127.0.0.1:0"), port = elx_listen_port(fd), c;
	char *address;

	/* Not inherited by children; libuv never blocks on it. */
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
	c = try_connect(AF_INET, port);
	CHECK(c >= 0);
	expect_accept(fd, AF_INET);
	close(c);
	/* A port in use is reported, not hidden by SO_REUSEADDR. */
	CHECK(asprintf(&address, "127.0.0.1:%d", port) > 0);
	expect_open_error(address, -EADDRINUSE,
			  "cannot bind the listen address: Address already in use");
	free(address);
	close(fd);
	CHECK_INT(elx_listen_port(fd), -1);
	expect_open_error("[not-v6]:9435", -EINVAL, "invalid IPv6 address in the listen address");
}

/* ":port" listens on IPv6 and IPv4 at once. */
static void test_bind_any(void)
{
	int fd = open_ok(":0"), port = elx_listen_port(fd), c;

	c = try_connect(AF_INET, port);
	CHECK(c >= 0);
	expect_accept(fd, AF_INET);
	close(c);
	c = try_connect(AF_INET6, port);
	if (c < 0) {
		fprintf(stderr, "skip: no IPv6 loopback for the \":port\" test\n");
	} else {
		expect_accept(fd, AF_INET6);
		close(c);
	}
	close(fd);
}

static void test_bind_named_hosts(void)
{
	const char *msg = NULL;
	int fd = open_ok("localhost:0"), port = elx_listen_port(fd), c;

	/* "localhost" resolves to whichever loopback comes first. */
	c = try_connect(AF_INET, port);
	if (c < 0)
		c = try_connect(AF_INET6, port);
	CHECK(c >= 0);
	close(c);
	close(fd);

	fd = elx_listen_open("[::1]:0", &msg);
	if (fd < 0) {
		fprintf(stderr, "skip: [::1] (%s: %s)\n", msg, strerror(-fd));
		return;
	}
	c = try_connect(AF_INET6, elx_listen_port(fd));
	CHECK(c >= 0);
	expect_accept(fd, AF_INET6);
	close(c);
	close(fd);
}

/* ---------------------------------------------------------------- systemd */

#define FIRST_PASSED_FD 3

/* Hands `fd` over the way systemd does: as fd 3, with LISTEN_FDS=1 and
 * LISTEN_PID set to us. */
static void pass_socket(int fd)
{
	char pid[32];

	if (fd != FIRST_PASSED_FD) {
		CHECK(dup2(fd, FIRST_PASSED_FD) == FIRST_PASSED_FD);
		close(fd);
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	CHECK(setenv("LISTEN_PID", pid, 1) == 0);
	CHECK(setenv("LISTEN_FDS", "1", 1) == 0);
}

static int tcp_socket(int listening)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	CHECK(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	if (listening)
		CHECK(listen(fd, 16) == 0);
	return fd;
}

static void test_systemd(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, c, pipe_fds[2];

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	expect_open_error("fd://0", -ENOENT,
			  "no sockets were passed (no LISTEN_FDS for this process): use a .socket "
			  "unit");

	pass_socket(tcp_socket(1));
	fd = open_ok("fd://0");
	CHECK_INT(fd, FIRST_PASSED_FD);
	c = try_connect(AF_INET, elx_listen_port(fd));
	CHECK(c >= 0);
	expect_accept(fd, AF_INET);
	close(c);
	expect_open_error("fd://1", -ENOENT,
			  "fd://N is beyond the sockets systemd passed (LISTEN_FDS)");

	CHECK(setenv("LISTEN_FDS", "x", 1) == 0);
	expect_open_error("fd://0", -EINVAL,
			  "LISTEN_FDS and LISTEN_PID from systemd are malformed");

	pass_socket(tcp_socket(0));
	expect_open_error("fd://0", -ENOTSOCK,
			  "the passed file descriptor is not a listening stream socket");
	CHECK(pipe(pipe_fds) == 0);
	close(pipe_fds[1]);
	pass_socket(pipe_fds[0]);
	expect_open_error("fd://0", -ENOTSOCK,
			  "the passed file descriptor is not a listening stream socket");

	/* An abstract unix socket: listening and a stream, but not TCP. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "elx-test-listen-%d", (int)getpid());
	CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
	CHECK(listen(fd, 1) == 0);
	pass_socket(fd);
	expect_open_error("fd://0", -EAFNOSUPPORT,
			  "the socket systemd passed is not a TCP socket (IPv4 or IPv6)");
	close(FIRST_PASSED_FD);
}

int main(void)
{
	test_parse();
	test_bind_loopback();
	test_bind_any();
	test_bind_named_hosts();
	test_systemd();
	printf("test_listen: all passed\n");
	return 0;
}
