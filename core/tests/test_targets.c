/* Tests of what targets build on: function offsets in ELF files, remembered
 * per file identity (core/elf_func.c), and the file a process runs for a
 * path (core/proc_pid.c), with binaries of the integration specs: the
 * targets' process and the same built with its function elsewhere. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "elf_func.h"
#include "proc_pid.h"

#define TARGET ELX_SPEC_DIR "/elx-targets-target"
#define MOVED  ELX_SPEC_DIR "/elx-targets-target-moved"

__attribute__((noinline, used)) int elx_test_probed(int x)
{
	__asm__ volatile("" : : "r"(x) : "memory");
	return x + 1;
}

static uint64_t offset_of(const char *path, const char *func)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t off = 0;
	char *err = NULL;

	CHECK(fd >= 0);
	if (elx_elf_func_offset(fd, func, &off, &err) != 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		exit(1);
	}
	close(fd);
	return off;
}

/* The file offset of a function of this very process, from where it is
 * mapped: what a uprobe must be placed at. */
static uint64_t mapped_offset(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long start, end, off;
	char line[512];

	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &off) == 3 &&
		    (uintptr_t)addr >= start && (uintptr_t)addr < end) {
			fclose(f);
			return (uintptr_t)addr - start + off;
		}
	}
	fclose(f);
	CHECK(!"the function is in no mapping");
	return 0;
}

static void test_offsets(void)
{
	char *err = NULL;
	uint64_t off;
	int fd;

	CHECK_INT(offset_of("/proc/self/exe", "elx_test_probed"), mapped_offset(elx_test_probed));
	CHECK(offset_of(TARGET, "elx_targets_hit") != offset_of(MOVED, "elx_targets_hit"));
	fd = open(TARGET, O_RDONLY | O_CLOEXEC);
	CHECK_INT(elx_elf_func_offset(fd, "no_such_function", &off, &err), -ENOENT);
	CHECK_STR(err, "no function no_such_function in its symbols");
	free(err);
	err = NULL;
	close(fd);
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	CHECK_INT(elx_elf_func_offset(fd, "main", &off, &err), -ENOEXEC);
	CHECK_STR(err, "not an ELF file");
	free(err);
	close(fd);
}

static void copy(const char *from, const char *to)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cp %s %s", from, to);
	CHECK_INT(system(cmd), 0);
}

/* A file replaced by rename, or rewritten in place, is another file: its
 * offset is read again, never taken from memory. */
static void test_remembered_by_file(const char *dir)
{
	char app[512], next[512];
	uint64_t hits, a, b;

	elx_elf_func_forget();
	snprintf(app, sizeof(app), "%s/app", dir);
	snprintf(next, sizeof(next), "%s/app.new", dir);
	copy(TARGET, app);
	a = offset_of(app, "elx_targets_hit");
	hits = elx_elf_func_cache_hits();
	CHECK_INT(offset_of(app, "elx_targets_hit"), a);
	CHECK_INT(elx_elf_func_cache_hits(), hits + 1);
	copy(MOVED, next);
	CHECK_INT(rename(next, app), 0);
	b = offset_of(app, "elx_targets_hit");
	CHECK(b != a);
	CHECK_INT(b, offset_of(MOVED, "elx_targets_hit"));
	copy(TARGET, app); /* the same inode, rewritten */
	CHECK_INT(offset_of(app, "elx_targets_hit"), a);
	CHECK_INT(elx_elf_func_cache_hits(), hits + 1);
	elx_elf_func_forget();
}

static void same_file(int fd, const char *path)
{
	struct stat a, b;

	CHECK(fd >= 0);
	CHECK_INT(fstat(fd, &a), 0);
	CHECK_INT(stat(path, &b), 0);
	CHECK_INT(a.st_dev, b.st_dev);
	CHECK_INT(a.st_ino, b.st_ino);
	close(fd);
}

/* A path of a library this process has mapped. */
static void mapped_library(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], *path;

	CHECK(f != NULL);
	out[0] = '\0';
	while (!out[0] && fgets(line, sizeof(line), f)) {
		path = strchr(line, '/');
		if (path && strstr(path, "libc.so")) {
			path[strcspn(path, "\n")] = '\0';
			snprintf(out, len, "%s", path);
		}
	}
	fclose(f);
	CHECK(out[0] != '\0');
}

static void test_open_binary(const char *dir)
{
	char lib[512], app[512], next[512], *err = NULL;
	struct stat old;
	int fd, status;
	pid_t child;

	same_file(elx_proc_open_binary((uint32_t)getpid(), ELX_PROC_SELF_EXE, &err),
		  "/proc/self/exe");
	mapped_library(lib, sizeof(lib));
	same_file(elx_proc_open_binary((uint32_t)getpid(), lib, &err), lib);
	same_file(elx_proc_open_binary((uint32_t)getpid(), "/bin/sh", &err), "/bin/sh");
	CHECK_INT(elx_proc_open_binary((uint32_t)getpid(), "/nope/x", &err), -ENOENT);
	free(err);
	err = NULL;
	/* A process whose binary is replaced on disk keeps the old one. */
	snprintf(app, sizeof(app), "%s/run", dir);
	snprintf(next, sizeof(next), "%s/run.new", dir);
	copy(TARGET, app);
	CHECK_INT(stat(app, &old), 0);
	child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(app, app, "test", "1", (char *)NULL);
		_exit(127);
	}
	usleep(200000);
	copy(MOVED, next);
	CHECK_INT(rename(next, app), 0);
	fd = elx_proc_open_binary((uint32_t)child, app, &err);
	CHECK(fd >= 0);
	{
		struct stat st;

		CHECK_INT(fstat(fd, &st), 0);
		CHECK_INT(st.st_ino, old.st_ino);
		close(fd);
	}
	kill(child, SIGTERM);
	waitpid(child, &status, 0);
}

static void test_start_time(void)
{
	uint64_t t = 0;

	CHECK_INT(elx_proc_start_time((uint32_t)getpid(), &t), 0);
	CHECK(t > 0);
	CHECK_INT(elx_proc_start_time(0x7ffffff0, &t), -ENOENT);
}

int main(void)
{
	char dir[] = "/tmp/elx-test-targets.XXXXXX";
	char cmd[128];

	CHECK(mkdtemp(dir) != NULL);
	test_offsets();
	test_remembered_by_file(dir);
	test_open_binary(dir);
	test_start_time();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
	printf("test_targets: ok\n");
	return 0;
}
