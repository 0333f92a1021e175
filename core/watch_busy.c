/* --config.watch never reads half of a file: before it reloads, it looks for
 * a process that still has a config file (YAML, .bpf.o, decoder) of a
 * watched directory open for writing, as cp, an editor saving in place or a
 * shell redirection do while they write, and waits for it to close it. */
#define _GNU_SOURCE
#include "watch_busy.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The watched directories, resolved as /proc/<pid>/fd links show paths. */
struct watched {
	char *dirs[ELX_WATCH_BUSY_MAX_DIRS];
	size_t n;
};

static void add_dir(struct watched *w, const char *dir)
{
	char *real = realpath(dir, NULL);

	if (real && w->n < ELX_WATCH_BUSY_MAX_DIRS)
		w->dirs[w->n++] = real;
	else
		free(real);
}

/* A file a config is made of, directly in a watched directory. */
static int is_watched(const struct watched *w, const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	size_t len = strlen(name), dirlen = slash ? (size_t)(slash - path) : 0;

	if (!((len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	      (len > 6 && strcmp(name + len - 6, ".bpf.o") == 0) ||
	      (len > 4 && strcmp(name + len - 4, ".lua") == 0)))
		return 0;
	for (size_t i = 0; i < w->n; i++) {
		if (strlen(w->dirs[i]) == dirlen && strncmp(w->dirs[i], path, dirlen) == 0)
			return 1;
	}
	return 0;
}

/* Whether fd `fd` of `pid` is open for writing: fdinfo's "flags:" (octal). */
static int open_for_writing(const char *pid, const char *fd)
{
	char path[320], line[128];
	FILE *f;
	int writing = 0;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags:", 6) == 0) {
			writing = (strtoul(line + 6, NULL, 8) & O_ACCMODE) != O_RDONLY;
			break;
		}
	}
	fclose(f);
	return writing;
}

/* Looks through one process's fds; 1 with `busy` set when one is a watched
 * file open for writing. */
static int process_writes(const struct watched *w, const char *pid, char *busy, size_t len)
{
	char dir[300], link[600], target[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		ssize_t n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (is_watched(w, target) && open_for_writing(pid, de->d_name)) {
			snprintf(busy, len, "%s (pid %s)", target, pid);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

int elx_watch_busy(const char *const *dirs, size_t ndirs, char *busy, size_t len)
{
	struct watched w = { .n = 0 };
	char self[16];
	struct dirent *de;
	DIR *proc = opendir("/proc");
	int found = 0;

	if (!proc)
		return 0;
	for (size_t i = 0; i < ndirs; i++)
		add_dir(&w, dirs[i]);
	snprintf(self, sizeof(self), "%d", (int)getpid());
	while (w.n && !found && (de = readdir(proc))) {
		if (isdigit((unsigned char)de->d_name[0]) && strcmp(de->d_name, self) != 0)
			found = process_writes(&w, de->d_name, busy, len);
	}
	closedir(proc);
	for (size_t i = 0; i < w.n; i++)
		free(w.dirs[i]);
	return found;
}
