/* Reading /proc/PID for targets. The path strings /proc shows for another
 * mount namespace are that namespace's (the kernel prints them from its
 * root), which is what `binary:` and SEC() names are written against. */
#define _GNU_SOURCE
#include "proc_pid.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define DELETED " (deleted)"

/* A path as /proc prints it, without the mark of a file replaced or removed. */
static void strip_deleted(char *path)
{
	size_t len = strlen(path), mark = strlen(DELETED);

	if (len > mark && strcmp(path + len - mark, DELETED) == 0)
		path[len - mark] = '\0';
}

static int is_executable(uint32_t pid, const char *path)
{
	char link[64], target[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	strip_deleted(target);
	return strcmp(target, path) == 0;
}

/* "/proc/PID/map_files/START-END" of a mapping of `path`, or "" when the
 * process has none. */
static void mapped_file(uint32_t pid, const char *path, char *out, size_t len)
{
	char maps[64], *line = NULL;
	size_t cap = 0;
	FILE *f;

	out[0] = '\0';
	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return;
	while (!out[0] && getline(&line, &cap, f) > 0) {
		char range[64], *name;
		int pos = 0;

		/* START-END PERMS OFFSET DEV INODE   PATH */
		if (sscanf(line, "%63s %*s %*s %*s %*s %n", range, &pos) < 1 || !pos)
			continue;
		name = line + pos;
		name[strcspn(name, "\n")] = '\0';
		strip_deleted(name);
		if (strcmp(name, path) == 0)
			snprintf(out, len, "/proc/%u/map_files/%s", pid, range);
	}
	free(line);
	fclose(f);
}

int elx_proc_open_binary(uint32_t pid, const char *path, char **err)
{
	char where[4200];
	int fd;

	if (strcmp(path, ELX_PROC_SELF_EXE) == 0 || is_executable(pid, path)) {
		snprintf(where, sizeof(where), "/proc/%u/exe", pid);
	} else {
		mapped_file(pid, path, where, sizeof(where));
		if (!where[0])
			snprintf(where, sizeof(where), "/proc/%u/root%s", pid, path);
	}
	fd = open(where, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return elx_errorf(err, -errno, "%s: %s", where, strerror(errno));
	return fd;
}

int elx_proc_start_time(uint32_t pid, uint64_t *ticks)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command, field 2, may hold spaces and parentheses: fields are
	 * counted from the last ')'. Field 3 follows it; 22 is 19 further. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (int field = 2; field < 21 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EIO;
	*ticks = strtoull(p + 1, NULL, 10);
	return 0;
}

void elx_proc_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(buf, len, "?");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}
