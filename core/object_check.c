/* Checking a .bpf.o in a child process. libbpf 1.1 segfaults inside
 * bpf_object__open_file on some byte-flipped objects, and inside
 * bpf_object__load on others (CO-RE relocation over a BTF it has not
 * validated); no amount of checking on our side covers every such path.
 * So a forked child opens and loads the bytes first, exactly as the
 * exporter will, and reports over a pipe; only when it got through does the
 * exporter hand the same bytes to its own libbpf. The kernel frees what the
 * child loaded when it exits. */
#define _GNU_SOURCE
#include "object_check.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach_explain.h"
#include "libbpf_log.h"
#include "log.h"

/* What the child says, one line each: "opened", then "done"; or
 * "open-failed <errno> <libbpf's reason>". */
#define REPORT_MAX 640
/* Images that got through, by hash: an unchanged object is never checked
 * twice (a reload that only needs it opened again for other kaddrs). */
#define CHECKED_MAX 64

static uint64_t checked[CHECKED_MAX];
static size_t nchecked;

unsigned elx_object_check_timeout_ms = 30000;
void (*elx_object_check_hook)(const char *phase);

void elx_object_leave_out_unsupported(struct bpf_object *obj, char **why)
{
	struct bpf_program *prog;
	size_t i = 0;

	bpf_object__for_each_program(prog, obj)
	{
		const char *reason = elx_attach_unsupported(bpf_program__section_name(prog));

		if (reason && bpf_program__autoload(prog)) {
			bpf_program__set_autoload(prog, false);
			if (why)
				why[i] = strdup(reason);
		}
		i++;
	}
}

static void say(int fd, const char *text)
{
	size_t len = strlen(text);

	while (len) {
		ssize_t n = write(fd, text, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		text += n;
		len -= (size_t)n;
	}
}

/* The child: libbpf's crashes must kill it with their signal (ASan's
 * handlers would turn them into exit codes), and dump no core; a signal
 * meant for the exporter's process group ends it rather than reach the
 * exporter's loop through libuv's handlers, which the child inherited. */
static void __attribute__((noreturn)) child_main(int fd, const sigset_t *mask, const void *image,
						 size_t len, const char *path, const char *btf_path)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = path, .btf_custom_path = btf_path);
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
				     SIGTRAP, SIGHUP, SIGINT, SIGTERM };
	struct rlimit no_core = { 0, 0 };
	char line[REPORT_MAX];
	struct bpf_object *obj;

	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	setrlimit(RLIMIT_CORE, &no_core);
	alarm(elx_object_check_timeout_ms / 1000 + 1);
	elx_libbpf_log_silence();
	elx_libbpf_reason_clear();
	if (elx_object_check_hook)
		elx_object_check_hook("opening");
	obj = bpf_object__open_mem(image, len, &opts);
	if (!obj) {
		int ret = -errno;

		snprintf(line, sizeof(line), "open-failed %d %s\n", ret, elx_libbpf_why(ret));
		say(fd, line);
		_exit(0);
	}
	say(fd, "opened\n");
	if (elx_object_check_hook)
		elx_object_check_hook("loading");
	elx_object_leave_out_unsupported(obj, NULL);
	bpf_object__load(obj);
	say(fd, "done\n");
	/* No cleanup: the kernel frees the child's maps and programs. */
	_exit(0);
}

static int64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads the child's report until it closes the pipe; 0, or -ETIMEDOUT. */
static int read_report(int fd, char *buf, size_t cap)
{
	struct timespec t0;
	size_t len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)elx_object_check_timeout_ms - ms_since(&t0);
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		if (!p.revents)
			continue;
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) == cap - 1) {
			buf[len] = '\0';
			return 0;
		}
	}
}

/* What the report and the child's end say. */
static int judge(const char *report, int status, int timed_out, const char *path, char **err)
{
	const char *phase = strstr(report, "opened\n") ? "loading" : "opening";
	int ret;

	if (strncmp(report, "open-failed ", 12) == 0) {
		char *reason = NULL;

		ret = (int)strtol(report + 12, &reason, 10);
		reason += strspn(reason, " ");
		reason[strcspn(reason, "\n")] = '\0';
		return elx_errorf(err, ret < 0 ? ret : -EINVAL, "%s: libbpf cannot open it: %s",
				  path, reason);
	}
	if (timed_out)
		return elx_errorf(err, -ETIMEDOUT,
				  "libbpf did not finish %s %s in %.1f s: the file is corrupt",
				  phase, path, elx_object_check_timeout_ms / 1000.0);
	if (WIFSIGNALED(status))
		return elx_errorf(err, -EINVAL,
				  "libbpf crashed %s %s (signal %d): the file is corrupt", phase,
				  path, WTERMSIG(status));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(report, "done\n"))
		return elx_errorf(err, -EINVAL, "libbpf failed %s %s: the file is corrupt", phase,
				  path);
	return 0;
}

static int is_checked(uint64_t hash)
{
	for (size_t i = 0; i < nchecked && i < CHECKED_MAX; i++) {
		if (checked[i] == hash)
			return 1;
	}
	return 0;
}

int elx_object_check(const void *image, size_t len, uint64_t hash, const char *path,
		     const char *btf_path, char **err)
{
	char report[REPORT_MAX] = "";
	int fds[2], status = 0, ret, timed_out;
	sigset_t all, mask;
	pid_t pid;

	if (is_checked(hash))
		return 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return elx_errorf(err, -errno, "%s: cannot check it: %s", path, strerror(errno));
	/* Signals wait until the child has its own handlers. */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &mask);
	pid = fork();
	ret = -errno;
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &mask, NULL);
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return elx_errorf(err, ret, "%s: cannot check it: %s", path, strerror(-ret));
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(fds[1], &mask, image, len, path, btf_path);
	}
	close(fds[1]);
	timed_out = read_report(fds[0], report, sizeof(report)) == -ETIMEDOUT;
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ret = judge(report, status, timed_out, path, err);

	if (ret == 0)
		checked[nchecked++ % CHECKED_MAX] = hash;
	return ret;
}
